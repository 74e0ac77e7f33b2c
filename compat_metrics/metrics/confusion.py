"""Streaming confusion matrix and the scores computed from it.

Shared state is declared, never inferred: pass ``confusion_matrix=cm`` to
several score metrics and they all read ``cm``. Each batch is added to ``cm``
once per step, however many of them Keras updates: every sharer counts its
own updates, and a batch is added only by the first sharer whose count passes
the number of batches already added (a repeated call by the same sharer is a
new batch). ``cm.batches_added()`` shows it. Every sharer still checks its
inputs, but only the first update of a step is counted: sharers must receive
the same batch (the same model output and sample weights; not one in
``metrics`` and one in ``weighted_metrics``: ``compat_metrics.compile``
refuses that). Resetting any sharer resets the
shared state and every sharer's count.

Version notes:
- Keras 2.2+/Keras 3 run the metric updates of a step in program order
  inside ``tf.function``; eager runs are sequential.
- TF 1.15 (and TF 2.x with eager disabled) builds the updates into one graph
  whose ops are ordered only by dependencies, and Keras wraps each custom
  metric's ``update_state`` in its own function. Metrics sharing a confusion
  matrix chain their updates and reads with control dependencies, so each
  reads the state after this batch was added.
- Per-class values (``average=None``) are a vector, which Keras callbacks and
  TF 1.15-2.1 logs cannot hold: :meth:`per_class_metrics` returns one scalar
  metric per class, sharing the state, and works on every version.
"""

import tensorflow as tf

from .. import runtime
from .._ordering import StateOrder
from . import functional as F
from .base import Metric

__all__ = ["ConfusionMatrix", "Precision", "Recall", "FBetaScore", "F1Score"]


class _Untracked(object):
    """Holds objects Keras must not track as sub-layers or variables."""

    def __init__(self, value):
        self.value = value


def _deps(items):
    return [item for item in items if isinstance(item, (tf.Tensor, tf.Operation))]


def _read(variable):
    return tf.identity(tf.convert_to_tensor(variable))


class _SharedMixin(object):
    """Chains TF1-graph calls of the metrics sharing one confusion matrix."""

    def _shared_matrix(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        order = self._shared_matrix()._order.value
        with order.after("update"):
            output = super(_SharedMixin, self).__call__(*args, **kwargs)
        order.wrote("update", output)
        return output


class ConfusionMatrix(_SharedMixin, Metric):
    """Streaming confusion matrix: rows are true classes, columns predicted classes.

    Accepts sparse class ids ``(n,)``/``(n, 1)`` (integers, or floats holding
    whole numbers as TF1 Keras feeds them) or one-hot rows ``(n, C)``;
    probabilities or logits ``(n, C)`` (argmax), or for two classes the
    positive-class score ``(n,)``/``(n, 1)`` compared with ``threshold``
    (default 0.5); and ``sample_weight``. With ``multilabel=True`` the state
    is one 2x2 matrix per label, ``[[tn, fp], [fn, tp]]``, as
    ``sklearn.metrics.multilabel_confusion_matrix``.

    Bad input (class ids outside ``[0, num_classes)``, fractional float labels,
    rows that are not one-hot, mismatched shapes, NaN predictions) raises
    ``tf.errors.InvalidArgumentError`` naming the problem — eagerly at once, in
    a graph when the update runs — and leaves the state unchanged. Shapes
    that cannot match raise ``ValueError`` when the graph is built.

    Args:
        num_classes: number of classes, >= 2.
        threshold: score threshold for binary (``num_classes=2``) or
            multilabel predictions (multilabel and single-column binary
            predictions default to 0.5); ``ValueError`` otherwise.
        multilabel: each class is an independent yes/no label.
        class_names: optional names, used by plots and per-class metric names.
        name: metric name.
        dtype: dtype of the state.

    Example:
        >>> cm = ConfusionMatrix(3)
        >>> cm.update_state([0, 1, 2], [[.9, .1, 0], [.2, .7, .1], [.6, .2, .2]])
        >>> cm.result().numpy()[2, 0]
        1.0
    """

    def __init__(self, num_classes, threshold=None, multilabel=False, class_names=None,
                 name="confusion_matrix", dtype=None):
        super(ConfusionMatrix, self).__init__(name=name, dtype=dtype)
        self.num_classes = F.check_num_classes(num_classes)
        self.threshold = _check_threshold(threshold, num_classes, multilabel)
        self.multilabel = bool(multilabel)
        self.class_names = _check_class_names(class_names, num_classes)
        shape = (self.num_classes, 2, 2) if multilabel else (self.num_classes, self.num_classes)
        self.matrix = self.add_weight(name="matrix", shape=shape)
        self.batches = self.add_weight(name="batches")
        self.update_count = self.add_weight(name="updates")
        self._sharers = _Untracked([])
        self._order = _Untracked(StateOrder(self.name))  # sharers' updates run in build order (TF1 graphs)

    def _shared_matrix(self):
        return self

    def _attach(self, counter):
        self._sharers.value.append(counter)
        if tf.executing_eagerly():  # a sharer added mid-stream starts level with the others
            counter.assign(tf.cast(_read(self.batches), counter.dtype))

    @tf.autograph.experimental.do_not_convert
    def _apply(self, counter, y_true, y_pred, sample_weight=None):
        """Add the batch unless another sharer already added this step's batch."""
        true, pred, weights, checks = F.prepare_inputs(
            y_true, y_pred, self.num_classes, self.threshold, self.multilabel, sample_weight)
        with tf.control_dependencies(checks):
            increment = counter.assign_add(tf.ones((), counter.dtype))
        with tf.control_dependencies(_deps([increment]) + checks):
            count = _read(counter)
            added = _read(self.batches)

        def batch_matrix():
            with tf.control_dependencies(checks):  # bad shapes fail in the check, not in a matmul
                batch = F.confusion_from_ids(true, pred, weights, self.num_classes, self.multilabel)
                return tf.cast(batch, self.matrix.dtype)

        # Only the first updater of the step adds its batch. With several sharers the
        # matrix is computed in a cond, by the first one only; a lone metric computes it
        # and masks it, which costs less than a cond inside tf.function and stays correct
        # if a sharer is attached after this was traced. The assignments stay outside
        # the cond so they also work where Keras 3 traces metrics symbolically.
        first = count > added
        if len(self._sharers.value) > 1:
            shape = self.matrix.shape
            delta = tf.cond(first, batch_matrix, lambda: tf.zeros(shape, self.matrix.dtype))
        else:
            delta = batch_matrix() * tf.cast(first, self.matrix.dtype)
        update = self.matrix.assign_add(delta)
        with tf.control_dependencies(_deps([update])):
            mark = self.batches.assign(tf.maximum(added, count))
        return mark

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch (once per step when shared; see the module docstring)."""
        return self._apply(self.update_count, y_true, y_pred, sample_weight)

    def result(self):
        """The accumulated matrix, ``(C, C)`` or ``(C, 2, 2)`` (multilabel)."""
        return _read(self.matrix)

    def batches_added(self):
        """How many batches were added since the last reset (once per step when shared)."""
        return _read(self.batches)

    def _reset(self):
        self._zero_state([self.matrix, self.batches, self.update_count] + list(self._sharers.value))

    def _state_variables(self):
        return [self.matrix, self.batches, self.update_count]

    def get_config(self):
        config = super(ConfusionMatrix, self).get_config()
        config.update(num_classes=self.num_classes, threshold=self.threshold, multilabel=self.multilabel,
                      class_names=self.class_names)
        return config


def _check_threshold(threshold, num_classes, multilabel):
    if threshold is None:
        return None
    if not multilabel and num_classes != 2:
        raise ValueError("threshold applies to binary (num_classes=2) or multilabel=True predictions; with "
                         "num_classes={} the predicted class is the argmax. Received: threshold={!r} (for one "
                         "yes/no decision per class pass multilabel=True)".format(num_classes, threshold))
    return float(threshold)


def _check_class_names(class_names, num_classes):
    if class_names is None:
        return None
    names = [str(name) for name in class_names]
    if len(names) != num_classes or len(set(names)) != len(names):
        raise ValueError("class_names must be {} distinct names, one per class. Received: class_names={!r}"
                         .format(num_classes, class_names))
    return names


class _Score(_SharedMixin, Metric):
    """Base of the scores over a (possibly shared) :class:`ConfusionMatrix`."""

    _score = None  # index into (precision, recall, fbeta)
    _default_name = None

    def __init__(self, num_classes, average=None, threshold=None, zero_division=0.0, beta=1.0,
                 multilabel=False, class_names=None, class_index=None, confusion_matrix=None,
                 name=None, dtype=None):
        super(_Score, self).__init__(name=name or self._default_name, dtype=dtype)
        self.num_classes = F.check_num_classes(num_classes)
        self.average = F.check_average(average, num_classes)
        self.zero_division = F.check_zero_division(zero_division)
        beta = float(beta)
        if not beta > 0:
            raise ValueError("Invalid `beta` argument value. It should be > 0. Received: beta={}".format(beta))
        self.beta = beta
        self.class_names = _check_class_names(class_names, num_classes)
        if class_index is not None:
            if average is not None or not 0 <= int(class_index) < num_classes:
                raise ValueError("class_index needs average=None and a value in [0, {}). Received: "
                                 "class_index={!r}, average={!r}".format(num_classes, class_index, average))
            class_index = int(class_index)
        self.class_index = class_index
        if confusion_matrix is None:
            confusion_matrix = ConfusionMatrix(num_classes, threshold=threshold, multilabel=multilabel,
                                               class_names=class_names, name=self.name + "_state")
        else:
            if not isinstance(confusion_matrix, ConfusionMatrix):
                raise TypeError("confusion_matrix must be a compat_metrics ConfusionMatrix; got {!r}"
                                .format(confusion_matrix))
            given = (num_classes, _check_threshold(threshold, num_classes, multilabel), bool(multilabel))
            shared = (confusion_matrix.num_classes, confusion_matrix.threshold, confusion_matrix.multilabel)
            if given != shared:
                raise ValueError("{} shares confusion matrix {!r} but its (num_classes, threshold, multilabel) "
                                 "= {} differ from the matrix's {}".format(type(self).__name__,
                                                                           confusion_matrix.name, given, shared))
        self.threshold = confusion_matrix.threshold
        self.multilabel = confusion_matrix.multilabel
        self._cm = _Untracked(confusion_matrix)
        self.update_count = self.add_weight(name="updates")
        confusion_matrix._attach(self.update_count)

    @property
    def confusion_matrix(self):
        """The :class:`ConfusionMatrix` this metric reads (its own or a shared one)."""
        return self._cm.value

    def _shared_matrix(self):
        return self._cm.value

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch to the confusion matrix (once per step when shared)."""
        return self._cm.value._apply(self.update_count, y_true, y_pred, sample_weight)

    def result(self):
        """The score: a scalar, or one value per class for ``average=None``."""
        values = F.precision_recall_fbeta(self._cm.value.matrix, self.beta, self.average,
                                          self.zero_division)[self._score]
        if self.class_index is not None:
            return values[self.class_index]
        return values

    def _reset(self):
        self._cm.value.reset_state()

    def _state_variables(self):
        return [self.update_count] + self._cm.value._state_variables()

    def per_class_metrics(self, class_names=None):
        """One scalar metric per class, sharing this metric's state.

        Pass them to ``compile(metrics=...)`` (alone or with this metric) to
        get ``{name}_{i}`` — or ``{name}_{class name}`` — and
        ``val_{name}_{i}`` in the logs and ``History`` on every version,
        TF 1.15 included, with the confusion matrix updated once per batch.

        Args:
            class_names: names for the keys; default the metric's
                ``class_names``, else the class indices.

        Returns:
            A list of ``num_classes`` metrics.
        """
        if self.average is not None:
            raise ValueError("per_class_metrics() needs average=None; {!r} has average={!r}"
                             .format(self.name, self.average))
        names = _check_class_names(class_names, self.num_classes) or self.class_names or \
            [str(i) for i in range(self.num_classes)]
        return [type(self)(**dict(self._own_config(), class_index=i, class_names=self.class_names,
                                  name="{}_{}".format(self.name, label), confusion_matrix=self._cm.value))
                for i, label in enumerate(names)]

    def _own_config(self):
        config = dict(num_classes=self.num_classes, average=self.average, threshold=self.threshold,
                      zero_division=self.zero_division, multilabel=self.multilabel, dtype=self.dtype)
        if type(self)._score == 2 and not isinstance(self, F1Score):
            config["beta"] = self.beta
        return config

    def get_config(self):
        """Constructor arguments; a shared ``confusion_matrix`` is not saved (a loaded metric owns its state)."""
        config = super(_Score, self).get_config()
        config.pop("confusion_matrix", None)
        config.update(self._own_config(), class_names=self.class_names, class_index=self.class_index,
                      name=self.name)
        return config

    @classmethod
    def from_config(cls, config):
        # Registered by class name, these classes would also receive the
        # configs of Keras's own Precision/Recall/F1Score: hand those back.
        if "num_classes" not in config:
            builtin = getattr(runtime.keras.metrics, cls.__name__, None)
            if builtin is not None:
                return builtin.from_config(config)
        return super(_Score, cls).from_config(config)


_DOC_ARGS = """
    Args:
        num_classes: number of classes, >= 2 (2 for binary problems).
        average: ``None`` (one value per class), ``"micro"``, ``"macro"``,
            ``"weighted"`` or ``"binary"`` (class 1 of two), as scikit-learn
            with ``labels=range(num_classes)``.
        threshold: score threshold for binary (``num_classes=2``) or
            multilabel predictions (multilabel and single-column binary
            predictions default to 0.5); ``ValueError`` otherwise.
        zero_division: value when a denominator is 0: 0.0, 1.0 or NaN.
        multilabel: each class is an independent yes/no label.
        class_names: names used by :meth:`per_class_metrics` and plots.
        class_index: report only this class (scalar); set by
            :meth:`per_class_metrics`.
        confusion_matrix: a :class:`ConfusionMatrix` to share with other
            metrics; by default the metric owns one.
        name: metric name.
        dtype: dtype of the state.
"""


class Precision(_Score):
    __doc__ = """Precision over a streaming confusion matrix, matching ``sklearn.metrics.precision_score``.

    Not ``keras.metrics.Precision``: this one is multiclass and averages.
    """ + _DOC_ARGS + """
    Example:
        >>> cm = ConfusionMatrix(3)
        >>> metrics = [Precision(3, average="macro", confusion_matrix=cm),
        ...            Recall(3, average="macro", confusion_matrix=cm)]
    """
    _score = 0
    _default_name = "precision"

    def __init__(self, num_classes, average=None, threshold=None, zero_division=0.0, multilabel=False,
                 class_names=None, class_index=None, confusion_matrix=None, name="precision", dtype=None):
        super(Precision, self).__init__(num_classes, average, threshold, zero_division, 1.0, multilabel,
                                        class_names, class_index, confusion_matrix, name, dtype)


class Recall(_Score):
    __doc__ = """Recall over a streaming confusion matrix, matching ``sklearn.metrics.recall_score``.
    """ + _DOC_ARGS
    _score = 1
    _default_name = "recall"

    def __init__(self, num_classes, average=None, threshold=None, zero_division=0.0, multilabel=False,
                 class_names=None, class_index=None, confusion_matrix=None, name="recall", dtype=None):
        super(Recall, self).__init__(num_classes, average, threshold, zero_division, 1.0, multilabel,
                                     class_names, class_index, confusion_matrix, name, dtype)


class FBetaScore(_Score):
    __doc__ = """F-beta score over a streaming confusion matrix, matching ``sklearn.metrics.fbeta_score``.

    Keras has ``FBetaScore`` only from TF 2.13; this one runs on TF 1.15 too.
    ``beta`` (> 0) weighs recall ``beta`` times as much as precision.
    """ + _DOC_ARGS
    _score = 2
    _default_name = "fbeta_score"

    def __init__(self, num_classes, beta=1.0, average=None, threshold=None, zero_division=0.0,
                 multilabel=False, class_names=None, class_index=None, confusion_matrix=None,
                 name="fbeta_score", dtype=None):
        super(FBetaScore, self).__init__(num_classes, average, threshold, zero_division, beta, multilabel,
                                         class_names, class_index, confusion_matrix, name, dtype)


class F1Score(_Score):
    __doc__ = """F1 score (F-beta with beta=1), matching ``sklearn.metrics.f1_score``.

    Example (per-class F1 in ``History`` as ``f1_0``, ``val_f1_0``, ...):
        >>> f1 = F1Score(3, name="f1")
        >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=f1.per_class_metrics())
    """ + _DOC_ARGS
    _score = 2
    _default_name = "f1_score"

    def __init__(self, num_classes, average=None, threshold=None, zero_division=0.0, multilabel=False,
                 class_names=None, class_index=None, confusion_matrix=None, name="f1_score", dtype=None):
        super(F1Score, self).__init__(num_classes, average, threshold, zero_division, 1.0, multilabel,
                                      class_names, class_index, confusion_matrix, name, dtype)
