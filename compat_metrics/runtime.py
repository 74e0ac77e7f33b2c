"""What TensorFlow stack is installed, decided once at import.

Every other module of compat_metrics asks this module; nothing else reads
``tf.__version__`` or inspects Keras. Execution mode is the one call-time
question (TF 2.x with ``tf.compat.v1.disable_v2_behavior()`` is graph mode too),
so it is a function, :func:`in_graph_mode`, not a constant.

Attributes:
    TF_VERSION: installed TensorFlow version, a ``packaging.version.Version``.
    KERAS_FLAVOUR: ``"keras2"`` (Keras 2 inside ``tf.keras``: TF 1.15 to 2.15),
        ``"keras3"`` (Keras 3, TF >= 2.16) or ``"tf_keras"`` (the legacy package,
        selected by ``TF_USE_LEGACY_KERAS=1`` on TF >= 2.16).
    KERAS_VERSION: version of the Keras in use, a ``Version``.
    BACKEND: name of the private implementation chosen for this stack:
        ``"tf1"``, ``"keras2"`` (also used for ``tf_keras``) or ``"keras3"``.
    keras: the Keras module in use (``tf.keras`` on Keras 2 and ``tf_keras``,
        ``keras`` on Keras 3). Also exported as ``compat_metrics.keras``.
"""

import os

import tensorflow as tf
from packaging.version import Version

__all__ = [
    "TF_VERSION", "KERAS_FLAVOUR", "KERAS_VERSION", "BACKEND", "keras",
    "IS_TF1", "in_graph_mode", "supports_graph_mode",
    "describe", "GraphModeNotSupportedError",
]


class GraphModeNotSupportedError(RuntimeError):
    """Raised when TF1 graph mode is used with Keras 3, which has none."""


def _base_version(text):
    """``Version`` of the leading release number (``"2.2.4-tf"`` -> 2.2.4)."""
    import re
    return Version(re.match(r"\d+(\.\d+)*", text).group(0))


TF_VERSION = _base_version(tf.__version__)
IS_TF1 = TF_VERSION.major == 1


def _detect_keras():
    """Return (module, flavour, version) of the Keras that ``tf.keras`` resolves to."""
    keras = tf.keras
    layer_module = type.__getattribute__(keras.layers.Layer, "__module__")
    if layer_module.startswith("tf_keras"):
        import tf_keras
        return keras, "tf_keras", _base_version(tf_keras.__version__)
    if layer_module.startswith("keras.src") or layer_module.startswith("keras."):
        import keras as keras3
        version = _base_version(keras3.__version__)
        if version.major >= 3:
            return keras3, "keras3", version
        return keras, "keras2", version
    return keras, "keras2", _base_version(getattr(keras, "__version__", "2.0"))


keras, KERAS_FLAVOUR, KERAS_VERSION = _detect_keras()

if KERAS_FLAVOUR == "keras3":
    BACKEND = "keras3"
elif IS_TF1:
    BACKEND = "tf1"
else:
    BACKEND = "keras2"


def in_graph_mode():
    """True when ops are built into a TF1-style graph (TF 1.x, or eager disabled).

    Inside a ``tf.function`` this is False: the function is traced, but the
    program is eager.
    """
    with tf.init_scope():
        return not tf.executing_eagerly()


def supports_graph_mode():
    """Whether the installed Keras can train in TF1 graph mode (all but Keras 3)."""
    return KERAS_FLAVOUR != "keras3"


def check_graph_mode_supported(what="compat_metrics"):
    """Raise :class:`GraphModeNotSupportedError` for graph mode on Keras 3."""
    if in_graph_mode() and not supports_graph_mode():
        raise GraphModeNotSupportedError(
            f"{what} cannot run in TF1 graph mode with Keras {KERAS_VERSION}: Keras 3 has no graph mode "
            "(eager execution was disabled, e.g. by tf.compat.v1.disable_v2_behavior()). "
            "Use eager execution, or install tf_keras and set TF_USE_LEGACY_KERAS=1 "
            f"to keep graph mode on TF {TF_VERSION}.")


def describe():
    """Return a dict describing the installed stack and the current mode."""
    import platform
    return {
        "python": platform.python_version(),
        "tensorflow": str(TF_VERSION),
        "keras_flavour": KERAS_FLAVOUR,
        "keras_version": str(KERAS_VERSION),
        "backend": BACKEND,
        "mode": "graph" if in_graph_mode() else "eager",
        "TF_USE_LEGACY_KERAS": os.environ.get("TF_USE_LEGACY_KERAS", ""),
    }
