"""``compile`` and ``load_model`` that behave the same on every version.

- ``experimental_run_tf_function``: kept where TF honours it (1.15 accepts
  it; 2.0/2.1 change code path), dropped with a one-time warning where it is
  ignored (TF 2.2-2.15, ``tf_keras``) or raises ``TypeError`` (Keras 3).
- Input-dependent losses (:class:`compat_metrics.InputLoss`) are bound to the
  model, and ``experimental_run_tf_function=False`` is set where TF 2.0/2.1
  need it.
"""

import contextlib

import tensorflow as tf

from . import runtime
from ._backend import impl
from ._backend._common import library_custom_objects
from ._errors import library_errors_first
from .components import bind_component_metrics, check_one_loss_per_output, forget_builds
from .input_loss import bind_input_losses, input_losses
from .training_metrics import (
    bind_gradient_metrics,
    bind_loaded_gradient_metrics,
    connecting,
    gradient_norm_metrics,
    restore_gradient_norms,
)

__all__ = ["compile_kwargs", "compile", "load_model"]


def compile_kwargs(**kwargs):
    """Return the keyword arguments this TF's ``Model.compile`` accepts.

    Pass what old code passed; e.g. ``experimental_run_tf_function`` is kept on
    TF 1.15/2.0/2.1 and dropped, with one warning per process, elsewhere.
    """
    # GradientNorm, like input losses, needs TF 2.0/2.1's code path without tf.function.
    outside = bool(input_losses(kwargs.get("loss")) or _gradient_norms(kwargs))
    return impl.compile_kwargs(kwargs, needs_model_step_outside_tf_function=outside)


def _gradient_norms(kwargs):
    return gradient_norm_metrics([kwargs.get("metrics"), kwargs.get("weighted_metrics")])


def _metric_slots(kwargs):
    """``(argument, output, metric)`` for each metric; ``output`` is None where every output gets the metrics."""
    from .metrics.per_class import per_output  # here: metrics.base imports this module
    for key in ("metrics", "weighted_metrics"):
        value = kwargs.get(key)
        if not per_output(value):
            groups = [(None, value)]
        else:
            groups = list(value.items() if isinstance(value, dict) else enumerate(value))
        for output, metrics in groups:
            for item in tf.nest.flatten(metrics):  # as gradient_norm_metrics reads the argument
                if item is not None:
                    yield key, output, item


def _check_shared_confusion_matrices(kwargs):
    """Refuse a ConfusionMatrix shared by metrics that Keras feeds different inputs (see ``metrics.per_class``)."""
    from .metrics.per_class import refuse_sharing_across_slots  # here: importing metrics loads every metric class
    slots = ((key if output is None else f"{key}[{output!r}]", metric) for key, output, metric in _metric_slots(kwargs))
    refuse_sharing_across_slots(slots, hint=impl.SHARING_HINT)


def _check_metric_names(kwargs):
    """Refuse two metric objects of one name in one argument (and output), and a metric named ``loss``.

    Keras logs one value per name: Keras 2 raises, Keras 3 renames the second
    (``f1_0_1``), TF 1.15 keeps the last, and there a per-class view whose
    updater lost its name left the other views at 0. A metric named ``loss``
    replaces the loss in the logs on TF 2.x.
    """
    seen = {}
    for key, output, metric in _metric_slots(kwargs):
        if isinstance(metric, str):
            name = metric  # Keras names a metric given by name after that name
        else:
            name = getattr(metric, "name", None) if isinstance(metric, impl.keras.metrics.Metric) else None
        if name is None:
            continue
        where = key if output is None else f"{key}[{output!r}]"
        if name == "loss":
            raise ValueError(f"Invalid metric name 'loss' in {where}: Keras logs the model's loss under that name, "
                             "so one would replace the other. Give the metric another name=. "
                             f"Received: {type(metric).__name__}(name='loss')")
        other = seen.setdefault((key, output, name), metric)
        if other is not metric:
            raise ValueError(
                f"Invalid `{key}`: two metrics in {where} are named {name!r} ({type(other).__name__} and "
                f"{type(metric).__name__}); Keras logs one value per name, and versions differ in which one it "
                "keeps or how it renames the other. Give each metric its own name= (per-class views of an "
                "average=None score are named {name}_{class}). "
                f"Received: names {[getattr(item, 'name', item) for _, _, item in _metric_slots({key: kwargs[key]})]}")


def _per_class_views(kwargs):
    """``average=None`` scores become one scalar metric per class (see ``metrics.per_class``)."""
    from .metrics.per_class import expand_for_logs  # here: metrics.base imports this module
    return expand_for_logs(kwargs)


def _per_class_views_after_load(model):
    """Per-class views for ``average=None`` scores of a model Keras compiled while loading it.

    Keras >= 2.2 and Keras 3 build their metric containers at the first step, from the metrics compile was given.
    """
    from .metrics.per_class import expand_for_logs, has_scores
    given = impl.compiled_metric_arguments(model)
    if given is not None and has_scores(list(given.values())):
        impl.rebuild_compiled_metrics(model, lambda arguments: expand_for_logs(arguments, loaded=True))


def _compile_loaded(model, **kwargs):
    """:func:`compile` for a model compiled from its saved config: its scores share matrices again, its
    component metrics read its own losses."""
    from .metrics.per_class import expand_for_logs
    kwargs = expand_for_logs(kwargs, loaded=True)
    kwargs["loss"] = _deserialized_losses(kwargs.get("loss"))
    bind_component_metrics(kwargs["loss"], _metric_arguments(kwargs), getattr(model, "output_names", None))
    return compile(model, **kwargs)


def _deserialized_losses(loss):
    """compile's ``loss`` from a saved training config (TF 1.15 leaves configs to compile), as loss objects."""
    if isinstance(loss, dict) and "class_name" in loss and "config" in loss:
        return runtime.keras.losses.deserialize(loss)
    if isinstance(loss, dict):
        return {key: _deserialized_losses(item) for key, item in loss.items()}
    if isinstance(loss, (list, tuple)):
        return type(loss)(_deserialized_losses(item) for item in loss)
    return loss


def _metric_arguments(kwargs):
    return {key: kwargs.get(key) for key in ("metrics", "weighted_metrics")}


def _n_outputs(model):
    """The number of outputs of ``model``, where compile can know it (functional and built models)."""
    try:
        return len(model.outputs or []) or None
    except (AttributeError, ValueError):  # a subclassed model before its first call
        return None


def compile(model, **kwargs):  # noqa: A001 - mirrors Model.compile
    """Call ``model.compile`` with :func:`compile_kwargs`; bind input losses and gradient norms.

    A library score with ``average=None`` (a vector) is logged per class as
    ``{name}_{i}`` / ``val_{name}_{i}`` (``{name}_{class name}`` with
    ``class_names``) on every version; metrics reading one
    ``ConfusionMatrix`` update it once per step.

    :class:`compat_metrics.GradientNorm` metrics in ``metrics`` are connected
    to the model's gradients (on TF 2.0/2.1 this also sets
    ``experimental_run_tf_function=False``).

    Returns:
        ``model``, compiled.

    Raises:
        GraphModeNotSupportedError: eager execution is disabled on Keras 3.
        RuntimeError: ``model`` overrides ``train_step``/``test_step`` where
            Keras never calls them (TF 1.15-2.1, graph mode).
        NotImplementedError: ``model`` is compiled under ``tf.distribute``
            with several replicas on Keras 3 before 3.10, whose metrics
            would count part of each batch.
        ValueError: metrics sharing a ``ConfusionMatrix`` are listed where
            Keras feeds them different inputs (``metrics`` and
            ``weighted_metrics``, or different outputs; on Keras 3 a model
            whose outputs are not known at compile time raises at its first
            step); on Keras 3, a list of ``metrics`` holding an
            ``average=None`` score does not have one entry per output of a
            multi-output model; two metrics of one name in one argument (and
            output), or a metric named ``loss``; one component loss given for
            several outputs while its metrics are compiled; in graph mode a
            layer logging a metric that is called twice (on TF 1.15 also one
            inside a nested model), which Keras would misreport there.
    """
    runtime.check_graph_mode_supported("compat_metrics.compile")
    impl.check_step_overrides(model)
    impl.check_distributed_metrics(model)
    impl.check_layer_metrics(model)
    kwargs = impl.metrics_per_output(model, kwargs)
    _check_shared_confusion_matrices(kwargs)
    strategy = getattr(model, "distribute_strategy", None)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():  # views' variables beside the model's
        kwargs = _per_class_views(kwargs)
    _check_metric_names(kwargs)
    check_one_loss_per_output(kwargs.get("loss"), _metric_arguments(kwargs), _n_outputs(model))
    bind_input_losses(model, kwargs.get("loss"))
    for key in ("metrics", "weighted_metrics"):
        if kwargs.get(key) is not None:
            kwargs[key] = restore_gradient_norms(kwargs[key])
    gradient_norms = _gradient_norms(kwargs)
    forget_builds([kwargs.get(key) for key in ("loss", "metrics", "weighted_metrics")])
    with connecting(gradient_norms):  # TF1 Keras builds the metrics inside model.compile
        model.compile(**compile_kwargs(**kwargs))
    library_errors_first(model)
    impl.check_metric_outputs(model)
    if gradient_norms:
        bind_gradient_metrics(model, gradient_norms)
    return model


def load_model(path, custom_objects=None, compile=True, **kwargs):  # noqa: A002 - Keras's own argument name
    """Load a model saved with ``model.save``; the library's classes need no ``custom_objects``.

    The library's losses, metrics and layers, and user subclasses of them,
    are registered, so Keras finds them; other custom classes (a user's own
    ``Layer``, say) go in ``custom_objects`` as for ``keras.models.load_model``,
    which receives ``custom_objects``, ``compile`` and any other keyword
    argument (e.g. ``safe_mode`` on Keras 3). Input losses and gradient norms
    are bound to the loaded model; for an h5 file in graph mode or on TF
    2.0/2.1 the model is compiled here from its saved training config, since
    Keras would build the loss before it could be bound.
    """
    names = library_custom_objects()  # files saved by TF 1.15-2.1 name the library's classes bare
    names.update(custom_objects or {})
    model = impl.load_model(path, _compile_loaded, custom_objects=names, compile=compile, **kwargs)
    if not compile:
        return model
    _per_class_views_after_load(model)
    given = impl.compiled_metric_arguments(model)
    if given is not None:
        bind_component_metrics(model.loss, given, getattr(model, "output_names", None))
    impl.check_metric_outputs(model)
    bind_input_losses(model, impl.compiled_loss_objects(model), only_unbound=True)
    bind_loaded_gradient_metrics(model)
    return model
