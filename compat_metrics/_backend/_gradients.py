"""Where the gradients of a Keras training step can be observed.

The backend modules pick one of these from the capability table; the helpers
here only look at the objects they are given (arguments, attributes):

- :func:`record_graph_gradients`: TF1-style graphs (TF 1.15, eager disabled,
  TF 2.0/2.1 with ``experimental_run_tf_function=False``). Keras builds
  ``model.total_loss`` in ``compile``; the gradients of it are built once,
  there, and serve the train and the test function alike.
- :func:`hook_apply_gradients` + :func:`hook_test_gradients`: ``tf.function``
  steps (Keras 2 from TF 2.2, ``tf_keras``, Keras 3). Training gradients are
  those the model hands to ``optimizer.apply_gradients``; in ``test_step`` the
  gradients of the loss from ``compute_loss`` are taken on a tape.

Methods are wrapped with :mod:`._hooks` (gradient wrappers sit inside the
input-loss hook).
"""

import tensorflow as tf

from ._hooks import state, wrap

_RECORDERS = "gradient_recorders"


def _add(holder, record):
    """Add ``record`` to the recorders of ``holder`` (a model or an optimizer)."""
    recorders = state(holder, _RECORDERS, list)
    if record not in recorders:
        recorders.append(record)


def _run(holder, grads_and_vars):
    for record in state(holder, _RECORDERS) or ():
        record(grads_and_vars)


def hook_apply_gradients(model, record, unscale=None, replica_losses_unscaled=False):
    """Call ``record(grads_and_vars)`` whenever ``model.optimizer`` applies gradients.

    The hook is an attribute of the optimizer instance: it is not saved with
    the model and affects no other optimizer. ``unscale(optimizer,
    grads_and_vars)``, if given, returns the gradients to record instead: those
    of the unscaled loss (for a Keras whose ``train_step`` hands the optimizer
    gradients of a loss-scaled loss), or those before clipping (see
    :func:`gradients_before_clipping`). ``replica_losses_unscaled``: see :func:`_all_reduced`.
    """
    optimizer = model.optimizer
    if optimizer is None:
        raise ValueError("the model has no optimizer: compile it before binding a GradientNorm metric")
    _add(optimizer, record)

    def apply_gradients(call, grads_and_vars, *args, **kwargs):
        grads_and_vars = list(grads_and_vars)
        recorded = grads_and_vars if unscale is None else unscale(optimizer, grads_and_vars)
        # Keras 2 in TF 2.2/2.3 all-reduces the replicas' gradients itself and says so.
        aggregated = kwargs.get("experimental_aggregate_gradients", args[1] if len(args) > 1 else True)
        _run(optimizer, _all_reduced(recorded, replica_losses_unscaled) if aggregated else recorded)
        return call(grads_and_vars, *args, **kwargs)

    wrap(optimizer, "apply_gradients", "gradient_norm", apply_gradients, "gradients")


def skips_non_finite_steps(optimizer):
    """Whether ``optimizer`` skips a step whose gradients are not finite (a dynamic loss-scale optimizer)."""
    loss_scaling = any(cls.__name__.startswith("LossScaleOptimizer") for cls in type(optimizer).__mro__)
    return loss_scaling and bool(getattr(optimizer, "dynamic", True))  # Keras 2.11-2.15: LossScaleOptimizerV3


def gradients_before_clipping(optimizer):
    """For a Keras that clips before ``apply_gradients``: an ``unscale`` for :func:`hook_apply_gradients`
    giving the gradients ``optimizer._clip_gradients`` was handed (what ``GradientNorm`` reports)."""
    given = []

    def clip_gradients(call, grads, *args, **kwargs):
        given[:] = [list(grads)]
        return call(grads, *args, **kwargs)

    wrap(optimizer, "_clip_gradients", "gradient_norm", clip_gradients, "gradients")

    def unclipped(optimizer, grads_and_vars):
        if not given:
            return grads_and_vars
        grads = given.pop()
        return list(zip(grads, [variable for _, variable in grads_and_vars]))

    return unclipped


def _all_reduced(grads_and_vars, replica_losses_unscaled=False):
    """The gradients of the whole batch under ``tf.distribute``; unchanged otherwise.

    Keras runs ``train_step`` per replica with the loss divided by the number
    of replicas and lets the optimizer sum the replicas' gradients; the norm
    is that of the sum (one extra all-reduce per step while a metric records).
    ``replica_losses_unscaled``: this Keras does not divide the replicas'
    losses (Keras 3.0-3.2), so the sum is divided here, as later Keras does.
    """
    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return grads_and_vars
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return grads_and_vars
    present = [(g, v) for g, v in grads_and_vars if g is not None]
    summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [tf.convert_to_tensor(g) for g, _ in present])
    if replica_losses_unscaled:
        summed = [g / tf.cast(context.num_replicas_in_sync, g.dtype) for g in summed]
    return list(zip(summed, [v for _, v in present]))


def hook_test_gradients(model, record, loss_method="compute_loss", replica_losses_unscaled=False):
    """Call ``record`` with the gradients of the loss in each ``test_step``.

    ``test_step`` runs under a ``GradientTape``; when it computes the loss
    (``loss_method``: ``compute_loss``, or on Keras 2 before TF 2.8 the
    ``compiled_loss`` container it calls instead), the gradients of that loss
    are taken (not applied) and recorded before ``test_step`` updates the metrics.
    """
    _add(model, record)
    tapes = []  # the tape of the test_step running now

    def test_step(call, *args, **kwargs):
        with tf.GradientTape() as tape:
            tapes.append(tape)
            try:
                return call(*args, **kwargs)
            finally:
                if tape in tapes:  # compute_loss did not take it
                    tapes.remove(tape)

    def compute_loss(call, *args, **kwargs):
        loss = call(*args, **kwargs)
        if tapes:
            tape = tapes.pop()
            variables = list(model.trainable_weights)
            gradients = tape.gradient(loss, variables)
            _run(model, _all_reduced(list(zip(gradients, variables)), replica_losses_unscaled))
        return loss

    wrap(model, "test_step", "gradient_norm", test_step, "gradients")
    wrap(model, loss_method, "gradient_norm", compute_loss, "gradients")


def record_graph_gradients(model, record):
    """Build the gradients of ``model.total_loss`` in the Keras graph and record them.

    TF1 Keras builds the metrics and the loss in ``compile`` and shares the
    metric tensors between the train and the test function, so this runs right
    after ``compile``: the recorded value is the gradient of the loss on the
    batch being trained or evaluated.
    """
    loss = getattr(model, "total_loss", None)
    if loss is None:
        raise ValueError("GradientNorm needs a compiled model with a loss (model.total_loss is missing)")
    variables = list(getattr(model, "_collected_trainable_weights", None) or model.trainable_weights)
    with loss.graph.as_default(), tf.name_scope("gradient_norm"):
        gradients = tf.gradients(loss, variables)
        record(list(zip(gradients, variables)))
    _share_with_optimizer(model.optimizer, loss, variables, gradients)


_SHARED = "shared_gradients"
_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def _share_with_optimizer(optimizer, loss, variables, gradients):
    """Let a Keras optimizer reuse the gradients built for the metric.

    Keras's TF1 train function calls ``optimizer.get_gradients(total_loss,
    params)``, which would build the same backward pass a second time. For
    that exact loss and variable list the optimizer gets these gradients
    instead; optimizers that clip, or that are not Keras optimizers (a
    ``tf.compat.v1.train`` optimizer), build their own as before.
    """
    if optimizer is None or not hasattr(optimizer, "get_gradients"):
        return
    if any(getattr(optimizer, name, None) for name in _CLIPPING) or any(g is None for g in gradients):
        return
    first = state(optimizer, _SHARED) is None
    shared = state(optimizer, _SHARED, dict)
    shared[id(loss)] = (loss, [id(v) for v in variables], list(gradients))
    if first:
        def get_gradients(call, loss, params):
            entry = shared.get(id(loss))
            if entry is not None and entry[0] is loss and [id(p) for p in params] == entry[1]:
                return list(entry[2])
            return call(loss, params)

        wrap(optimizer, "get_gradients", "shared_gradients", get_gradients, "gradients")


def compiled_metric_objects(model):
    """The metric objects passed to ``model.compile`` (nested as given), on any Keras.

    Keras 3 keeps them in ``model._compile_metrics`` (a container), Keras 2
    from TF 2.2 in ``model.compiled_metrics``, TF1-style Keras in
    ``model._compile_metrics`` (a list or dict).
    """
    found = []
    for holder in (model.__dict__.get("_compile_metrics"), model.__dict__.get("compiled_metrics"),
                   model.__dict__.get("_compile_weighted_metrics")):
        if holder is None:
            continue
        if hasattr(holder, "_user_metrics"):
            found.append(holder._user_metrics)
            found.append(getattr(holder, "_user_weighted_metrics", None))
        else:
            found.append(holder)
    return [item for item in tf.nest.flatten(found) if item is not None]
