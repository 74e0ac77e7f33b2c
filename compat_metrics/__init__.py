"""compat_metrics: one set of custom losses and metrics for TF 1.15 to TF 2.x.

The public API is listed in ``__all__``; every other module is private.
``compat_metrics.keras`` is the Keras module in use (``tf.keras`` on Keras 2
and ``tf_keras``, ``keras`` on Keras 3); ``compat_metrics.runtime`` describes
the installed stack.
"""

from . import runtime
from .components import ComponentLoss, ComponentMetric, ComponentTracker
from .input_loss import InputLoss
from .layer_metrics import MetricLayer, add_metric
from .metrics import (BinaryTruePositives, CategoricalTruePositives, ConfusionMatrix, F1Score, FBetaScore, Metric,
                      Precision, Recall, streaming)
from .runtime import GraphModeNotSupportedError, keras
from .session import EagerSession, Session, set_session
from .train_step import train_step
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
