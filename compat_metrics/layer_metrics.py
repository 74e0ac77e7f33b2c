"""``Layer.add_metric`` on every version, and metrics over any tensors of a model.

A Keras 2 layer can log a value it computes with
``self.add_metric(value, aggregation="mean", name=...)``. Keras 3 removed
``Layer.add_metric`` (it raises ``NotImplementedError``). :func:`add_metric`
does the same on every version:

- Keras 2 (TF 1.15 graph mode, TF 2.x, ``tf_keras``): Keras's own
  ``Layer.add_metric(value, aggregation="mean", name=name)``.
- Keras 3: a ``keras.metrics.Mean`` owned by the layer, updated with the
  value; Keras 3 lists layer-owned metrics in ``model.metrics``, so it is
  reset each epoch and appears in the logs (``name`` and ``val_name``).

In both, the logged value is the mean over the epoch of every element of the
values passed (a per-sample vector averages over samples, a scalar over
batches), as Keras 2's ``aggregation="mean"`` does.

:class:`MetricLayer` builds on it for metrics whose inputs are not
``(y_true, y_pred)``: several outputs, the model's inputs or intermediate
tensors (e.g. a WARP accuracy computed from three outputs).
"""

import tensorflow as tf

from ._backend import impl

__all__ = ["add_metric", "MetricLayer"]

AGGREGATIONS = ("mean",)


def add_metric(layer, value, name, aggregation="mean"):
    """Log ``value`` as metric ``name`` from inside ``layer.call``; works on Keras 2 and 3.

    Args:
        layer: the layer whose ``call`` is running (``self``).
        value: a tensor: a scalar per batch or per-sample values.
        name: the metric name in the logs (required; ``val_`` prefix for
            validation data).
        aggregation: ``"mean"``, the only aggregation Keras 2 supports for
            tensor values.

    Returns:
        None.

    Raises:
        TypeError: ``value`` is a metric object (pass it to ``compile`` or
            call it and pass the tensor), or ``name`` is missing.
        ValueError: ``aggregation`` is not ``"mean"``.

    Example:
        >>> class DenseLike(keras.layers.Dense):
        ...     def call(self, inputs):
        ...         outputs = super().call(inputs)
        ...         compat_metrics.add_metric(self, tf.reduce_mean(outputs), name="activation_mean")
        ...         return outputs
    """
    if isinstance(value, impl.keras.metrics.Metric):
        raise TypeError(
            f"add_metric({value.name!r}, ...) got a Metric object; Keras 3 cannot attach metric objects to "
            "layers. Pass it to compat_metrics.compile(model, metrics=[...]), or pass a tensor "
            "(e.g. the per-sample values) here.")
    if not isinstance(name, str) or not name:
        raise TypeError(f"add_metric needs a non-empty string name= (the key in the logs), got {name!r}")
    if aggregation not in AGGREGATIONS:
        raise ValueError(
            f"Invalid `aggregation` {aggregation!r} for add_metric({name!r}): only 'mean' is supported on every "
            "version. For sums or other reductions write a compat_metrics.Metric and pass it to "
            "compile.")
    if not isinstance(layer, impl.keras.layers.Layer):
        raise TypeError("add_metric(layer, value, name): the first argument must be the Keras layer "
                        f"whose call() computes value (self), got {type(layer).__name__!r}")
    impl.layer_add_metric(layer, tf.convert_to_tensor(value), name)


class MetricLayer(impl.keras.layers.Layer):
    """A pass-through layer that logs a metric of the tensors it is called on.

    Subclass it and implement ``compute(self, inputs)`` returning a tensor
    (a scalar, or one value per sample). Call the layer on any tensors of a
    functional model (inputs, several outputs, intermediate tensors) and use
    what it returns (the same tensors, unchanged) downstream so that it stays
    in the model. The metric is logged under the layer's ``name`` (default
    the snake-case class name) with :func:`add_metric`, in training and in
    ``evaluate``, on every version. Subclasses are registered, so saved
    models load without ``custom_objects``; constructor arguments go in
    ``get_config`` as for any layer.

    Example:
        >>> class WarpAccuracy(compat_metrics.MetricLayer):
        ...     def compute(self, inputs):
        ...         z, positive, negatives = inputs
        ...         return warp_metrics_x([z, positive, negatives])
        >>> z, positive, negatives = WarpAccuracy(name="warp_accuracy")([z, positive, negatives])
        >>> model = keras.Model(inputs, [z, positive, negatives])
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        impl.register_serializable(cls)

    def compute(self, inputs):
        """Return the metric value for ``inputs`` (a scalar or per-sample values)."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute(self, inputs) returning the metric value"
                                  )

    def __call__(self, inputs, *args, **kwargs):
        # Keras 3 names a model's outputs after the layer that made them: three outputs of this
        # layer would share one name and one per-output loss. Keras 2 names them apart.
        return impl.distinct_output_names(self, super().__call__(inputs, *args, **kwargs))

    def call(self, inputs):
        add_metric(self, tf.cast(self.compute(inputs), tf.float32), name=self.name)
        return tf.nest.map_structure(tf.identity, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


impl.register_serializable(MetricLayer)
