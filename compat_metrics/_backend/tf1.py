"""TF 1.15: Keras 2 in graph mode, ``tf.Session``.

Same surface as :mod:`keras2`; differences: ``experimental_run_tf_function``
is accepted by ``compile`` and kept, input-dependent losses always close over
the model's symbolic inputs, and ``tf.keras.utils.register_keras_serializable``
does not exist (registration goes through ``get_custom_objects``).
"""

from .. import _capabilities as caps
from ._common import refuse_layer_metrics
from ._gradients import compiled_metric_objects, record_graph_gradients, skips_non_finite_steps  # noqa: F401
from .keras2 import (  # noqa: F401
    ACCEPTS_AUTO_REDUCTION,
    RUN_TF_FUNCTION_FLAG,
    SHARING_HINT,
    Loss,
    Metric,
    add_weight,
    bind_input_loss,
    check_distributed_metrics,
    check_metric_outputs,
    check_step_overrides,
    check_train_step,
    compiled_loss_objects,
    distinct_output_names,
    keras,
    layer_add_metric,
    load_model,
    metrics_per_output,
    new_state_variable,
    reducible_loss_value,
    register_serializable,
    step_loss,
    step_metrics,
)

HONOURS_RUN_TF_FUNCTION = True


def check_layer_metrics(model):
    """TF 1.15 Keras misreports ``add_metric`` values of a layer called twice or inside a nested model."""
    refuse_layer_metrics(model, nested=not caps.NESTED_LAYER_METRICS, reused=True)


def compiled_metric_arguments(model):
    """None: TF1 Keras builds the metrics in ``compile`` (``compat_metrics.load_model`` compiles again)."""
    return None


def rebuild_compiled_metrics(model, build):
    raise NotImplementedError("TF1 Keras builds its metrics in compile")


MECHANISMS = {
    "graph_mode": "always (TF 1.15)",
    "loss_components": "control dependency on a variable assignment",
    RUN_TF_FUNCTION_FLAG: "kept (accepted by TF 1.15 compile)",
    "input_loss": "closure over model.inputs (graph mode)",
    "reset": "reset_states",
    "gradient_norm": "gradients of total_loss built at compile time, shared with the optimizer",
    "layer_add_metric": "Layer.add_metric (Keras's own)",
    "train_step_helper": "not available (no Model.train_step): clear error",
    "distributed_metrics": "Keras's own",
    "metrics_per_output": "Keras's own: a metrics list goes to every output, a copy per output",
    "validation_batches": "in order: fit's validation loop (training_arrays), which shuffles them, patched once",
}


def compile_kwargs(kwargs, needs_model_step_outside_tf_function):
    """TF 1.15 accepts every argument old code passes: returned unchanged."""
    return dict(kwargs)


def bind_gradient_recorder(model, record):
    """Hand the gradients of ``model.total_loss``, built at compile time, to ``record``."""
    record_graph_gradients(model, record)
