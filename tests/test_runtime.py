"""The one version-dispatch point."""

import os
import pathlib
import re
import subprocess
import sys

import tensorflow as tf

import compat_metrics
from compat_metrics import runtime
from compat_metrics._backend import impl

PACKAGE = pathlib.Path(compat_metrics.__file__).parent


def test_versions_are_parsed_once_and_consistent():
    assert isinstance(runtime.TF_VERSION, runtime.Version)
    assert tf.__version__.startswith(str(runtime.TF_VERSION)) or str(runtime.TF_VERSION) in tf.__version__
    assert runtime.IS_TF1 == (runtime.TF_VERSION.major == 1)


def test_keras_flavour_matches_the_installed_stack():
    legacy = os.environ.get("TF_USE_LEGACY_KERAS") == "1"
    layer_module = compat_metrics.keras.layers.Layer.__module__
    if runtime.KERAS_FLAVOUR == "keras3":
        assert not legacy and runtime.KERAS_VERSION.major == 3 and layer_module.startswith("keras.")
        assert impl.__name__.endswith("keras3")
    elif runtime.KERAS_FLAVOUR == "tf_keras":
        assert legacy and layer_module.startswith("tf_keras")
        assert compat_metrics.keras.layers.Layer is tf.keras.layers.Layer
        assert impl.__name__.endswith("keras2")
    else:
        assert runtime.TF_VERSION < runtime.Version("2.16")
        assert compat_metrics.keras.layers.Layer is tf.keras.layers.Layer
        assert impl.__name__.endswith("tf1" if runtime.IS_TF1 else "keras2")


def test_no_version_checks_outside_the_dispatch_point():
    """Versions are read in runtime.py and turned into capabilities in _capabilities.py; the
    backend and the public modules ask for a capability (the pytest plugin's version markers
    and the known-good install table excepted)."""
    allowed = {PACKAGE / name for name in ("runtime.py", "_capabilities.py", "pytest_plugin.py", "_matrix.py")}
    pattern = re.compile(r"\w\.__version__|KERAS_FLAVOUR|TF_VERSION|KERAS_VERSION|IS_TF1"
                         r"|hasattr\(\w+, [\"'](train_step|test_step|compute_loss|compute_metrics|reset_states?"
                         r"|F1Score|add_metric|get_registered_name)[\"']\)")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, offenders


def test_capabilities_agree_with_the_installed_keras():
    """Each flag is what this Keras does, whichever release it is."""
    from compat_metrics import _capabilities as caps
    keras = compat_metrics.keras
    assert set(caps.as_dict()) == set(caps.NAMES) and all(isinstance(v, bool) for v in caps.as_dict().values())
    assert caps.KERAS3 == (runtime.KERAS_FLAVOUR == "keras3")
    assert caps.HONOURS_RUN_TF_FUNCTION == (not caps.KERAS3 and runtime.TF_VERSION < runtime.Version("2.2"))
    assert caps.HAS_TRAIN_STEP == (caps.KERAS3 or runtime.TF_VERSION >= runtime.Version("2.2"))
    assert caps.HAS_COMPUTE_LOSS == (caps.KERAS3 or runtime.KERAS_FLAVOUR == "tf_keras"
                                     or runtime.TF_VERSION >= runtime.Version("2.8"))
    assert caps.RESET_IS_RESET_STATE == (caps.KERAS3 or runtime.TF_VERSION >= runtime.Version("2.5"))
    assert caps.HAS_F1_SCORE == (caps.KERAS3 or runtime.KERAS_FLAVOUR == "tf_keras"
                                 or runtime.TF_VERSION >= runtime.Version("2.13"))
    assert caps.HAS_LAYER_ADD_METRIC == (not caps.KERAS3)
    if caps.HAS_TRAIN_STEP:
        assert "train_step" in dir(keras.Model)


def test_public_api_is_exported():
    for name in compat_metrics.__all__:
        assert getattr(compat_metrics, name) is not None, name
    assert compat_metrics.keras is runtime.keras


GRAPH_MODE_ON_KERAS3 = """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
import compat_metrics
try:
    compat_metrics.ComponentTracker(("ce",))
except compat_metrics.GraphModeNotSupportedError as error:
    print("ERROR:", error)
else:
    print("OK")
"""


def test_graph_mode_is_a_call_time_question():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", GRAPH_MODE_ON_KERAS3], capture_output=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    text = out.stdout.decode()
    if runtime.supports_graph_mode():
        assert "OK" in text
    else:
        assert "ERROR:" in text and "Keras 3 has no graph mode" in text and "TF_USE_LEGACY_KERAS" in text


def test_library_classes_do_not_shadow_keras_builtins_when_loading():
    utils = compat_metrics.keras.utils
    registered = utils.get_custom_objects()
    if hasattr(utils, "get_registered_name"):
        assert registered.get("Precision") is not compat_metrics.Precision
        assert utils.get_registered_name(compat_metrics.Precision) == "compat_metrics>Precision"
        assert utils.get_registered_object("compat_metrics>Precision") is compat_metrics.Precision
    else:  # TF 1.15-2.1 serialise bare class names
        assert registered["ComponentMetric"] is compat_metrics.ComponentMetric
