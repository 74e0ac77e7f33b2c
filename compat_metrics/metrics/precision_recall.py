"""Precision and recall over a streaming confusion matrix, matching scikit-learn."""

from . import functional as F
from ._score import DOC_ARGS, _Score

__all__ = ["Precision", "Recall"]


class Precision(_Score):
    __doc__ = """Precision over a streaming confusion matrix, matching ``sklearn.metrics.precision_score``.

    Not ``keras.metrics.Precision``: this one is multiclass and averages.
    """ + DOC_ARGS + """
    Example:
        >>> cm = ConfusionMatrix(3)
        >>> metrics = [Precision(3, average="macro", confusion_matrix=cm),
        ...            Recall(3, average="macro", confusion_matrix=cm)]
    """

    def __init__(self, num_classes, average=None, threshold=None, zero_division=0.0, multilabel=None,
                 class_names=None, class_index=None, confusion_matrix=None, name="precision", dtype=None):
        super().__init__(num_classes, reducer=F.precision, average=average, threshold=threshold,
                         zero_division=zero_division, multilabel=multilabel, class_names=class_names,
                         class_index=class_index, confusion_matrix=confusion_matrix, name=name, dtype=dtype)


class Recall(_Score):
    __doc__ = """Recall over a streaming confusion matrix, matching ``sklearn.metrics.recall_score``.
    """ + DOC_ARGS

    def __init__(self, num_classes, average=None, threshold=None, zero_division=0.0, multilabel=None,
                 class_names=None, class_index=None, confusion_matrix=None, name="recall", dtype=None):
        super().__init__(num_classes, reducer=F.recall, average=average, threshold=threshold,
                         zero_division=zero_division, multilabel=multilabel, class_names=class_names,
                         class_index=class_index, confusion_matrix=confusion_matrix, name=name, dtype=dtype)
