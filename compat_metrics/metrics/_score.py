"""Base of the scores over a (possibly shared) :class:`~.confusion.ConfusionMatrix`.

A score is a reducer (a pure function of :mod:`.functional` from the
confusion-matrix state to a value) plus the arguments that pick the value:
``average``, ``zero_division``, ``class_index``. The subclasses in
:mod:`.precision_recall` and :mod:`.f_beta` only choose the reducer.

State: the score tracks its confusion matrix as a sub-metric, so
``variables``, ``get_weights``/``set_weights`` and ``tf.train.Checkpoint``
see the matrix (shared or not) on every version.

Roles (set by ``compat_metrics.compile`` through :mod:`.per_class`, never by
users): a *reader* never adds a batch, it only reads the shared matrix that
the first metric of its group adds to once per step; the *updater* adds
unconditionally masked (no ``tf.cond``). Standalone metrics have no role and
share by counting updates (see :mod:`.confusion`).
"""

import numbers

import tensorflow as tf

from .. import runtime
from .._backend._common import called_by_keras, is_library_class, warn_once
from .._config import init_args as _init_args
from . import functional as F
from .base import Metric
from .confusion import ConfusionMatrix, _check_class_names, _check_threshold, _SharedMixin, _Untracked

__all__ = []

UPDATER, READER = "updater", "reader"

def _check_multilabel(multilabel, threshold, num_classes):
    """``multilabel=None`` (default): per column when a threshold is given with more than two classes,
    as Keras's and tensorflow-addons' F1Score decide."""
    if multilabel is None:
        return threshold is not None and num_classes > 2
    if not isinstance(multilabel, (bool, int)) or isinstance(multilabel, float):
        raise ValueError("Invalid `multilabel` argument value. It should be True, False or None. "
                         f"Received: multilabel={multilabel!r}")
    return bool(multilabel)


class _Score(_SharedMixin, Metric):
    """A reducer of :mod:`.functional` over a (possibly shared) confusion matrix."""

    _direction = "up"  # Keras 3 callbacks' mode="auto" reads it

    def __init__(self, num_classes, *, reducer, average=None, threshold=None, zero_division=0.0,
                 multilabel=None, class_names=None, class_index=None, confusion_matrix=None, name=None,
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        binary_column = isinstance(num_classes, numbers.Integral) and not isinstance(num_classes, bool) \
            and num_classes == 1
        # tensorflow-addons' binary form: one sigmoid column, the score of the positive class.
        self.num_classes = 1 if binary_column else F.check_num_classes(num_classes)
        matrix_classes = 2 if binary_column else self.num_classes
        self.average = F.check_average(average, self.num_classes)
        self.zero_division = F.check_zero_division(zero_division)
        threshold = F.check_threshold(threshold)
        if binary_column:
            if multilabel:
                raise ValueError("num_classes=1 is one binary sigmoid column; multilabel needs num_classes >= 2. "
                                 f"Received: multilabel={multilabel!r}")
            multilabel = False
            threshold = 0.5 if threshold is None else threshold
        multilabel = _check_multilabel(multilabel, threshold, matrix_classes)
        self.class_names = _check_class_names(class_names, self.num_classes)
        if class_index is not None:
            if isinstance(class_index, bool) or not isinstance(class_index, numbers.Integral) or \
                    average is not None or not 0 <= class_index < self.num_classes:
                raise ValueError("Invalid `class_index` argument value. It needs average=None and an integer in "
                                 f"[0, {self.num_classes}). Received: class_index={class_index!r}, average={average!r}"
                                 )
            class_index = int(class_index)
        self.class_index = class_index
        self._reducer = reducer
        self._reducer_key = (getattr(reducer, "func", reducer).__name__,) + tuple(
            sorted(getattr(reducer, "keywords", {}).items()))
        if confusion_matrix is None:
            confusion_matrix = ConfusionMatrix(matrix_classes, threshold=threshold, multilabel=multilabel,
                                               class_names=None if binary_column else class_names,
                                               name=self.name + "_state")
        else:
            if not isinstance(confusion_matrix, ConfusionMatrix):
                raise TypeError("Invalid `confusion_matrix` argument value. It should be a compat_metrics "
                                f"ConfusionMatrix. Received: confusion_matrix={confusion_matrix!r}")
            given = (matrix_classes, _check_threshold(threshold, matrix_classes, multilabel), multilabel)
            shared = (confusion_matrix.num_classes, confusion_matrix.threshold, confusion_matrix.multilabel)
            if given != shared:
                raise ValueError(f"{type(self).__name__} shares confusion matrix {confusion_matrix.name!r} "
                                 "but its (num_classes, threshold, multilabel) "
                                 f"= {given} differ from the matrix's {shared}")
        self.threshold = confusion_matrix.threshold
        self.multilabel = confusion_matrix.multilabel
        self._cm = confusion_matrix  # tracked: its variables are this metric's state too
        self.update_count = self.add_weight(name="updates")
        self._counter = _Untracked(self.update_count)  # the counter this metric's updates advance
        self._role = None
        confusion_matrix._attach(self.update_count)

    @property
    def confusion_matrix(self):
        """The :class:`ConfusionMatrix` this metric reads (its own or a shared one)."""
        return self._cm

    def _shared_matrix(self):
        return self._cm

    def _adds_batches(self):
        return self._role != READER

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch to the confusion matrix (once per step when shared)."""
        if self._role == READER:  # a tensor, not a no_op: TF 1.15-2.1 wrap update_state in a defun
            return tf.constant(0.0)
        return self._cm._apply(self._counter.value, y_true, y_pred, sample_weight, masked=self._role == UPDATER)

    def _values(self):
        if self._role is None:
            return self._reduce()
        # compile-managed group: views of one matrix and reducer share one reduction per step
        key = (self._reducer_key, self.average, self.zero_division, self.num_classes)
        return self._cm._read_once(key, self._reduce)

    def _reduce(self):
        matrix = self._cm.matrix
        if self.num_classes == 1:
            value = self._reducer(matrix, average="binary", zero_division=self.zero_division)
            return value if self.average is not None else tf.reshape(value, [1])
        return self._reducer(matrix, average=self.average, zero_division=self.zero_division)

    @tf.autograph.experimental.do_not_convert  # plain TF ops: autograph only costs time
    def result(self):
        """The score: a scalar, or one value per class for ``average=None``."""
        values = self._values()
        if self.class_index is not None:
            return values[self.class_index]
        if self.average is None and not self.__dict__.get("_vector_warned") and called_by_keras():
            self.__dict__["_vector_warned"] = True
            warn_once(("vector-metric", id(self)),
                      f"compat_metrics: metric {self.name!r} (average=None) gives Keras a vector of {self.num_classes} per-class values, "
                      "which History, the progress bar and callbacks such as ModelCheckpoint(monitor=...) cannot "
                      f"use. Compile with compat_metrics.compile(model, ...) to log "
                      f"{self.name}_0 ... {self.name}_{self.num_classes - 1} (and val_...), "
                      f"or pass metrics={self.name}.per_class_metrics().")
        return values

    def _reset(self):
        self._cm.reset_state()

    def _state_variables(self):
        return [self.update_count] + self._cm._state_variables()

    def per_class_metrics(self, class_names=None):
        """One scalar metric per class, sharing this metric's state.

        Pass them to ``compile(metrics=...)`` (alone or with this metric) to
        get ``{name}_{i}`` — or ``{name}_{class name}`` — and
        ``val_{name}_{i}`` in the logs and ``History`` on every version,
        TF 1.15 included, with the confusion matrix updated once per batch.
        ``compat_metrics.compile`` does this by itself for ``average=None``.

        Args:
            class_names: names for the keys; default the metric's
                ``class_names``, else the class indices.

        Returns:
            A list of ``num_classes`` metrics.
        """
        if self.average is not None or self.class_index is not None:
            raise ValueError(f"per_class_metrics() needs average=None; {self.name!r} has average={self.average!r}"
                             )
        names = _check_class_names(class_names, self.num_classes) or self.class_names or \
            [str(i) for i in range(self.num_classes)]
        return [self._copy(class_index=i, class_names=self.class_names, name=f"{self.name}_{label}")
                for i, label in enumerate(names)]

    def _copy(self, **changes):
        """The same metric over the same matrix, with ``changes`` to its arguments.

        A user's subclass is built by its own constructor, from the arguments
        it was built with (its own ones included: an ``update_state`` override
        may read them) plus ``changes``; a copy that comes out different is a
        ``ValueError``, never a view computing something else.
        """
        config = dict(self._own_config(), confusion_matrix=self._cm)
        config.update(changes)
        cls = type(self)
        if is_library_class(cls):
            return cls(**config)
        arguments = _init_args(self)
        arguments["confusion_matrix"] = self._cm
        arguments.update(changes)
        try:
            copy = cls(**arguments)
        except TypeError as error:
            raise ValueError(self._copy_refused(f"{cls.__name__}(...) raised TypeError: {error}")) from error
        matrix = config.pop("confusion_matrix")
        got = copy._own_config()
        differ = [f"{key}={got[key]!r} where {config[key]!r} was passed" for key in config if got[key] != config[key]]
        if copy._cm is not matrix:
            differ.append("a confusion matrix of its own where confusion_matrix= was passed")
        if differ:
            raise ValueError(self._copy_refused("the copy got " + ", ".join(differ)))
        return copy

    def _copy_refused(self, why):
        cls = type(self).__name__
        return (f"Invalid metric `{self.name}` ({cls}): compat_metrics builds copies of it that read its confusion "
                f"matrix (per-class views of average=None, scores sharing one matrix) as {cls}(<the arguments it "
                "was built with>, class_index=..., class_names=..., name=..., confusion_matrix=...), and "
                f"{why}. Let {cls}.__init__ take **kwargs and pass them on to super().__init__(), or compile "
                "the metric with an average. Received: the arguments "
                f"{sorted(_init_args(self))}")

    def _own_config(self):
        return dict(num_classes=self.num_classes, average=self.average, threshold=self.threshold,
                    zero_division=self.zero_division, multilabel=self.multilabel, dtype=self.dtype,
                    class_names=self.class_names, class_index=self.class_index, name=self.name)

    def get_config(self):
        """Constructor arguments; a shared ``confusion_matrix`` is not saved (a loaded metric owns its state).

        A user's subclass saves the arguments of its own constructor (which may
        fix the library's ones: passing those again would be refused).
        """
        config = super().get_config()
        config.pop("confusion_matrix", None)
        if is_library_class(type(self)):
            config.update(self._own_config())
            if self.num_classes == 1:
                config["threshold"] = self.threshold
        return config

    @classmethod
    def from_config(cls, config):
        # Registered by class name, these classes would also receive the
        # configs of Keras's own Precision/Recall/F1Score: hand those back.
        if "num_classes" not in config and is_library_class(cls):
            builtin = getattr(runtime.keras.metrics, cls.__name__, None)
            if builtin is not None:
                return builtin.from_config(config)
        return super().from_config(config)


DOC_ARGS = """
    Args:
        num_classes: number of classes, >= 2 (2 for binary problems), or 1
            for tensorflow-addons' binary form: one sigmoid column, scored
            as the positive class (threshold default 0.5).
        average: ``None`` (one value per class), ``"micro"``, ``"macro"``,
            ``"weighted"`` or ``"binary"`` (class 1 of two), as scikit-learn
            with ``labels=range(num_classes)``.
        threshold: a score above it is positive. Binary (``num_classes=2``):
            compares the positive-class score. More classes: each column is
            decided on its own (multilabel), as Keras's and
            tensorflow-addons' ``F1Score`` do; labels must then be 0/1 rows.
            Default: argmax (0.5 for one column and for multilabel).
        zero_division: value when a denominator is 0: 0.0, 1.0 or NaN.
        multilabel: each class is an independent yes/no label; default
            (None) is True exactly when a threshold is given with more than
            two classes. ``multilabel=False`` with such a threshold raises.
        class_names: names used by per-class metric names and plots.
        class_index: report only this class (scalar); set by
            ``per_class_metrics()``.
        confusion_matrix: a :class:`ConfusionMatrix` to share with other
            metrics; by default the metric owns one.
        name: metric name.
        dtype: dtype of the state.
"""
