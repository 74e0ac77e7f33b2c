"""Keras 2: ``tf.keras`` in TF 2.0-2.15, and the ``tf_keras`` package.

Differences inside this family, all handled here:
- TF 2.0/2.1 honour ``compile(experimental_run_tf_function=False)``; it is the
  only way a loss can close over the model's symbolic inputs there.
- TF >= 2.2 pops the flag and always runs ``tf.function``; input-dependent
  losses get their inputs from a ``train_step``/``test_step`` hook instead.
- With eager execution disabled (``tf.compat.v1.disable_v2_behavior()``) this
  is graph mode, exactly as on TF 1.15.
"""

import importlib

import tensorflow as tf

from .. import _capabilities as caps
from .. import runtime
from .._capabilities import HAS_TRAIN_STEP, HONOURS_RUN_TF_FUNCTION  # noqa: F401  (named in MECHANISMS)
from ._common import (  # noqa: F401
    compiled_loss_objects,
    install_input_hook,
    model_inputs,
    refuse_layer_metrics,
    register_serializable,
    state_variable,
    validation_batches_in_order,
    warn_once,
)
from ._gradients import (  # noqa: F401
    compiled_metric_objects,
    gradients_before_clipping,
    hook_apply_gradients,
    hook_test_gradients,
    record_graph_gradients,
    skips_non_finite_steps,
)
from ._hooks import wrap

keras = runtime.keras
Loss = keras.losses.Loss
Metric = keras.metrics.Metric

RUN_TF_FUNCTION_FLAG = "experimental_run_tf_function"
ACCEPTS_AUTO_REDUCTION = True  # Loss(reduction="auto"), which Keras 2 saves
_backend_module = importlib.import_module(keras.backend.variable.__module__)

validation_batches_in_order()  # TF 2.0/2.1's graph path and graph mode shuffle them in fit

MECHANISMS = {
    "graph_mode": "supported (Keras 2)",
    "loss_components": "control dependency on a variable assignment",
    RUN_TF_FUNCTION_FLAG: ("kept (TF 2.0/2.1 honour it)" if HONOURS_RUN_TF_FUNCTION
                           else "dropped with a warning (TF >= 2.2 ignores it)"),
    "input_loss": ("closure over model.inputs with experimental_run_tf_function=False "
                   "(run_eagerly: the inputs of the last model call)"
                   if HONOURS_RUN_TF_FUNCTION else "train_step/test_step input hook"),
    "reset": "reset_states (reset_state too from TF 2.5)",
    "gradient_norm": ("gradients of total_loss built at compile time (experimental_run_tf_function=False)"
                      if HONOURS_RUN_TF_FUNCTION
                      else "optimizer.apply_gradients hook (before clipping: TF 2.2/2.3 clip first, so "
                           "there from optimizer._clip_gradients); the test_step loss on a tape "
                           "(compute_loss; compiled_loss before TF 2.8)"),
    "layer_add_metric": "Layer.add_metric (Keras's own)",
    "train_step_helper": ("not available (no Model.train_step): clear error" if HONOURS_RUN_TF_FUNCTION
                          else "compute_loss/compute_metrics (compiled_loss/compiled_metrics before TF 2.8)"),
    "distributed_metrics": "Keras's own",
    "metrics_per_output": "Keras's own: a metrics list goes to every output, a copy per output",
    "validation_batches": ("in order: fit's validation loop of the graph path, which shuffles them, "
                           "patched once" if HONOURS_RUN_TF_FUNCTION
                           else "in order (Keras's own; graph mode: patched as on TF 1.15)"),
}


def add_weight(layer, name, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
    """``Layer.add_weight`` with keywords only (Keras 2 takes ``name`` first)."""
    return layer.add_weight(
        name=name, shape=shape, initializer=initializer, dtype=dtype,
        aggregation=getattr(tf.VariableAggregation, aggregation.upper()))


def new_state_variable(name, dtype):
    """Create a tracked-component variable; in graph mode Keras initialises it."""
    if runtime.in_graph_mode():
        variable = tf.compat.v1.Variable(
            tf.zeros((), dtype=dtype), trainable=False, name=name, use_resource=True,
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.MEAN)
        # Keras's session only initialises variables it knows of, including
        # after keras.backend.clear_session().
        _backend_module.track_variable(variable)
        return variable
    return state_variable(name, dtype)


def compile_kwargs(kwargs, needs_model_step_outside_tf_function):
    """Return the ``compile`` keyword arguments this Keras accepts.

    ``needs_model_step_outside_tf_function``: an input loss or a gradient norm
    is compiled, which TF 2.0/2.1 can only run with ``experimental_run_tf_function=False``.
    """
    kwargs = dict(kwargs)
    if HONOURS_RUN_TF_FUNCTION:
        if needs_model_step_outside_tf_function and not runtime.in_graph_mode():
            if kwargs.get(RUN_TF_FUNCTION_FLAG, False):
                warn_once("etf-forced", "compat_metrics: experimental_run_tf_function=True "
                          f"replaced by False: on {caps.STACK} a loss that uses the model's inputs, "
                          "or a GradientNorm metric, only runs without tf.function."
                          )
            kwargs[RUN_TF_FUNCTION_FLAG] = False
        return kwargs
    if RUN_TF_FUNCTION_FLAG in kwargs:
        kwargs.pop(RUN_TF_FUNCTION_FLAG)
        warn_once("etf-dropped", "compat_metrics: dropped experimental_run_tf_function: "
                  f"{caps.STACK} ignores it (since TF 2.2 Keras always runs training in "
                  "tf.function).")
    return kwargs


def bind_input_loss(model, loss):
    """Give ``loss`` access to the inputs of each step of ``model``."""
    if runtime.in_graph_mode() or HONOURS_RUN_TF_FUNCTION:
        inputs = model_inputs(model)
        loss._set_inputs_source(lambda: inputs)
        if HONOURS_RUN_TF_FUNCTION and not runtime.in_graph_mode():
            install_input_hook(model, loss, ("call",))  # for run_eagerly=True
    else:
        install_input_hook(model, loss, ("train_step", "test_step"))
        loss._set_inputs_source(None)


def load_model(path, compile_fn, custom_objects=None, compile=True, **kwargs):  # noqa: A002
    """Load a model saved by Keras; re-bind input losses through ``compile_fn``."""
    if compile and not caps.SAVED_MODEL_FORMAT and not _is_h5(path):
        raise ValueError(
            f"Invalid path for {caps.STACK}: {path} is a SavedModel directory, which this Keras loads without "
            "the metrics it was compiled with (their keys vanish from evaluate and fit). Save the model as h5 "
            "(model.save('model.h5')) and load that.")
    if compile and (runtime.in_graph_mode() or HONOURS_RUN_TF_FUNCTION) and _is_h5(path):
        # Keras compiles while loading and, in graph mode, builds the loss at
        # once, before the loss could be given the model's inputs: compile here.
        model = keras.models.load_model(path, custom_objects=custom_objects, compile=False, **kwargs)
        compile_args = _saved_compile_args(path, custom_objects)
        if compile_args is not None:
            compile_fn(model, **compile_args)
        return model
    try:
        return keras.models.load_model(path, custom_objects=custom_objects, compile=compile, **kwargs)
    except AssertionError as error:
        if _is_h5(path) or "not bound to checkpointed values" not in str(error):
            raise
        raise ValueError(_shared_matrix_saved_model(path)) from error


def _shared_matrix_saved_model(path):
    if caps.LOAD_ALLOWS_PARTIAL_CHECKPOINT:
        fix = ("load it with compat_metrics.load_model(path, options=tf.saved_model.LoadOptions("
               "allow_partial_checkpoint=True)), which leaves only those metrics' running state unrestored "
               "(compile starts it at zero anyway)")
    else:
        fix = "build the model in code and load its weights (model.load_weights(path + '/variables/variables'))"
    return (f"Invalid SavedModel for {caps.STACK}: {path} holds metrics that share a ConfusionMatrix (the "
            "per-class views of an average=None score, or scores given one confusion_matrix=), and Keras 2 "
            "revives each of them with a matrix of its own, which the SavedModel does not hold. To load this "
            f"directory, {fix}. Save new models as h5 (model.save('model.h5')), which loads as it is.")


def _is_h5(path):
    import os
    return not os.path.isdir(path)


def _saved_compile_args(path, custom_objects=None):
    import json

    import h5py
    with h5py.File(path, "r") as f:
        raw = f.attrs.get("training_config")
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    package = keras.models.load_model.__module__.rsplit(".", 1)[0]
    try:
        saving_utils = importlib.import_module(package + ".saving_utils")
    except ImportError:
        saving_utils = importlib.import_module(package + ".legacy.saving_utils")
    with keras.utils.custom_object_scope(custom_objects or {}):
        return saving_utils.compile_args_from_training_config(json.loads(raw), custom_objects)


def bind_gradient_recorder(model, record):
    """Hand the gradients of each step of ``model`` to ``record``.

    Graph mode and TF 2.0/2.1 (compiled with ``experimental_run_tf_function=False``
    by :func:`compat_metrics.compile`): gradients of ``model.total_loss``
    built at compile time. TF >= 2.2: ``optimizer.apply_gradients`` in
    training, the loss (``compute_loss``, ``compiled_loss`` before TF 2.8) on a tape in ``test_step``.
    """
    if HONOURS_RUN_TF_FUNCTION and (tf.distribute.has_strategy() or getattr(model, "_distribution_strategy", None)):
        raise NotImplementedError(
            f"GradientNorm under tf.distribute needs TF >= 2.2: {caps.STACK} records the gradients in "
            "its graph code path, which does not run under a distribution strategy. Train without "
            "the strategy, or upgrade TensorFlow.")
    if runtime.in_graph_mode() or (HONOURS_RUN_TF_FUNCTION and getattr(model, "total_loss", None) is not None):
        record_graph_gradients(model, record)
        return
    # TF >= 2.2; and TF 2.0/2.1 with run_eagerly=True (no Keras graph: training
    # only; evaluate would keep the last training value, so it is refused).
    unclipped = gradients_before_clipping(model.optimizer) if caps.CLIPS_BEFORE_APPLY_GRADIENTS else None
    hook_apply_gradients(model, record, unscale=unclipped)
    if HONOURS_RUN_TF_FUNCTION:
        for name in ("evaluate", "test_on_batch"):
            wrap(model, name, "gradient_norm_eager_evaluate", _refuse_eager_evaluate, "errors")
    if caps.HAS_TRAIN_STEP:  # test_step computes the loss with compute_loss (TF >= 2.8) or compiled_loss
        hook_test_gradients(model, record, "compute_loss" if caps.HAS_COMPUTE_LOSS else "compiled_loss")


def _refuse_eager_evaluate(call_next, *args, **kwargs):
    raise RuntimeError(
        f"compat_metrics.GradientNorm cannot be evaluated with run_eagerly=True on {caps.STACK}: Keras computes "
        "no gradients of the evaluated batches there, so the metric would report the last training value. Compile "
        "without run_eagerly=True (compat_metrics.compile then takes the gradients in the Keras graph), or evaluate "
        "a model compiled without GradientNorm.")


def layer_add_metric(layer, value, name):
    """Keras 2 keeps ``Layer.add_metric``: a mean of ``value`` logged as ``name``."""
    layer.add_metric(value, aggregation="mean", name=name)


def reducible_loss_value(loss, value):
    """Keras 2 reduces a scalar ``call`` result like per-sample values (``tf.distribute`` included): unchanged."""
    return value


def check_layer_metrics(model):
    """Graph mode logs only the last call of a layer called twice that adds metrics: refused there."""
    if runtime.in_graph_mode():
        refuse_layer_metrics(model, nested=False, reused=True)


def distinct_output_names(layer, outputs):
    """Keras 2 names several model outputs of one layer apart (``name``, ``name_1``, ...): unchanged."""
    return outputs


def check_distributed_metrics(model):
    """Keras 2 metrics count whole batches under ``tf.distribute``: nothing to check."""


SHARING_HINT = ""  # ends the error of a ConfusionMatrix read in two compile slots


def metrics_per_output(model, kwargs):
    """Keras 2 gives every entry of a ``metrics`` list to every output (a copy for each): unchanged."""
    return kwargs


def check_metric_outputs(model):
    """Keras 2 copies a list's metrics for each output: nothing to check."""


def compiled_metric_arguments(model):
    """``{"metrics": ..., "weighted_metrics": ...}`` as given to compile, for a ``MetricsContainer`` (TF >= 2.2);
    None where compile built the metrics itself (TF 1.15-2.1)."""
    holder = model.__dict__.get("compiled_metrics")
    if holder is None or not hasattr(holder, "_user_metrics"):
        return None
    return {"metrics": holder._user_metrics, "weighted_metrics": holder._user_weighted_metrics}


def rebuild_compiled_metrics(model, build):
    """Replace the metrics of :func:`compiled_metric_arguments` with ``build(arguments)``; the container
    builds again at the next step. ``build`` sees the metrics named as compile was given them."""
    holder = model.compiled_metrics
    if holder._built and not getattr(holder, "_from_serialized", False):
        _undo_output_prefixes(holder)  # TF 2.2-2.5 prefixed the output names, and will again when rebuilt
    arguments = build(compiled_metric_arguments(model))
    holder._user_metrics, holder._user_weighted_metrics = arguments["metrics"], arguments["weighted_metrics"]
    holder._metrics, holder._weighted_metrics = arguments["metrics"], arguments["weighted_metrics"]
    holder._built = False


def _undo_output_prefixes(holder):
    """Give the metrics of a built ``MetricsContainer`` the names they had before its build.

    Building prefixes each metric of a multi-output model with its output's
    name (``a_f1``, ``a_weighted_f1``); a second build would prefix it again.
    (From TF 2.6 a container compiled from a saved config is ``_from_serialized``
    and builds without renaming.)
    """
    outputs = list(getattr(holder, "_output_names", None) or [])
    if len(outputs) < 2:
        return
    for attribute, prefixes in (("_metrics", ("{}_",)), ("_weighted_metrics", ("{}_weighted_", "{}_"))):
        for output, metrics in zip(outputs, getattr(holder, attribute, None) or []):
            for metric in tf.nest.flatten(metrics):
                name = getattr(metric, "_name", None)
                prefix = next((p.format(output) for p in prefixes if name and name.startswith(p.format(output))), None)
                if prefix:
                    metric._name = name[len(prefix):]


def check_step_overrides(model):
    """Raise ``RuntimeError`` for a ``train_step``/``test_step`` override that this Keras never calls.

    Keras in TF 1.15-2.1 and in graph mode has no ``Model.train_step``: the
    override's work (extra metrics, logging) would silently never run.
    """
    if HAS_TRAIN_STEP and not runtime.in_graph_mode():
        return
    for klass in type(model).__mro__:
        if klass is keras.Model or klass.__module__.split(".")[0] in ("tensorflow", "tf_keras", "keras"):
            break
        for name in ("train_step", "test_step"):
            if name in klass.__dict__:
                raise RuntimeError(
                    "{}.{} is never called: Keras in {} {}has no Model.{} (added in TF 2.2, eager only), so the "
                    "override's work would silently not run. Put its metrics in compat_metrics.compile(model, "
                    "metrics=[...]) (GradientNorm included) and remove the override, or run on TF >= 2.2 eagerly."
                    .format(klass.__name__, name, caps.STACK,
                            "in graph mode " if runtime.in_graph_mode() else "", name))


def check_train_step():
    """Raise ``RuntimeError`` where Keras has no ``Model.train_step`` (TF 1.15-2.1, graph mode)."""
    if not HAS_TRAIN_STEP or runtime.in_graph_mode():
        raise RuntimeError(
            "compat_metrics.train_step: Keras in {} {}has no Model.train_step (added in TF 2.2, "
            "eager only), so an override is never called. Put the metrics in "
            "compat_metrics.compile(model, metrics=[...]) (GradientNorm included) instead."
            .format(caps.STACK, "in graph mode " if runtime.in_graph_mode() else ""))


def step_loss(model, x, y, y_pred, sample_weight):
    """The loss of one training step: ``compute_loss`` (TF >= 2.8) or ``compiled_loss``."""
    if caps.HAS_COMPUTE_LOSS:
        return model.compute_loss(x, y, y_pred, sample_weight)
    return model.compiled_loss(y, y_pred, sample_weight, regularization_losses=model.losses)


def step_metrics(model, x, y, y_pred, sample_weight):
    """Update the compiled metrics; return the logs (``compute_metrics`` or ``compiled_metrics``)."""
    if caps.HAS_COMPUTE_METRICS:
        return model.compute_metrics(x, y, y_pred, sample_weight)
    model.compiled_metrics.update_state(y, y_pred, sample_weight)
    return {metric.name: metric.result() for metric in model.metrics}
