"""pytest plugin: test your own TF code on every TF version you run.

Registered through the ``pytest11`` entry point: installing compat_metrics
is enough. It provides

- a header line: Python, TensorFlow, Keras flavour and version, graph/eager;
- markers turned into skips with a reason: ``tf1_only``, ``tf2_only``,
  ``keras2_only`` (Keras 2 in ``tf.keras`` or ``tf_keras``), ``keras3_only``,
  ``graph_mode_only``, ``eager_only``, ``requires_tf(">=2.13")`` and
  ``requires_keras(">=3")`` (``packaging`` specifiers);
- fixtures: ``tf_mode`` (runs a test in each execution mode the installed TF
  supports: ``"graph"`` in graph mode; ``"eager"`` and ``"function"`` in TF 2),
  ``evaluate`` (NumPy values of tensors in any mode), ``tf_session`` (the
  Keras session in graph mode); and, autouse, a fresh graph and Keras
  session per test and seeded NumPy/TF randomness.
"""

import numpy as np
import pytest
from packaging.specifiers import InvalidSpecifier, SpecifierSet

MARKERS = {
    "tf1_only": "run only on TensorFlow 1.x",
    "tf2_only": "run only on TensorFlow 2.x",
    "keras2_only": "run only with Keras 2 (tf.keras up to TF 2.15, or tf_keras)",
    "keras3_only": "run only with Keras 3",
    "graph_mode_only": "run only in TF1 graph mode (TF 1.x, or eager execution disabled)",
    "eager_only": "run only with eager execution",
    "requires_tf(spec)": "run only if the TensorFlow version matches the specifier, e.g. '>=2.13'",
    "requires_keras(spec)": "run only if the Keras version matches the specifier, e.g. '>=3'",
}

SEED = 1234


def _runtime():
    from compat_metrics import runtime
    return runtime


def pytest_configure(config):
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")


def pytest_report_header(config):
    try:
        info = _runtime().describe()
    except ImportError as error:  # an env with the plugin installed but no usable TensorFlow
        return f"compat_metrics: TensorFlow/Keras cannot be imported ({error}); version markers cannot be used"
    return ("compat_metrics: Python {python}, TensorFlow {tensorflow}, Keras flavour {keras_flavour} "
            "{keras_version}, {mode} mode".format(**info))


def _marker_problems(item):
    """Why the ``requires_*`` markers of a test are unusable (empty list if they are fine)."""
    problems = []
    for name in ("requires_tf", "requires_keras"):
        for marker in item.iter_markers(name):
            if len(marker.args) != 1 or not isinstance(marker.args[0], str):
                problems.append(f"{item.nodeid}: @pytest.mark.{name} takes one version specifier string, e.g. "
                                f"@pytest.mark.{name}('>=2.13'); got args={marker.args!r}")
                continue
            try:
                SpecifierSet(marker.args[0])
            except InvalidSpecifier:
                problems.append(f"{item.nodeid}: @pytest.mark.{name}({marker.args[0]!r}): not a version specifier; write an operator and "
                                "a version, e.g. '>=2.13' or '<3'")
    return problems


def pytest_collection_modifyitems(config, items):
    problems = [problem for item in items for problem in _marker_problems(item)]
    if problems:
        raise pytest.UsageError("compat_metrics markers:\n  " + "\n  ".join(problems))


_MARKER_NAMES = [text.split("(")[0] for text in MARKERS]


def _skip_reason(item):
    if not any(item.get_closest_marker(name) is not None for name in _MARKER_NAMES):
        return None  # unmarked tests do not need TensorFlow here
    rt = _runtime()
    graph = rt.in_graph_mode()
    keras2 = rt.KERAS_FLAVOUR in ("keras2", "tf_keras")
    simple = {
        "tf1_only": (rt.IS_TF1, "needs TensorFlow 1.x"),
        "tf2_only": (not rt.IS_TF1, "needs TensorFlow 2.x"),
        "keras2_only": (keras2, "needs Keras 2 (tf.keras <= 2.15 or tf_keras)"),
        "keras3_only": (rt.KERAS_FLAVOUR == "keras3", "needs Keras 3"),
        "graph_mode_only": (graph, "needs TF1 graph mode"),
        "eager_only": (not graph, "needs eager execution"),
    }
    for name, (ok, reason) in simple.items():
        if item.get_closest_marker(name) is not None and not ok:
            return "{} (installed: TensorFlow {}, {} {}, {} mode)".format(
                reason, rt.TF_VERSION, rt.KERAS_FLAVOUR, rt.KERAS_VERSION, "graph" if graph else "eager")
    for name, version, what in (("requires_tf", rt.TF_VERSION, "TensorFlow"),
                                ("requires_keras", rt.KERAS_VERSION, "Keras")):
        for marker in item.iter_markers(name):
            spec = SpecifierSet(marker.args[0])
            if version not in spec:
                return f"needs {what} {spec}, installed {version}"
    return None


def pytest_runtest_setup(item):
    reason = _skip_reason(item)
    if reason:
        pytest.skip(reason)


def _modes():
    rt = _runtime()
    return ["graph"] if rt.in_graph_mode() else ["eager", "function"]


def pytest_generate_tests(metafunc):
    if "tf_mode" in metafunc.fixturenames:
        metafunc.parametrize("tf_mode", _modes(), indirect=True)


class TFMode:
    """The execution mode a test runs in; ``run(fn, *args)`` runs ``fn`` in it."""

    def __init__(self, name, evaluate):
        self.name = name
        self._evaluate = evaluate

    def run(self, fn, *args, **kwargs):
        """Call ``fn`` in this mode and return NumPy values of its result."""
        import tensorflow as tf
        if self.name == "function":
            return self._evaluate(tf.function(fn)(*args, **kwargs))
        return self._evaluate(fn(*args, **kwargs))

    def __repr__(self):
        return f"TFMode({self.name!r})"


@pytest.fixture
def tf_mode(request, evaluate):
    """Each execution mode of the installed TF: ``"graph"``, or ``"eager"`` and ``"function"``."""
    return TFMode(request.param, evaluate)


@pytest.fixture
def tf_session():
    """The session Keras uses (graph mode only)."""
    rt = _runtime()
    if not rt.in_graph_mode():
        pytest.skip("tf_session needs TF1 graph mode")
    import tensorflow as tf
    return tf.compat.v1.keras.backend.get_session()


@pytest.fixture
def evaluate():
    """Return NumPy values of a tensor or nested structure, in any mode.

    Graph mode: runs the Keras session (initialising what Keras tracks);
    eager: ``.numpy()``.
    """
    import tensorflow as tf

    def _evaluate(structure):
        if _runtime().in_graph_mode():
            return tf.compat.v1.keras.backend.get_session().run(structure)
        return tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else np.asarray(t), structure)

    return _evaluate


@pytest.fixture(autouse=True)
def _compat_metrics_fresh_state():
    """Fresh graph and Keras session (graph mode), seeded randomness, per test.

    Where TensorFlow cannot be imported (the header says why) only NumPy is seeded.
    """
    np.random.seed(SEED)
    try:
        import tensorflow as tf
        rt = _runtime()
    except ImportError:
        yield
        return
    if rt.in_graph_mode():
        tf.compat.v1.reset_default_graph()
    if rt.KERAS_FLAVOUR != "keras3" or not rt.in_graph_mode():
        rt.keras.backend.clear_session()
    if rt.in_graph_mode():
        tf.compat.v1.set_random_seed(SEED)
    else:
        tf.random.set_seed(SEED)
    yield
