"""Streaming metrics for every supported TF/Keras version.

- :class:`Metric`: portable base class (reset names, ``add_weight`` call
  forms, save/load without ``custom_objects``).
- :class:`ConfusionMatrix` and the scores over it: :class:`Precision`,
  :class:`Recall`, :class:`FBetaScore`, :class:`F1Score`, matching
  scikit-learn; shared state via ``confusion_matrix=``; per-class logs via
  ``per_class_metrics()``, or by ``compat_metrics.compile`` itself
  (:mod:`.per_class`).
- :class:`BinaryTruePositives`, :class:`CategoricalTruePositives`.
- :func:`streaming`: ``(value, update_op)`` for TF1 sessions and Estimators.
- :mod:`.functional`: the maths as pure tensor functions.
"""

from . import functional
from .base import Metric
from .confusion import ConfusionMatrix
from .counters import BinaryTruePositives, CategoricalTruePositives
from .f_beta import F1Score, FBetaScore
from .precision_recall import Precision, Recall
from .streaming import streaming

__all__ = [
    "functional", "Metric", "ConfusionMatrix", "Precision", "Recall", "FBetaScore", "F1Score",
    "BinaryTruePositives", "CategoricalTruePositives", "streaming",
]
