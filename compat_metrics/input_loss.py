"""Losses that need the model's inputs, without closing over the symbolic ``Input``.

``InputLoss.call(inputs, y_true, y_pred)`` receives the inputs of the current
batch. :func:`compat_metrics.compile` binds the loss to the model with the
mechanism the installed version needs:

- TF 1.15 and graph mode: a closure over ``model.inputs``;
- TF 2.0/2.1: the same closure, with ``experimental_run_tf_function=False``;
- TF >= 2.2 (Keras 2, ``tf_keras``): a ``train_step``/``test_step`` hook
  hands each step's ``x`` to the loss; Keras 3: a ``compute_loss`` hook.

Save with ``model.save`` and load with :func:`compat_metrics.load_model`,
which needs no ``custom_objects`` (subclasses are registered by class name)
and binds the loaded loss again.
"""

import tensorflow as tf

from ._backend import impl
from ._config import capture_init_args, init_args_config, loss_from_config

__all__ = ["InputLoss", "input_losses", "bind_input_losses"]


@impl.register_serializable
class InputLoss(impl.Loss):
    """A Keras ``Loss`` whose ``call`` also receives the model's inputs.

    Subclass it and implement ``call(self, inputs, y_true, y_pred)``; ``inputs``
    is one tensor for a single-input model, else a list in ``model.inputs``
    order. Keras's own ``Loss`` machinery (``reduction``, ``sample_weight``)
    applies to what it returns. Compile with :func:`compat_metrics.compile`.
    ``get_config`` returns the arguments the constructor was called with
    (override it for values JSON cannot hold: saving raises a ``ValueError``
    naming the argument otherwise), so saved models load.

    Keras calls ``loss.call(y_true, y_pred)`` (TF 1.15/2.x Keras 2 call it
    directly, not only through ``__call__``): each subclass's three-argument
    ``call`` is kept as ``call_with_inputs`` and ``call`` supplies the inputs.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = capture_init_args(cls.__dict__["__init__"])
        if "call" in cls.__dict__:
            cls.call_with_inputs = cls.__dict__["call"]
            cls.call = InputLoss.call
        impl.register_serializable(cls)

    @capture_init_args
    def __init__(self, name=None, **kwargs):
        super().__init__(name=name or type(self).__name__, **kwargs)
        self._inputs_source = None
        self._bound = False
        self._step_inputs = None

    def _set_inputs_source(self, source):
        self._inputs_source = source
        self._bound = True

    def _set_step_inputs(self, inputs):
        self._step_inputs = inputs

    def _current_inputs(self):
        if self._step_inputs is not None and (self._inputs_source is None or tf.executing_eagerly()):
            return self._step_inputs
        if self._inputs_source is not None:
            return self._inputs_source()
        raise RuntimeError(
            f"{type(self).__name__} needs the model's inputs but is not bound to a model: compile with "
            "compat_metrics.compile(model, loss=...) and load saved models with "
            "compat_metrics.load_model(path).")

    def call_with_inputs(self, inputs, y_true, y_pred):
        """Return the per-sample (or scalar) loss; subclasses implement it as ``call``."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(self, inputs, y_true, y_pred)"
                                  )

    def get_config(self):
        """The constructor arguments (as for :class:`compat_metrics.Metric`) plus Keras's ``name`` and ``reduction``."""
        return init_args_config(self, super().get_config(),
                                overridden=type(self).get_config is not InputLoss.get_config)

    @classmethod
    def from_config(cls, config):
        """Build the loss from ``get_config()``, dropping keys the constructor does not take."""
        return loss_from_config(cls, config)

    def call(self, y_true, y_pred):
        """Keras's two-argument ``call``: adds the current inputs."""
        value = self.call_with_inputs(self._current_inputs(), y_true, y_pred)
        return impl.reducible_loss_value(self, value) if getattr(self, "_reducing", False) else value

    def __call__(self, *args, **kwargs):
        self._reducing = True  # call's value goes to Keras's reduction (see impl.reducible_loss_value)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._reducing = False


def input_losses(loss):
    """The :class:`InputLoss` objects in a ``compile(loss=...)`` argument (one loss, a list or a dict)."""
    if isinstance(loss, dict):
        loss = list(loss.values())
    if not isinstance(loss, (list, tuple)):
        loss = [loss]
    return [item for item in loss if isinstance(item, InputLoss)]


def bind_input_losses(model, loss, only_unbound=False):
    """Bind the input losses in ``loss`` to ``model`` (``only_unbound``: those no model is bound to yet)."""
    for item in input_losses(loss):
        if not (only_unbound and item._bound):
            impl.bind_input_loss(model, item)
