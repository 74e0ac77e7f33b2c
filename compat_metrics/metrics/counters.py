"""Simple streaming counters: ``BinaryTruePositives`` and ``CategoricalTruePositives``."""

import tensorflow as tf

from .base import Metric

__all__ = ["BinaryTruePositives", "CategoricalTruePositives"]


def _weighted_sum(values, sample_weight, dtype):
    values = tf.cast(values, dtype)
    if sample_weight is not None:
        values = values * tf.reshape(tf.cast(sample_weight, dtype), tf.shape(values))
    return tf.reduce_sum(values)


class BinaryTruePositives(Metric):
    """Weighted count of samples that are positive and predicted positive.

    Args:
        threshold: a prediction above it is positive (labels: non-zero is positive).
        name: metric name.
        dtype: dtype of the count.

    Example:
        >>> m = BinaryTruePositives()
        >>> m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
        >>> float(m.result())
        1.0
    """

    def __init__(self, threshold=0.5, name="binary_true_positives", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = float(threshold)
        self.true_positives = self.add_weight(name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.reshape(tf.not_equal(tf.cast(y_true, tf.float32), 0.0), [-1])
        y_pred = tf.reshape(tf.cast(y_pred, tf.float32) > self.threshold, [-1])
        return self.true_positives.assign_add(
            _weighted_sum(tf.logical_and(y_true, y_pred), sample_weight, self.dtype))

    def result(self):
        return tf.identity(tf.convert_to_tensor(self.true_positives))


class CategoricalTruePositives(Metric):
    """Weighted count of samples whose argmax prediction is the true class.

    Labels are class ids ``(n,)``/``(n, 1)`` or one-hot rows ``(n, C)``.

    Example:
        >>> m = CategoricalTruePositives()
        >>> m.update_state([[1], [0]], [[.2, .8], [.3, .7]])
        >>> float(m.result())
        1.0
    """

    def __init__(self, name="categorical_true_positives", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.true_positives = self.add_weight(name="ctp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.convert_to_tensor(y_true)
        y_pred = tf.convert_to_tensor(y_pred)
        predicted = tf.argmax(y_pred, axis=-1, output_type=tf.int32)
        if y_true.shape.ndims == 2 and y_true.shape[-1] is not None and y_true.shape[-1] > 1:
            labels = tf.argmax(y_true, axis=-1, output_type=tf.int32)
        else:
            labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        return self.true_positives.assign_add(
            _weighted_sum(tf.equal(labels, predicted), sample_weight, self.dtype))

    def result(self):
        return tf.identity(tf.convert_to_tensor(self.true_positives))
