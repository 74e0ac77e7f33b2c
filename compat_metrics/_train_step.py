"""A ``train_step`` body written once for Keras 2 (TF >= 2.2, ``tf_keras``) and Keras 3.

Keras 2 code often overrides ``Model.train_step`` with
``self.compiled_loss(...)`` and ``self.compiled_metrics.update_state(...)``;
Keras 3 replaced both with ``compute_loss``/``compute_metrics`` (and keeps
the loss in its own tracker). :func:`train_step` does one step the way the
installed Keras does it, so an override can add its own work around it:

- Keras 2 from TF 2.8 and ``tf_keras``: ``compute_loss`` and ``compute_metrics``;
  TF 2.2-2.7: ``compiled_loss`` and ``compiled_metrics``.
- Keras 3: ``compute_loss``, the loss tracker, loss scaling, ``compute_metrics``.

Gradients go through ``model.optimizer.apply_gradients``, so
:class:`compat_metrics.GradientNorm` metrics record them. TF 1.15 and TF
2.0/2.1 have no ``train_step`` (Keras never calls it): put the metrics in
:func:`compat_metrics.compile` instead, which needs no override.
"""

import tensorflow as tf

from ._backend import impl

__all__ = ["train_step", "unpack_data"]


def unpack_data(data):
    """Split what ``fit`` hands a step into ``(x, y, sample_weight)`` (missing parts are None)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("train_step data must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of "
                     f"{len(data)} elements")


def train_step(model, data, gradients_hook=None):
    """One training step of ``model`` on ``data``; returns the logs dict.

    Call it from an overridden ``train_step`` (``return compat_metrics.train_step(self, data)``)
    to run code before or after the step without rewriting the version-specific body.

    Args:
        model: a model compiled with a loss (``compat_metrics.compile`` or ``model.compile``).
        data: the argument Keras passed to ``train_step``.
        gradients_hook: optional ``fn(gradients, variables) -> gradients``
            applied before the optimizer (e.g. clipping or logging). With
            Keras 3 loss scaling (mixed precision) these are the gradients of
            the scaled loss, as in Keras 3's own ``train_step``.

    Returns:
        ``{metric name: value}`` as Keras's own ``train_step`` returns it.

    Raises:
        RuntimeError: Keras of this version has no ``train_step`` (TF 1.15, TF 2.0/2.1).

    Example:
        >>> class CustomModel(keras.Model):
        ...     def train_step(self, data):
        ...         logs = compat_metrics.train_step(self, data)
        ...         return logs
    """
    impl.check_train_step()  # before the model is called (and built) for nothing
    x, y, sample_weight = unpack_data(data)
    variables = list(model.trainable_weights)
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = impl.step_loss(model, x, y, y_pred, sample_weight)
    if variables:
        gradients = tape.gradient(loss, variables)
        if gradients_hook is not None:
            gradients = list(gradients_hook(gradients, variables))
        model.optimizer.apply_gradients(zip(gradients, variables))
    return impl.step_metrics(model, x, y, y_pred, sample_weight)
