"""Losses that need the model's inputs (seed 003's ``LocLoss(inputs, ...)``).

``InputLoss.call(inputs, y_true, y_pred)`` receives the inputs of the current
batch. :func:`compat_metrics.compile` binds the loss to the model with the
mechanism the installed version needs:

- TF 1.15 and graph mode: a closure over ``model.inputs``;
- TF 2.0/2.1: the same closure, with ``experimental_run_tf_function=False``;
- TF >= 2.2 (Keras 2, ``tf_keras``) and Keras 3: a ``train_step``/
  ``test_step`` hook hands each step's ``x`` to the loss.

Save with ``model.save`` and load with :func:`compat_metrics.load_model`,
which needs no ``custom_objects`` (subclasses are registered by class name)
and binds the loaded loss again.
"""

import tensorflow as tf

from ._backend import impl

__all__ = ["InputLoss"]

_REDUCTIONS = ("sum_over_batch_size", "sum", "none")


@impl.register_serializable
class InputLoss(impl.Loss):
    """A Keras ``Loss`` whose ``call`` also receives the model's inputs.

    Subclass it and implement ``call(self, inputs, y_true, y_pred)``; ``inputs``
    is one tensor for a single-input model, else a list in ``model.inputs``
    order. Compile with :func:`compat_metrics.compile`. Constructor arguments
    must be returned by ``get_config`` to survive save/load, as for any Keras
    loss.

    Args:
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"`` or ``"none"``,
            applied to what ``call`` returns, after ``sample_weight``.
        name: the loss name.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        impl.register_serializable(cls)

    def __init__(self, reduction="sum_over_batch_size", name=None, **kwargs):
        if reduction not in _REDUCTIONS:
            raise ValueError("Invalid `reduction` {!r}: expected one of {}".format(reduction, _REDUCTIONS))
        super(InputLoss, self).__init__(name=name or type(self).__name__, **kwargs)
        self.input_reduction = reduction
        self._inputs_source = None
        self._bound = False
        self._step_inputs = None

    def _set_inputs_source(self, source):
        self._inputs_source = source
        self._bound = True

    def _set_step_inputs(self, inputs):
        self._step_inputs = inputs

    def _current_inputs(self):
        if self._inputs_source is not None:
            return self._inputs_source()
        if self._step_inputs is not None:
            return self._step_inputs
        raise RuntimeError(
            "{} needs the model's inputs but is not bound to a model: compile with "
            "compat_metrics.compile(model, loss=...) and load saved models with "
            "compat_metrics.load_model(path).".format(type(self).__name__))

    def call(self, inputs, y_true, y_pred):
        """Return the per-sample (or scalar) loss for ``inputs``, ``y_true``, ``y_pred``."""
        raise NotImplementedError("{} must implement call(self, inputs, y_true, y_pred)"
                                  .format(type(self).__name__))

    def __call__(self, y_true, y_pred, sample_weight=None):
        with tf.name_scope(self.name):
            losses = tf.convert_to_tensor(self.call(self._current_inputs(), y_true, y_pred))
            losses = tf.cast(losses, tf.float32)
            if sample_weight is not None:
                sample_weight = tf.cast(sample_weight, losses.dtype)
                if losses.shape.ndims is not None and losses.shape.ndims > 0:
                    while sample_weight.shape.ndims is not None and sample_weight.shape.ndims > losses.shape.ndims:
                        sample_weight = tf.squeeze(sample_weight, -1)
                losses = losses * sample_weight
            if self.input_reduction == "none":
                return losses
            total = tf.reduce_sum(losses)
            if self.input_reduction == "sum":
                return total
            return total / tf.cast(tf.size(losses), losses.dtype)

    def get_config(self):
        config = super(InputLoss, self).get_config()
        config.pop("reduction", None)
        config["reduction"] = self.input_reduction
        return config
