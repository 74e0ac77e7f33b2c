"""Keras 3 (TF >= 2.16 without ``TF_USE_LEGACY_KERAS``).

Differences handled here: ``compile`` raises ``TypeError`` on
``experimental_run_tf_function`` (dropped, with a warning); ``add_weight``
takes ``shape`` first (only keywords are used); there is no graph mode;
models save as ``.keras`` only; input-dependent losses get their inputs from a
``train_step``/``test_step`` hook.
"""

from .. import runtime
from ._common import (compiled_loss_objects, install_input_hook, register_serializable,  # noqa: F401
                      state_variable, warn_once)

keras = runtime.keras
Loss = keras.losses.Loss
Metric = keras.metrics.Metric

RUN_TF_FUNCTION_FLAG = "experimental_run_tf_function"
HONOURS_RUN_TF_FUNCTION = False
HAS_TRAIN_STEP = True

MECHANISMS = {
    "graph_mode": "not available (Keras 3 has no graph mode): clear error",
    "loss_components": "control dependency on a variable assignment",
    RUN_TF_FUNCTION_FLAG: "dropped with a warning (Keras 3 raises TypeError)",
    "input_loss": "compute_loss input hook",
    "reset": "reset_state (reset_states provided by compat_metrics)",
}


def add_weight(layer, name, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
    """``Metric.add_variable`` with keywords only (Keras 3 takes ``shape`` first)."""
    return layer.add_variable(shape=shape, initializer=initializer, dtype=dtype,
                              aggregation=aggregation, name=name)


def new_state_variable(name, dtype):
    """Create a tracked-component variable (eager; Keras 3 has no graph mode)."""
    return state_variable(name, dtype)


def compile_kwargs(kwargs, input_losses):
    """Return the ``compile`` keyword arguments Keras 3 accepts."""
    kwargs = dict(kwargs)
    if RUN_TF_FUNCTION_FLAG in kwargs:
        kwargs.pop(RUN_TF_FUNCTION_FLAG)
        warn_once("etf-dropped", "compat_metrics: dropped experimental_run_tf_function: "
                  "Keras {} raises TypeError for it (it always runs tf.function)."
                  .format(runtime.KERAS_VERSION))
    return kwargs


def bind_input_loss(model, loss):
    """Give ``loss`` access to the inputs of each step of ``model``."""
    install_input_hook(model, loss, ("compute_loss",))
    loss._set_inputs_source(None)


def load_model(path, compile_fn):
    """Load a ``.keras`` file; Keras compiles it from its saved config."""
    return keras.models.load_model(path)
