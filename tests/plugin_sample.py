"""A small user project run through the pytest plugin, and what it must report.

Shared by ``tests/test_pytest_plugin.py`` (eager TF 2.x) and
``tests_tf1/test_pytest_plugin.py`` (TF1 graph mode). The expected outcomes are
derived here from ``tf.__version__``, the environment and the Keras packages,
independently of ``compat_metrics.runtime``.
"""

import os
import platform
import re

import compat_metrics

SAMPLE_TESTS = '''
import numpy as np
import pytest
import tensorflow as tf

SEEN = {}


@pytest.mark.tf1_only
def test_tf1_only():
    assert tf.__version__.startswith("1.")


@pytest.mark.tf2_only
def test_tf2_only():
    assert tf.__version__.startswith("2.")


@pytest.mark.keras2_only
def test_keras2_only():
    assert hasattr(tf.keras.layers.Layer, "add_metric")  # removed in Keras 3


@pytest.mark.keras3_only
def test_keras3_only():
    import keras
    assert keras.__version__.startswith("3.")


@pytest.mark.requires_tf(">=2.13")
def test_requires_tf_213():
    assert tuple(int(p) for p in tf.__version__.split(".")[:2]) >= (2, 13)


@pytest.mark.requires_keras(">=3")
def test_requires_keras_3():
    import keras
    assert keras.__version__.startswith("3.")


@pytest.mark.graph_mode_only
def test_graph_mode_only():
    assert not tf.executing_eagerly()


@pytest.mark.eager_only
def test_eager_only():
    assert tf.executing_eagerly()


def test_evaluate_structure(evaluate):
    x = tf.constant([1.0, 2.0, 3.0])
    out = evaluate({"double": x * 2.0, "pair": (tf.reduce_sum(x), x + 1.0)})
    assert isinstance(out["double"], np.ndarray)
    np.testing.assert_allclose(out["double"], [2.0, 4.0, 6.0])
    np.testing.assert_allclose(out["pair"][0], 6.0)
    np.testing.assert_allclose(out["pair"][1], [2.0, 3.0, 4.0])


def test_tf_mode(tf_mode):
    eagerly = []

    def square(x):
        eagerly.append(tf.executing_eagerly())
        return tf.square(x)

    out = tf_mode.run(square, tf.constant([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, [1.0, 4.0, 9.0])
    assert eagerly[0] == (tf_mode.name == "eager"), (tf_mode.name, eagerly)


def test_session(tf_session):
    v = tf.compat.v1.get_variable("v", initializer=3.0)
    tf_session.run(v.initializer)
    assert tf_session.graph is tf.compat.v1.get_default_graph()
    assert tf_session.run(v * 2.0) == 6.0


def _fresh_state_and_draws(evaluate):
    # A fresh graph (graph mode) and Keras session: the same names again.
    assert tf.keras.layers.Dense(2).name == "dense"
    if not tf.executing_eagerly():
        tf.compat.v1.get_variable("w", shape=())  # fails if the graph of the previous test is still there
    return np.random.rand(3), evaluate(tf.random.uniform([3]))


def test_fresh_state_and_seed_first(evaluate):
    SEEN["first"] = _fresh_state_and_draws(evaluate)


def test_fresh_state_and_seed_second(evaluate):
    second = _fresh_state_and_draws(evaluate)
    np.testing.assert_array_equal(second[0], SEEN["first"][0])
    np.testing.assert_array_equal(second[1], SEEN["first"][1])
'''

GRAPH_CONFTEST = '''
import tensorflow as tf

if not tf.__version__.startswith("1."):
    tf.compat.v1.disable_v2_behavior()
'''

BAD_MARKERS = '''
import pytest


@pytest.mark.requires_tf("2.13")
def test_no_operator():
    pass


@pytest.mark.requires_keras
def test_no_specifier():
    pass
'''


def stack_facts():
    """TF version, Keras flavour and version, read from the packages themselves."""
    import tensorflow as tf
    tf_version = re.match(r"\d+\.\d+\.\d+", tf.__version__).group(0)
    major_minor = tuple(int(p) for p in tf_version.split(".")[:2])
    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes")
    if major_minor >= (2, 16) and not legacy:
        import keras
        flavour, keras_version = "keras3", keras.__version__
    elif major_minor >= (2, 16):
        import tf_keras
        flavour, keras_version = "tf_keras", tf_keras.__version__
    elif hasattr(tf.keras, "__version__"):  # TF < 2.6: Keras inside TF
        flavour, keras_version = "keras2", tf.keras.__version__
    else:
        import keras  # the Keras 2 package TF 2.6-2.15 depend on
        flavour, keras_version = "keras2", keras.__version__
    return {"tf": tf_version, "tf_major_minor": major_minor, "flavour": flavour,
            "keras_major": int(keras_version.split(".")[0])}


def expected_outcomes(graph):
    """``{test name: (outcome, substring of the skip reason)}`` for SAMPLE_TESTS in this stack."""
    facts = stack_facts()
    tf1 = facts["tf_major_minor"][0] == 1
    keras3 = facts["flavour"] == "keras3"

    def when(condition, reason):
        return ("PASSED", None) if condition else ("SKIPPED", reason)

    expected = {
        "test_tf1_only": when(tf1, "needs TensorFlow 1.x"),
        "test_tf2_only": when(not tf1, "needs TensorFlow 2.x"),
        "test_keras2_only": when(not keras3, "needs Keras 2"),
        "test_keras3_only": when(keras3, "needs Keras 3"),
        "test_requires_tf_213": when(facts["tf_major_minor"] >= (2, 13), "needs TensorFlow >=2.13, installed "),
        "test_requires_keras_3": when(facts["keras_major"] >= 3, "needs Keras >=3, installed "),
        "test_graph_mode_only": when(graph, "needs TF1 graph mode"),
        "test_eager_only": when(not graph, "needs eager execution"),
        "test_evaluate_structure": ("PASSED", None),
        "test_session": when(graph, "tf_session needs TF1 graph mode"),
        "test_fresh_state_and_seed_first": ("PASSED", None),
        "test_fresh_state_and_seed_second": ("PASSED", None),
    }
    for mode in (["graph"] if graph else ["eager", "function"]):
        expected[f"test_tf_mode[{mode}]"] = ("PASSED", None)
    return expected


def header_pattern(graph):
    """Regex the plugin's header line must match."""
    facts = stack_facts()
    return r"compat_metrics: Python {}, TensorFlow {}, Keras flavour {} {}\S*, {} mode".format(
        re.escape(platform.python_version()), re.escape(facts["tf"]), facts["flavour"], facts["keras_major"],
        "graph" if graph else "eager")


def _entry_points():
    try:
        from importlib.metadata import distributions
    except ImportError:  # Python 3.7
        from importlib_metadata import distributions
    return [(ep.name, ep.value) for dist in distributions() for ep in dist.entry_points if ep.group == "pytest11"]


def plugin_entry_point():
    """The name of the pytest11 entry point that loads the plugin, or None if compat_metrics is not installed."""
    return next((name for name, value in _entry_points() if value == "compat_metrics.pytest_plugin"), None)


def prepare(pytester, monkeypatch, graph):
    """Write the sample project; return the arguments that load the plugin.

    With compat_metrics installed (tox), the plugin comes in through its entry
    point alone; from a checkout without metadata, through ``-p``.
    """
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(compat_metrics.__file__)))
    monkeypatch.setenv("COLUMNS", "400")  # skip reasons in full on the -v lines
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([package_root] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.isabs(p)]))
    pytester.makepyfile(test_sample=SAMPLE_TESTS)
    if graph:
        pytester.makeconftest(GRAPH_CONFTEST)
    return [] if plugin_entry_point() else ["-p", "compat_metrics.pytest_plugin"]


def check_run(result, graph):
    """Assert the header and every test's outcome and skip reason."""
    text = result.stdout.str()
    assert re.search(header_pattern(graph), text), (header_pattern(graph), text[:3000])
    expected = expected_outcomes(graph)
    lines = dict(re.findall(r"test_sample\.py::(\S+) ((?:PASSED|SKIPPED|FAILED|ERROR).*)", text))
    got = {name: line.split()[0] for name, line in lines.items()}
    assert got == {name: outcome for name, (outcome, _) in expected.items()}, text[-6000:]
    for name, (_outcome, reason) in expected.items():
        if reason:
            assert reason in lines[name], (name, reason, lines[name])
    skipped = sum(1 for outcome, _ in expected.values() if outcome == "SKIPPED")
    result.assert_outcomes(passed=len(expected) - skipped, skipped=skipped)
