"""Keras 3 (TF >= 2.16 without ``TF_USE_LEGACY_KERAS``).

Differences handled here: ``compile`` raises ``TypeError`` on
``experimental_run_tf_function`` (dropped, with a warning); ``add_weight``
takes ``shape`` first (only keywords are used); there is no graph mode;
models save as ``.keras`` only; input-dependent losses get their inputs from a
``compute_loss`` hook; a metric's ``dtype`` defaults to ``floatx()`` (Keras
3.0-3.2 leave it None, and ``tf.cast(x, self.dtype)`` fails).

Older Keras 3 releases are brought to what later ones do, each where its
capability flag says so: metric variables' ``assign*`` return the value and
``float()`` works on them; ``model.metrics`` lists the layer metrics of
``add_metric``; Keras's own steps weigh the epoch loss by batch size; a
model slicing a tensor loads; gradient norms under ``tf.distribute`` are
the whole batch's.
"""

import contextlib
import functools

import numpy as np
import tensorflow as tf

from .. import _capabilities as caps
from .. import runtime
from ._common import compiled_loss_objects, install_input_hook, register_serializable, state_variable, warn_once  # noqa: F401
from ._gradients import (  # noqa: F401
    compiled_metric_objects,
    hook_apply_gradients,
    hook_test_gradients,
    skips_non_finite_steps,
)
from ._hooks import state, wrap

keras = runtime.keras
Loss = keras.losses.Loss


class Metric(keras.metrics.Metric):
    """Keras 3's ``Metric`` with ``dtype`` defaulting to ``floatx()`` (Keras 3.0-3.2 leave it None)."""

    def __init__(self, dtype=None, name=None, **kwargs):
        super().__init__(dtype=dtype or keras.backend.floatx(), name=name, **kwargs)


RUN_TF_FUNCTION_FLAG = "experimental_run_tf_function"
ACCEPTS_AUTO_REDUCTION = False  # Loss(reduction="auto"), which Keras 2 saves
HONOURS_RUN_TF_FUNCTION = False

MECHANISMS = {
    "graph_mode": "not available (Keras 3 has no graph mode): clear error",
    "loss_components": "control dependency on a variable assignment",
    RUN_TF_FUNCTION_FLAG: "dropped with a warning (Keras 3 raises TypeError)",
    "input_loss": "compute_loss input hook",
    "reset": "reset_state (reset_states provided by compat_metrics)",
    "gradient_norm": "optimizer.apply_gradients hook; compute_loss on a tape in test_step",
    "layer_add_metric": "a Mean owned by the layer (Keras 3 removed Layer.add_metric)",
    "train_step_helper": "compute_loss, loss tracker, scale_loss, compute_metrics",
    "distributed_metrics": "Keras's own from Keras 3.10; before, NotImplementedError at compile "
                           "(those releases count part of each batch)",
    "metrics_per_output": "Keras's own: entry i of a list with one entry per output goes to output i; "
                          "per-class views stay with their output; a ConfusionMatrix read by two outputs: "
                          "ValueError at compile, or at the first step if the outputs were unknown",
    "older_keras3": "Keras 3.0-3.4 brought to later releases: assign returns the value, float() of a "
                    "variable, layer metrics in model.metrics, loss weighted by batch size, sliced inputs load",
    "validation_batches": "in order (Keras's own)",
}


def add_weight(layer, name, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
    """``Metric.add_variable`` with keywords only (Keras 3 takes ``shape`` first).

    The variable behaves as a later Keras 3's does (:func:`_as_later_keras`).
    """
    if caps.KERAS3_VARIABLE_AGGREGATION:
        variable = layer.add_variable(shape=shape, initializer=initializer, dtype=dtype,
                                      aggregation=aggregation, name=name)
    else:  # Keras 3.0: no aggregation argument, and no default dtype
        variable = layer.add_variable(shape=shape, initializer=initializer, dtype=dtype or layer.dtype, name=name)
    return _as_later_keras(variable)


class _AssignReturnsValue:
    """``assign``, ``assign_add`` and ``assign_sub`` return the assigned value, as from Keras 3.5 on.

    Keras 3.0-3.4 return None, so the common ``with tf.control_dependencies([v.assign_add(x)])``
    and ``return v.assign_add(x)`` of metric code fail ("Can not convert a NoneType").
    """

    def assign(self, value):
        value = self._convert_to_tensor(value, dtype=self.dtype)
        super().assign(value)
        return value

    def assign_add(self, value):
        return self.assign(self + value)

    def assign_sub(self, value):
        return self.assign(self - value)


class _ConvertsToPython:
    """``float()`` and ``int()`` of a scalar variable, as later Keras 3 (not 3.0-3.2) allow.

    Keras 3.0-3.2 also keep a ``result()`` that returns a variable in the logs
    as the variable itself (their ``float(value)`` fails), so every epoch of
    ``History`` would show the last value.
    """

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def _scalar(self):
        if self.ndim > 0:
            raise TypeError(f"Only scalar arrays can be converted to Python scalars. Got: shape={self.shape}")
        return np.asarray(self)


_LATER_KERAS_BASES = tuple(
    mixin for mixin, needed in ((_AssignReturnsValue, not caps.KERAS3_ASSIGN_RETURNS_VALUE),
                                (_ConvertsToPython, not caps.KERAS3_VARIABLE_FLOAT))
    if needed)
_later_keras_classes = {}


def _as_later_keras(variable):
    """``variable``, with what later Keras 3 variables do and the installed one does not (its class
    becomes a subclass adding only that); unchanged where nothing is missing."""
    if not _LATER_KERAS_BASES:
        return variable
    cls = type(variable)
    if issubclass(cls, _LATER_KERAS_BASES):
        return variable
    later = _later_keras_classes.get(cls)
    if later is None:
        later = _later_keras_classes[cls] = type(cls.__name__, _LATER_KERAS_BASES + (cls,),
                                                 {"__module__": cls.__module__})
    variable.__class__ = later
    return variable


def new_state_variable(name, dtype):
    """Create a tracked-component variable (eager; Keras 3 has no graph mode)."""
    return state_variable(name, dtype)


def compile_kwargs(kwargs, needs_model_step_outside_tf_function):
    """Return the ``compile`` keyword arguments Keras 3 accepts."""
    kwargs = dict(kwargs)
    if RUN_TF_FUNCTION_FLAG in kwargs:
        kwargs.pop(RUN_TF_FUNCTION_FLAG)
        warn_once("etf-dropped", "compat_metrics: dropped experimental_run_tf_function: "
                  f"{caps.STACK} raises TypeError for it (Keras 3 always runs tf.function)."
                  )
    return kwargs


def bind_input_loss(model, loss):
    """Give ``loss`` access to the inputs of each step of ``model``."""
    install_input_hook(model, loss, ("compute_loss",))
    loss._set_inputs_source(None)


def load_model(path, compile_fn, custom_objects=None, compile=True, **kwargs):  # noqa: A002
    """Load a ``.keras`` (or legacy ``.h5``) file; Keras compiles it from its saved config."""
    with _slices_load():
        if str(path).endswith((".h5", ".hdf5")):
            with _ReadableH5(path) as readable:
                return keras.models.load_model(readable, custom_objects=custom_objects, compile=compile, **kwargs)
        return keras.models.load_model(path, custom_objects=custom_objects, compile=compile, **kwargs)


@contextlib.contextmanager
def _slices_load():
    """Keras 3.0-3.1: while loading, ``GetItem`` takes the list key its saved config holds.

    A functional model that slices a tensor (``inputs[:, :3]``) saves the key
    as a list; ``GetItem.call`` turns it back into a tuple, but these
    versions' ``compute_output_spec``, which rebuilding the model calls
    first, refuses lists. Keras >= 3.2 takes them as tuples, as done here.
    """
    if caps.KERAS3_LOADS_SLICED_TENSORS:
        yield
        return
    from keras.src.ops.numpy import GetItem
    keras_spec = GetItem.__dict__["compute_output_spec"]

    def compute_output_spec(self, x, key):
        return keras_spec(self, x, tuple(key) if isinstance(key, list) else key)

    GetItem.compute_output_spec = compute_output_spec
    try:
        yield
    finally:
        GetItem.compute_output_spec = keras_spec


def _without_initializer_dtypes(config):
    """``config`` without the ``dtype`` that TF 1.15 wrote into initializer configs; and whether it had one."""
    found = False
    if isinstance(config, dict):
        result = {}
        for key, value in config.items():
            if (key.endswith("_initializer") and isinstance(value, dict) and isinstance(value.get("config"), dict)
                    and "dtype" in value["config"]):
                value = dict(value, config={k: v for k, v in value["config"].items() if k != "dtype"})
                found = True
            value, inner = _without_initializer_dtypes(value)
            result[key], found = value, found or inner
        return result, found
    if isinstance(config, list):
        items = [_without_initializer_dtypes(item) for item in config]
        return [item for item, _ in items], any(inner for _, inner in items)
    return config, False


class _ReadableH5:
    """The h5 file, or a temporary copy without what Keras 3 refuses in TF 1.15 files.

    TF 1.15 saved ``dtype`` in initializer configs (``GlorotUniform(dtype=...)``),
    which Keras 3's initializers do not take: the copy drops it, nothing else.
    """

    def __init__(self, path):
        self.path = str(path)
        self.folder = None

    def __enter__(self):
        import json
        import os
        import shutil
        import tempfile

        import h5py
        with h5py.File(self.path, "r") as f:
            raw = f.attrs.get("model_config")
        if raw is None:
            return self.path
        config, found = _without_initializer_dtypes(json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw))
        if not found:
            return self.path
        self.folder = tempfile.mkdtemp(prefix="compat_metrics_h5_")
        copy = os.path.join(self.folder, os.path.basename(self.path))
        shutil.copyfile(self.path, copy)
        with h5py.File(copy, "r+") as f:
            f.attrs["model_config"] = json.dumps(config).encode("utf-8")
        return copy

    def __exit__(self, *exc_info):
        if self.folder is not None:
            import shutil
            shutil.rmtree(self.folder, ignore_errors=True)
        return False


def bind_gradient_recorder(model, record):
    """Hand the gradients of each step of ``model`` to ``record``.

    Training: ``optimizer.apply_gradients`` (called by Keras 3's
    ``train_step``); ``evaluate``: ``compute_loss`` on a tape in ``test_step``.
    """
    unscaled = not caps.KERAS3_SCALES_REPLICA_LOSSES  # Keras 3.0-3.2: replicas' gradients of whole losses
    hook_apply_gradients(model, record, unscale=_unscaled_gradients, replica_losses_unscaled=unscaled)
    hook_test_gradients(model, record, replica_losses_unscaled=unscaled)


def _unscaled_gradients(optimizer, grads_and_vars):
    """Undo ``optimizer.scale_loss``: Keras 3's ``train_step`` differentiates the scaled loss.

    A ``LossScaleOptimizer`` (mixed precision) or ``loss_scale_factor``
    multiplies the loss; the optimizer divides the gradients again when it
    applies them. ``scale_loss(1)`` is that factor at this step.
    """
    one = tf.constant(1.0)
    scale = optimizer.scale_loss(one)
    if scale is one:
        return grads_and_vars
    return [(_divide(gradient, scale), variable) for gradient, variable in grads_and_vars]


def _divide(gradient, scale):
    if gradient is None:
        return None
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values / tf.cast(scale, gradient.values.dtype),
                                gradient.indices, gradient.dense_shape)
    return gradient / tf.cast(scale, gradient.dtype)


_LAYER_METRICS = "layer_metrics"  # saved by Keras 3 under _compat_metrics_layer_metrics


def layer_add_metric(layer, value, name):
    """Keras 3 removed ``Layer.add_metric``: update a ``Mean`` the layer owns.

    The metric is created on first use, outside any traced function, and
    appended to the layer's metric list (the layer's attribute tracker is
    locked once the layer is built), so ``model.metrics`` lists it: Keras
    resets it each epoch and reports it in the logs.
    """
    own = state(layer, _LAYER_METRICS, dict)
    metric = own.get(name)
    if metric is None:
        with tf.init_scope():
            metric = keras.metrics.Mean(name=name)
        own[name] = metric
        layer._metrics.append(metric)
    metric.update_state(value)


def _list_layer_metrics_in_models():
    """Keras 3.0-3.2: ``model.metrics`` also lists the metrics :func:`layer_add_metric` gave its sublayers.

    From Keras 3.3 (keras#19522) ``model.metrics`` lists every metric its
    sublayers own; before, only the model's own, so a layer's metric would
    be neither reported in the logs nor reset each epoch. Only the metrics
    the library made are added: other models' metrics stay as Keras lists them.
    """
    owner = next(klass for klass in keras.Model.__mro__ if isinstance(klass.__dict__.get("metrics"), property))
    keras_metrics = owner.__dict__["metrics"]
    if getattr(keras_metrics.fget, "_compat_metrics_layer_metrics", False):
        return

    def metrics(self):
        found = list(keras_metrics.fget(self))
        listed = {id(metric) for metric in found}
        for layer in self._flatten_layers(include_self=False):
            for metric in (state(layer, _LAYER_METRICS) or {}).values():
                if id(metric) not in listed:
                    listed.add(id(metric))
                    found.append(metric)
        return found

    metrics._compat_metrics_layer_metrics = True
    owner.metrics = property(metrics, keras_metrics.fset, keras_metrics.fdel, keras_metrics.__doc__)


if not caps.KERAS3_LAYER_METRICS_IN_MODEL:
    _list_layer_metrics_in_models()


def _weigh_loss_by_batch_size():
    """Keras 3.0-3.1: the ``loss`` of Keras's own ``train_step``/``test_step`` is weighted by batch size.

    Their loss tracker averages the batches' losses, so a smaller last batch
    counts as much as a full one; Keras 2 and Keras >= 3.2 weigh each batch
    by its number of samples (the per-sample mean over the epoch). While
    Keras's step runs, the tracker's ``update_state(loss)`` gets the batch
    size as its ``sample_weight``, as Keras 3.2 passes it.
    """
    owner = next(klass for klass in keras.Model.__mro__ if "train_step" in klass.__dict__)
    from keras.src.trainers.data_adapters.data_adapter_utils import unpack_x_y_sample_weight

    def weighted(keras_step):
        if getattr(keras_step, "_compat_metrics_weighted", False):
            return keras_step

        def step(self, data):
            tracker = getattr(self, "_loss_tracker", None)
            present = [item for item in tf.nest.flatten(unpack_x_y_sample_weight(data)[0]) if item is not None]
            if tracker is None or not present or "update_state" in tracker.__dict__:
                return keras_step(self, data)
            batch = tf.shape(present[0])[0]
            update_state = tracker.update_state

            def update_by_samples(values, sample_weight=None):
                return update_state(values, sample_weight=batch if sample_weight is None else sample_weight)

            object.__setattr__(tracker, "update_state", update_by_samples)
            try:
                return keras_step(self, data)
            finally:
                object.__delattr__(tracker, "update_state")

        functools.update_wrapper(step, keras_step)
        step._compat_metrics_weighted = True
        return step

    for name in ("train_step", "test_step"):
        setattr(owner, name, weighted(owner.__dict__[name]))


if not caps.KERAS3_LOSS_MEAN_BY_SAMPLES:
    _weigh_loss_by_batch_size()


_OUTPUT_LAYERS = "output_layers"


def distinct_output_names(layer, outputs):
    """Give the 2nd, 3rd, ... symbolic outputs of ``layer`` their own ``Identity`` layer.

    Keras 3 names a functional model's outputs after the layer that produced
    them, so ``z, p, n = MetricLayer(name="m")([z, p, n])`` as the model's
    outputs would all be ``m``: their per-output losses and metrics collapse
    into one entry holding the last output's value. Keras 2 names them ``m``,
    ``m_1``, ``m_2``; the ``Identity`` layers carry those names here.
    """
    if not isinstance(outputs, (list, tuple)) or len(outputs) < 2:
        return outputs
    if not all(isinstance(item, keras.KerasTensor) for item in outputs):
        return outputs
    own = state(layer, _OUTPUT_LAYERS, dict)
    renamed = [outputs[0]]
    for index, item in enumerate(outputs[1:], start=1):
        if index not in own:
            own[index] = keras.layers.Identity(name=f"{layer.name}_{index}")
        renamed.append(own[index](item))
    return type(outputs)(renamed)


_REPLICA_SCALED_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def reducible_loss_value(loss, value):
    """A scalar ``call`` result as one value in a vector, which Keras 3 reduces as it does per-sample values.

    Keras 3 returns a scalar ``call`` result unreduced, so under
    ``tf.distribute`` it skips the division by the number of replicas: with
    two replicas a ComponentLoss's logged loss and applied gradient were
    twice the one-device values (loss 2.409 where one device gives 1.204).
    """
    if loss.reduction in _REPLICA_SCALED_REDUCTIONS and len(getattr(value, "shape", (None,))) == 0:
        return tf.reshape(value, [1])
    return value


def check_layer_metrics(model):
    """Keras 3 logs the mean of every call of a layer's metric, nested models included: nothing to check."""


def check_step_overrides(model):
    """Keras 3 calls ``train_step``/``test_step`` overrides: nothing to check."""


def check_distributed_metrics(model):
    """Raise ``NotImplementedError`` where this Keras 3 would report metrics of part of each batch.

    Under ``tf.distribute`` with several replicas, Keras 3 before 3.10 report
    metric values (Keras's own and the library's) that differ from the same
    model's on one device (:data:`~compat_metrics._capabilities.DISTRIBUTED_METRICS`).
    """
    if caps.DISTRIBUTED_METRICS:
        return
    strategy = getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
    if strategy.num_replicas_in_sync > 1:
        raise NotImplementedError(
            f"Invalid use of tf.distribute with {caps.STACK}: with "
            f"{strategy.num_replicas_in_sync} replicas, Keras before 3.10 reports metric values (its own "
            "and compat_metrics') from part of each batch, so they would differ from one device's. "
            "Upgrade Keras (pip install 'keras>=3.10'), or compile and train without the strategy.")


def _model_outputs(model):
    """The model's outputs where compile can know them (functional and built models), else None."""
    try:
        return list(model.outputs or []) or None
    except (AttributeError, ValueError):  # a subclassed model before its first call
        return None


def metrics_per_output(model, kwargs):
    """Give a ``metrics`` list one list per output where Keras 3 gives entry i to output i.

    Keras 3 maps a list with one entry per output of a multi-output model to
    the outputs, entry by entry (Keras 2 gave every entry to every output).
    Written as one list per output, the library's per-class views of a score
    stay with its output, and a ``ConfusionMatrix`` shared by two entries is
    refused at compile. A list of another length that holds an
    ``average=None`` score (which the library turns into one view per class)
    is refused here, naming the forms that work.
    """
    from ..metrics.per_class import has_vector_metrics, per_output  # here: the metrics import this module
    outputs = _model_outputs(model)
    if outputs is None or len(outputs) < 2:
        return kwargs
    kwargs = dict(kwargs)
    for key in ("metrics", "weighted_metrics"):
        value = kwargs.get(key)
        if not isinstance(value, (list, tuple)) or per_output(value):
            continue
        if len(value) == len(outputs):
            kwargs[key] = [None if item is None else [item] for item in value]
        elif has_vector_metrics(value):
            names = getattr(model, "output_names", None) or [f"output_{index}" for index in range(len(outputs))]
            example = ", ".join(f"{name!r}: [...]" for name in names)
            raise ValueError(
                f"Invalid `{key}` for a model with {len(outputs)} outputs: Keras 3 gives entry i of a list to "
                f"output i, so the list needs {len(outputs)} entries (Keras 2 gave every entry to every output). "
                f"Give a dict keyed by output name, {{{example}}}, or one list per output. "
                f"Received: {key}={value!r}")
    return kwargs


def compiled_metric_arguments(model):
    """``{"metrics": ..., "weighted_metrics": ...}`` as given to compile (None before compile)."""
    holder = model.__dict__.get("_compile_metrics")
    if holder is None:
        return None
    return {"metrics": holder._user_metrics, "weighted_metrics": holder._user_weighted_metrics}


def rebuild_compiled_metrics(model, build):
    """Replace the metrics of :func:`compiled_metric_arguments` with ``build(arguments)``; ``CompileMetrics``
    builds again at the next step."""
    arguments = build(compiled_metric_arguments(model))
    holder = model._compile_metrics
    holder._user_metrics, holder._user_weighted_metrics = arguments["metrics"], arguments["weighted_metrics"]
    holder.built = False


_BUILT_SLOTS = (("metrics", "_flat_metrics"), ("weighted_metrics", "_flat_weighted_metrics"))
# Ends the error of a ConfusionMatrix read in two compile slots.
SHARING_HINT = (" (on Keras 3 a list with one entry per output gives entry i to output i: give a dict keyed by "
                "output name, or one list per output)")


def check_metric_outputs(model):
    """After Keras builds the compiled metrics (first step), refuse a ``ConfusionMatrix`` read by two outputs.

    The net under :func:`metrics_per_output` for models whose outputs compile
    could not see (subclassed models): the same check, once Keras has given
    each metric its output.
    """
    holder = getattr(model, "_compile_metrics", None)
    if holder is not None:
        wrap(holder, "build", "metric_outputs", functools.partial(_check_built_metrics, holder), "checks")


def _check_built_metrics(holder, call_next, *args, **kwargs):
    from ..metrics.per_class import refuse_sharing_across_slots  # here: the metrics import this module
    built = call_next(*args, **kwargs)
    slots = []
    for key, attribute in _BUILT_SLOTS:
        for index, metrics_list in enumerate(getattr(holder, attribute, None) or []):
            output = getattr(metrics_list, "output_name", None) or index
            slots.extend((f"{key}[{output!r}]", metric) for metric in getattr(metrics_list, "metrics", None) or [])
    refuse_sharing_across_slots(slots, hint=SHARING_HINT)
    return built


def check_train_step():
    """Keras 3 always has ``Model.train_step``: nothing to check."""


def _find_unscale_loss_for_distribution():
    """Keras 3's undoing of the per-replica loss scaling (newer Keras 3 only; else identity).

    Where Keras divides each replica's loss by the number of replicas, its
    ``train_step`` multiplies it back before updating the loss tracker.
    """
    try:
        from keras.src.losses import loss as loss_module
    except ImportError:  # pragma: no cover - Keras 3 without keras.src
        loss_module = None
    return getattr(loss_module, "unscale_loss_for_distribution", None) or (lambda loss: loss)


_unscale_loss_for_distribution = _find_unscale_loss_for_distribution()


def step_loss(model, x, y, y_pred, sample_weight):
    """Keras 3's training loss: ``compute_loss``, the loss tracker, then loss scaling."""
    compute_loss = getattr(model, "_compute_loss", None) or model.compute_loss  # passes training= only if accepted
    training = {"training": True} if caps.KERAS3_COMPUTE_LOSS_TRAINING else {}
    loss = compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, **training)
    tracker = getattr(model, "_loss_tracker", None)
    if tracker is not None:
        batch = tf.shape([item for item in tf.nest.flatten(x) if item is not None][0])[0]
        tracker.update_state(_unscale_loss_for_distribution(loss), sample_weight=batch)
    if model.optimizer is not None and hasattr(model.optimizer, "scale_loss"):
        loss = model.optimizer.scale_loss(loss)
    return loss


def step_metrics(model, x, y, y_pred, sample_weight):
    """Update the compiled metrics and return the logs (``compute_metrics``)."""
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
