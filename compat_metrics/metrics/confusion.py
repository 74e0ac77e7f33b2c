"""Streaming confusion matrix, the state of the scores in :mod:`.precision_recall` and :mod:`.f_beta`.

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
  TF 1.15-2.1 logs cannot hold: ``per_class_metrics()`` returns one scalar
  metric per class, sharing the state, and works on every version;
  ``compat_metrics.compile`` does it by itself (see :mod:`.per_class`).
"""

import weakref

import numpy as np
import tensorflow as tf

from .._ordering import StateOrder
from . import functional as F
from .base import Metric

__all__ = ["ConfusionMatrix"]


class _Untracked:
    """Holds objects Keras must not track as sub-layers or variables."""

    def __init__(self, value):
        self.value = value


def _deps(items):
    return [item for item in items if isinstance(item, (tf.Tensor, tf.Operation))]


def _read(variable):
    return tf.identity(tf.convert_to_tensor(variable))


class _SharedMixin:
    """Chains TF1-graph calls of the metrics sharing one confusion matrix."""

    def _shared_matrix(self):
        raise NotImplementedError

    def _adds_batches(self):
        return True

    def __call__(self, *args, **kwargs):
        matrix = self._shared_matrix()
        if self._adds_batches():
            # TF 1.15-2.1 wrap update_state in a function traced once: a second build of
            # this call (TF1-style Keras rebuilds weighted metrics) must still invalidate
            # the reductions read after the first build, which depend on that build's update.
            matrix._mark_write()
        order = matrix._order.value
        with order.after("update", owner=self):
            output = super().__call__(*args, **kwargs)
        order.wrote("update", output, owner=self)
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
        super().__init__(name=name, dtype=dtype)
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
        # graph -> {key: value read by compile-managed scores}, and graph -> count of writes built in it
        self._reads = _Untracked(weakref.WeakKeyDictionary())
        self._writes = _Untracked(weakref.WeakKeyDictionary())

    def _mark_write(self):
        if not tf.executing_eagerly():
            graph = tf.compat.v1.get_default_graph()
            self._writes.value[graph] = self._writes.value.get(graph, 0) + 1

    def _read_once(self, key, compute):
        """``compute()``, built once per graph between two writes built in it (eagerly: every time).

        Keras computes every metric's result after the step's updates, so the
        per-class views of one matrix share one reduction instead of each
        building its own (ReadVariableOp is stateful: Grappler does not merge them).
        """
        if tf.executing_eagerly():  # keyed by the matrix's content: a reduction is a function of it
            if tf.distribute.has_strategy():  # a sync-on-read matrix cannot be read to NumPy in replica context
                return compute()
            current = self.matrix.numpy()
            cached = self._reads.value.get(self)
            if cached is None or cached[0].get(key) is None or not np.array_equal(cached[0][key][0], current):
                cached = self._reads.value.setdefault(self, ({},))
                cached[0][key] = (current, compute())
            return cached[0][key][1]
        graph = tf.compat.v1.get_default_graph()
        cache = self._reads.value.setdefault(graph, {})
        key = (self._writes.value.get(graph, 0),) + key
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def _shared_matrix(self):
        return self

    def _detach(self, counter):
        self._sharers.value[:] = [c for c in self._sharers.value if c is not counter]

    def _attach(self, counter):
        self._sharers.value.append(counter)
        if tf.executing_eagerly():  # a sharer added mid-stream starts level with the others
            counter.assign(tf.cast(_read(self.batches), counter.dtype))

    @tf.autograph.experimental.do_not_convert
    def _apply(self, counter, y_true, y_pred, sample_weight=None, masked=False):
        """Add the batch unless another sharer already added this step's batch.

        ``masked``: compute the batch matrix unconditionally and mask it (the
        caller is the one updater of a step, as ``compat_metrics.compile`` sets up).
        """
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
        self._mark_write()
        if len(self._sharers.value) > 1 and not masked:
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

    @tf.autograph.experimental.do_not_convert
    def result(self):
        """The accumulated matrix, ``(C, C)`` or ``(C, 2, 2)`` (multilabel)."""
        return _read(self.matrix)

    def batches_added(self):
        """How many batches were added since the last reset (once per step when shared)."""
        return _read(self.batches)

    def _reset(self):
        self._mark_write()
        self._zero_state([self.matrix, self.batches, self.update_count] + list(self._sharers.value))

    def _state_variables(self):
        return [self.matrix, self.batches, self.update_count]

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, threshold=self.threshold, multilabel=self.multilabel,
                      class_names=self.class_names)
        return config


def _check_threshold(threshold, num_classes, multilabel):
    threshold = F.check_threshold(threshold)
    if threshold is None:
        return None
    if not multilabel and num_classes != 2:
        raise ValueError("threshold applies to binary (num_classes=2) or multilabel=True predictions; with "
                         f"num_classes={num_classes} the predicted class is the argmax. Received: threshold={threshold!r} (for one "
                         "yes/no decision per class pass multilabel=True)")
    return threshold


def _check_class_names(class_names, num_classes):
    if class_names is None:
        return None
    names = [str(name) for name in class_names]
    if len(names) != num_classes or len(set(names)) != len(names):
        raise ValueError(f"class_names must be {num_classes} distinct names, one per class. Received: class_names={class_names!r}"
                         )
    return names
