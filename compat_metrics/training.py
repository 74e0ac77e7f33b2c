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
    """``(where, metric)`` for each metric: ``where`` is the argument and, per output, the output."""
    for key in ("metrics", "weighted_metrics"):
        value = kwargs.get(key)
        if isinstance(value, dict):
            groups = list(value.items())
        elif isinstance(value, (list, tuple)) and any(isinstance(item, (list, tuple, dict)) for item in value):
            groups = list(enumerate(value))  # one list per output
        else:
            groups = [(None, value)]
        for output, metrics in groups:
            where = key if output is None else f"{key}[{output!r}]"
            for item in tf.nest.flatten(metrics):  # as gradient_norm_metrics reads the argument
                if item is not None:
                    yield where, item


def _check_shared_confusion_matrices(kwargs):
    """Refuse a ConfusionMatrix shared by metrics that Keras feeds different inputs (see ``metrics.per_class``)."""
    from .metrics.per_class import refuse_sharing_across_slots  # here: importing metrics loads every metric class
    refuse_sharing_across_slots(_metric_slots(kwargs), hint=impl.SHARING_HINT)


def _per_class_views(kwargs):
    """``average=None`` scores become one scalar metric per class (see ``metrics.per_class``)."""
    from .metrics.per_class import expand_for_logs  # here: metrics.base imports this module
    return expand_for_logs(kwargs)


def _per_class_views_after_load(model):
    """Per-class views for ``average=None`` scores of a model Keras compiled while loading it.

    Keras >= 2.2 and Keras 3 build their metric containers at the first step, from ``_user_metrics``.
    """
    from .metrics.per_class import expand_for_logs, has_scores
    for name in ("_compile_metrics", "compiled_metrics"):
        holder = model.__dict__.get(name)
        if holder is None or not hasattr(holder, "_user_metrics"):
            continue
        given = {"metrics": holder._user_metrics, "weighted_metrics": getattr(holder, "_user_weighted_metrics", None)}
        if not has_scores(list(given.values())):
            continue
        if holder.__dict__.get("_built") and not holder.__dict__.get("_from_serialized"):
            _undo_output_prefixes(holder)  # TF 2.2-2.5 prefixed the output names, and will again when rebuilt
        expanded = expand_for_logs(given, loaded=True)
        holder._user_metrics = expanded["metrics"]
        if hasattr(holder, "_user_weighted_metrics"):
            holder._user_weighted_metrics = expanded["weighted_metrics"]
        if "_built" in holder.__dict__:  # Keras 2's MetricsContainer builds from _metrics
            holder._metrics, holder._weighted_metrics = expanded["metrics"], expanded["weighted_metrics"]
            holder._built = False
        elif holder.__dict__.get("built"):  # Keras 3's CompileMetrics builds from _user_metrics
            holder.built = False


def _undo_output_prefixes(holder):
    """Give the metrics of a built Keras 2 ``MetricsContainer`` the names they had before its build.

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


def _compile_loaded(model, **kwargs):
    """:func:`compile` for a model compiled from its saved config: its scores share matrices again."""
    from .metrics.per_class import expand_for_logs
    return compile(model, **expand_for_logs(kwargs, loaded=True))


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
            multi-output model.
    """
    runtime.check_graph_mode_supported("compat_metrics.compile")
    impl.check_step_overrides(model)
    impl.check_distributed_metrics(model)
    kwargs = impl.metrics_per_output(model, kwargs)
    _check_shared_confusion_matrices(kwargs)
    strategy = getattr(model, "distribute_strategy", None)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():  # views' variables beside the model's
        kwargs = _per_class_views(kwargs)
    bind_input_losses(model, kwargs.get("loss"))
    for key in ("metrics", "weighted_metrics"):
        if kwargs.get(key) is not None:
            kwargs[key] = restore_gradient_norms(kwargs[key])
    gradient_norms = _gradient_norms(kwargs)
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
    impl.check_metric_outputs(model)
    bind_input_losses(model, impl.compiled_loss_objects(model), only_unbound=True)
    bind_loaded_gradient_metrics(model)
    return model
