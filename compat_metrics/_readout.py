"""Metrics that report a value the step computes elsewhere: one reduction for all of them.

:class:`ComponentMetric` reads a loss component, :class:`GradientNorm` the
norm of the gradients; both only say how to read the step's value
(:meth:`ReadoutMetric.step_value`) and share the state, the reduction over
the epoch and the reset of :class:`compat_metrics.Metric`.

State: ``reduction="mean"`` keeps ``[weighted total, batch count]`` in one
``(2,)`` variable named ``state`` (Keras's per-step cost grows with the number
of metric variables; see ``benchmarks/training_step.py``);
``reduction="last"`` keeps one scalar ``last`` (``aggregation="mean"``: under
``tf.distribute`` the replicas' values are averaged).

The state is not saved with the model: Keras resets metrics when
``fit``/``evaluate`` start, h5 and ``.keras`` files hold no metric state, and
a Keras 2 SavedModel would otherwise tie loading to the variables' names.
Before this layout ``GradientNorm`` kept ``total`` and ``count``; SavedModels
holding those load (``tests/test_saved_by_previous.py``).
"""

import tensorflow as tf

from .metrics.base import Metric

__all__ = ["REDUCTIONS", "check_reduction", "ReadoutMetric"]

REDUCTIONS = ("mean", "last")


def check_reduction(reduction):
    """Raise ``ValueError`` unless ``reduction`` is one of :data:`REDUCTIONS`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid `reduction` {reduction!r}: expected one of {REDUCTIONS}")


class ReadoutMetric(Metric):
    """Base of the metrics that read a value produced by the step; subclasses implement :meth:`step_value`.

    Args:
        reduction: ``"mean"`` (default): per-batch values averaged over the
            epoch, weighted by batch size, exactly as Keras reports the loss;
            ``"last"``: the value of the last batch.
        name: metric name.
        dtype: dtype of the metric (default ``float32``).
    """

    def __init__(self, reduction="mean", name=None, dtype=None, **kwargs):
        check_reduction(reduction)
        super().__init__(name=name, dtype=dtype or "float32", **kwargs)
        self.reduction = reduction
        if reduction == "mean":
            self.state = self.add_weight(name="state", shape=(2,))
        else:
            self.last = self.add_weight(name="last", aggregation="mean")

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        """Keras 2 checkpoints (SavedModel): the children without the state variables (not saved, see above)."""
        children = super()._trackable_children(save_type, **kwargs)
        state = {id(variable) for variable in self.variables}
        return {name: child for name, child in children.items() if id(child) not in state}

    @property
    def _checkpoint_dependencies(self):
        """The same for TensorFlow before ``_trackable_children`` (TF 2.2-2.8)."""
        state = {id(variable) for variable in self.variables}
        return [dependency for dependency in super()._checkpoint_dependencies if id(dependency.ref) not in state]

    def step_value(self):
        """The scalar value of this step (ordered after the op that produced it)."""
        raise NotImplementedError

    def _sources(self):
        """The trackers (``ComponentTracker``) whose state :meth:`step_value` reads, where known."""
        return []

    # False: a step whose value is not finite is not counted (GradientNorm under a loss-scale optimizer,
    # which skips such a step: its float16 gradients overflowed, the float32 ones are unknown).
    _counts_non_finite = True

    @tf.autograph.experimental.do_not_convert  # plain TF ops; the readers' Python must not be converted
    def update_state(self, y_true, y_pred, sample_weight=None):
        value = tf.cast(self.step_value(), self.dtype)
        counted = None if self._counts_non_finite else tf.math.is_finite(value)
        if counted is not None:
            value = tf.where(counted, value, tf.zeros_like(value))
        if self.reduction == "last":
            return self.last.assign(value if counted is None else tf.where(counted, value, tf.convert_to_tensor(self.last)))
        batch = tf.cast(tf.shape(tf.nest.flatten(y_pred)[0])[0], self.dtype)
        if counted is not None:
            batch = batch * tf.cast(counted, self.dtype)
        return self.state.assign_add(tf.stack([value * batch, batch]))

    def result(self):
        if self.reduction == "last":
            return tf.identity(self.last)
        total, count = tf.unstack(tf.convert_to_tensor(self.state))
        return tf.math.divide_no_nan(total, count)
