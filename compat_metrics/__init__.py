"""compat_metrics: one set of custom losses and metrics for TF 1.15 to TF 2.x.

The public API is listed in ``__all__``; every other module is private.
``compat_metrics.keras`` is the Keras module in use (``tf.keras`` on Keras 2
and ``tf_keras``, ``keras`` on Keras 3); ``compat_metrics.runtime`` describes
the installed stack.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names, for readers and static tools; at run time they load on first use
    from . import runtime
    from ._train_step import train_step
    from .components import ComponentLoss, ComponentMetric, ComponentTracker
    from .input_loss import InputLoss
    from .layer_metrics import MetricLayer, add_metric
    from .metrics import (
        BinaryTruePositives,
        CategoricalTruePositives,
        ConfusionMatrix,
        F1Score,
        FBetaScore,
        Metric,
        Precision,
        Recall,
        streaming,
    )
    from .runtime import GraphModeNotSupportedError, keras
    from .session import EagerSession, Session, set_session
    from .training import compile, compile_kwargs, load_model  # noqa: A004
    from .training_metrics import GradientNorm, bind_gradient_metrics

__version__ = "0.1.0"

__all__ = [
    "runtime", "keras", "GraphModeNotSupportedError",
    "ComponentLoss", "ComponentTracker", "ComponentMetric",
    "InputLoss", "compile", "compile_kwargs", "load_model",
    "Metric", "ConfusionMatrix", "Precision", "Recall", "FBetaScore", "F1Score",
    "BinaryTruePositives", "CategoricalTruePositives", "streaming",
    "GradientNorm", "bind_gradient_metrics", "add_metric", "MetricLayer", "train_step",
    "Session", "EagerSession", "set_session",
]

# public name -> module defining it
_EXPORTS = {
    "runtime": None, "keras": "runtime", "GraphModeNotSupportedError": "runtime",
    "ComponentLoss": "components", "ComponentTracker": "components", "ComponentMetric": "components",
    "InputLoss": "input_loss",
    "compile": "training", "compile_kwargs": "training", "load_model": "training",
    "Metric": "metrics", "ConfusionMatrix": "metrics", "Precision": "metrics", "Recall": "metrics",
    "FBetaScore": "metrics", "F1Score": "metrics", "BinaryTruePositives": "metrics",
    "CategoricalTruePositives": "metrics", "streaming": "metrics",
    "GradientNorm": "training_metrics", "bind_gradient_metrics": "training_metrics",
    "add_metric": "layer_metrics", "MetricLayer": "layer_metrics", "train_step": "_train_step",
    "Session": "session", "EagerSession": "session", "set_session": "session",
}


def _load():
    """Import every public module at once (TensorFlow and Keras with them).

    Deferred to the first use of a public name, so that ``import compat_metrics``
    and the command line (``tox-matrix``, ``migrate``, ``doctor``) work where
    TensorFlow is missing or cannot be imported; loading all modules together
    registers every serializable class before any model is loaded.
    """
    for name, module in _EXPORTS.items():
        loaded = importlib.import_module("." + (module or name), __name__)
        globals()[name] = loaded if module is None else getattr(loaded, name)


def __getattr__(name):
    if name in _EXPORTS and _EXPORTS[name] is None:  # a submodule (runtime): imported alone, so that
        return importlib.import_module("." + name, __name__)  # ``from .. import runtime`` inside the package
    if name in _EXPORTS:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
