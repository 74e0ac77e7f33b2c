"""F-beta and F1 over a streaming confusion matrix, matching scikit-learn.

Arguments follow tensorflow-addons' order, ``FBetaScore(num_classes,
average=None, beta=1.0, threshold=None)`` and ``F1Score(num_classes,
average=None, threshold=None)``, which Keras's ``FBetaScore``/``F1Score``
keep (without ``num_classes``). tfa's binary ``F1Score(num_classes=1,
threshold=0.5)`` (one sigmoid column) works too.
"""

import functools
import numbers

from .._backend._common import warn_once
from . import functional as F
from ._score import DOC_ARGS, _Score

__all__ = ["FBetaScore", "F1Score"]


class FBetaScore(_Score):
    __doc__ = """F-beta score over a streaming confusion matrix, matching ``sklearn.metrics.fbeta_score``.

    Keras has ``FBetaScore`` only from TF 2.13; this one runs on TF 1.15 too.
    ``beta`` (> 0) weighs recall ``beta`` times as much as precision.
    Positional order is tensorflow-addons': ``FBetaScore(5, "micro", 2.0)``.
    """ + DOC_ARGS + """        beta: weight of recall, a number > 0 (third positional argument).
    """

    def __init__(self, num_classes, average=None, beta=1.0, threshold=None, zero_division=0.0, multilabel=None,
                 class_names=None, class_index=None, confusion_matrix=None, name="fbeta_score", dtype=None):
        if isinstance(average, numbers.Real) and not isinstance(average, bool) and \
                (beta is None or isinstance(beta, str) or beta == 1.0):
            # this library's former order FBetaScore(num_classes, beta, average)
            warn_once("fbeta-order", "compat_metrics: FBetaScore's second positional argument is `average` "
                      "(tensorflow-addons' order FBetaScore(num_classes, average, beta, threshold)); read "
                      f"{average!r} as beta. Pass beta= by keyword.")
            average, beta = (None if beta == 1.0 else beta), average
        beta = F.check_beta(beta)
        super().__init__(num_classes, reducer=functools.partial(F.fbeta_score, beta=beta), average=average,
                         threshold=threshold, zero_division=zero_division, multilabel=multilabel,
                         class_names=class_names, class_index=class_index, confusion_matrix=confusion_matrix,
                         name=name, dtype=dtype)
        self.beta = beta

    def _own_config(self):
        return dict(super()._own_config(), beta=self.beta)


class F1Score(FBetaScore):
    __doc__ = """F1 score (F-beta with beta=1), matching ``sklearn.metrics.f1_score``.

    ``average=None`` gives a vector standalone (as Keras's and
    tensorflow-addons' ``F1Score``); compiled with ``compat_metrics.compile``
    it is logged per class as ``f1_0``, ``val_f1_0``, ...:

    Example:
        >>> f1 = F1Score(3, name="f1")
        >>> compat_metrics.compile(model, optimizer="adam", loss="sparse_categorical_crossentropy",
        ...                        metrics=[f1])
    """ + DOC_ARGS

    def __init__(self, num_classes, average=None, threshold=None, zero_division=0.0, multilabel=None,
                 class_names=None, class_index=None, confusion_matrix=None, name="f1_score", dtype=None):
        super().__init__(num_classes, average=average, beta=1.0, threshold=threshold, zero_division=zero_division,
                         multilabel=multilabel, class_names=class_names, class_index=class_index,
                         confusion_matrix=confusion_matrix, name=name, dtype=dtype)

    def _own_config(self):
        config = super()._own_config()
        config.pop("beta")
        return config
