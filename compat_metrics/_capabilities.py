"""What the installed TensorFlow/Keras can do: named capabilities, decided once.

TensorFlow's behaviour changes at a dozen releases (2.2 ``train_step``, 2.5
``reset_state``, 2.8 ``compute_loss``, 2.13 ``F1Score``, 2.16 Keras 3, Keras 3
minor releases), not at the three families :mod:`compat_metrics.runtime` names.
Each change is one flag here, computed at import from the runtime facts and,
where the installed Keras can simply be asked, from a probe of its classes. The
backend (``_backend``) and the tests' ``skipif`` conditions import these flags;
nothing else branches on a version. Supporting a new release means editing this
table (and at most one backend module).

Execution mode (TF1 graph mode or eager) is a call-time question, answered by
:func:`compat_metrics.runtime.in_graph_mode`, not a flag.

Flags (all ``bool`` unless noted):
    KERAS3: Keras 3 is ``tf.keras`` (TF >= 2.16 without ``TF_USE_LEGACY_KERAS``).
    GRAPH_MODE: Keras can train in TF1 graph mode (everything but Keras 3).
    HAS_TRAIN_STEP: ``Model.train_step``/``test_step`` exist and ``fit`` calls
        them (Keras 2 from TF 2.2, Keras 3, tf_keras).
    HONOURS_RUN_TF_FUNCTION: ``compile(experimental_run_tf_function=False)``
        changes the code path (TF 1.15, 2.0, 2.1); later Keras 2 pops it and
        Keras 3 raises ``TypeError``.
    ACCEPTS_RUN_TF_FUNCTION: ``compile`` accepts the flag at all (not Keras 3).
    HAS_COMPUTE_LOSS: ``Model.compute_loss(x, y, y_pred, sample_weight)`` (TF >= 2.8).
    HAS_COMPUTE_METRICS: ``Model.compute_metrics`` (TF >= 2.8).
    RESET_IS_RESET_STATE: Keras resets metrics through ``reset_state`` (TF >= 2.5,
        Keras 3); before, through ``reset_states``.
    HAS_RESET_STATES: ``Metric.reset_states`` exists (not on Keras 3).
    DICT_RESULTS_FLATTENED: a metric whose ``result()`` is a dict of scalars
        shows as one log entry per key (``train_step`` Keras and Keras 3).
    HAS_F1_SCORE: ``keras.metrics.F1Score`` is built in (TF >= 2.13, Keras 3).
    HAS_LAYER_ADD_METRIC: ``Layer.add_metric`` exists (removed in Keras 3).
    HAS_MODEL_ADD_LOSS_SYMBOLIC: ``model.add_loss(symbolic tensor)`` works (not Keras 3).
    ADD_WEIGHT_NAME_FIRST: ``add_weight``'s first positional argument is ``name``
        (Keras 2); Keras 3 takes ``shape`` first. The library passes keywords.
    REGISTERED_NAMES: ``keras.utils.get_registered_name`` exists (TF >= 2.2):
        custom objects save under ``"package>Name"``; before, bare class names.
    SAVED_MODEL_FORMAT: ``model.save(dir, save_format="tf")`` writes a SavedModel
        Keras can load back as a Keras model (Keras 2 with ``train_step``).
    SAVE_SUFFIX: ``".keras"`` (Keras 3, the only whole-model format) or ``".h5"``.
    GRADIENT_NORM_DISTRIBUTED: a ``GradientNorm`` can read gradients under a
        ``tf.distribute`` strategy (needs the ``train_step`` code path).
    WEIGHTED_METRICS_DISTRIBUTED: Keras accepts ``weighted_metrics`` under a
        ``tf.distribute`` strategy (TF 2.0's raises ``NotImplementedError``).
    HAS_LOSS_SCALE_OPTIMIZER: ``keras.mixed_precision.LossScaleOptimizer`` (TF >= 2.4;
        ``experimental`` before).
    KERAS3_KEEPS_TRAIN_STEP_LOGS: extra logs returned by a custom ``train_step``
        reach ``History`` (not Keras 3 before 3.3, keras#19529).
    KERAS3_VARIABLE_AGGREGATION: Keras 3's ``Metric.add_variable`` takes ``aggregation``
        (not Keras 3.0, which also needs an explicit ``dtype``).
    KERAS3_COMPUTE_LOSS_TRAINING: Keras 3's ``compute_loss`` takes ``training=`` (not Keras 3.0).
    KERAS3_NEW_REGISTERED_NAMES: Keras >= 3.7 registered-name format (keras#20806).
    KERAS3_ASSIGN_RETURNS_VALUE: Keras 3's ``Variable.assign``/``assign_add``/``assign_sub``
        return the assigned value (Keras >= 3.5, keras#20040; before, None).
    KERAS3_VARIABLE_FLOAT: ``float()``/``int()`` of a scalar Keras 3 variable work (not Keras 3.0-3.2,
        where Keras also keeps a ``result()`` that is a variable in the logs, unconverted).
    KERAS3_LOSS_MEAN_BY_SAMPLES: Keras 3's own ``train_step``/``test_step`` weigh each batch's loss
        by its size in the epoch's ``loss`` (Keras >= 3.2; Keras 3.0-3.1 average the batches, so a
        smaller last batch counts as much as a full one, unlike Keras 2).
    KERAS3_LOADS_SLICED_TENSORS: Keras 3 loads a functional model that slices a tensor (``x[:, :3]``,
        saved as a list key of ``GetItem``); Keras 3.0-3.1 raise "Unsupported key type for array slice".
    DISTRIBUTED_METRICS: under ``tf.distribute`` with several replicas Keras's
        metrics (its own and the library's) count whole batches; Keras 3 before
        3.10 count part of each (measured: 3.0, 3.2, 3.5, 3.7, 3.9 wrong; 3.10 right).
    KERAS3_SCALES_REPLICA_LOSSES: under ``tf.distribute`` Keras 3 divides each replica's loss by the
        number of replicas before the optimizer sums their gradients (``scale_loss_for_distribution``;
        not Keras 3.0-3.2, where the summed gradients are that many times the batch's).
    LOAD_ALLOWS_PARTIAL_CHECKPOINT: ``tf.saved_model.LoadOptions(allow_partial_checkpoint=True)``
        exists (TF >= 2.6), letting Keras 2 load a SavedModel whose metrics share a ``ConfusionMatrix``.
    METRICS_LIST_PER_OUTPUT: a ``metrics`` list with one entry per output of a multi-output model
        gives entry i to output i (Keras 3's ``CompileMetrics``; measured 3.0, 3.5, 3.15); Keras 2 and
        tf_keras give every entry to every output.
    PER_OUTPUT_LOSS_LOGS: a model with several outputs logs each output's loss as ``<output>_loss``
        (Keras 2, tf_keras; Keras 3 from its ``CompileLoss.metrics``, not Keras 3.0-3.2, which log
        only the total ``loss``).
    KERAS3_LAYER_METRICS_IN_MODEL: Keras 3's ``model.metrics`` (logs, epoch resets) lists the
        metrics its sublayers own (``Layer.metrics``, Keras >= 3.3, keras#19522; before, only the model's own).
    NESTED_LAYER_METRICS: Keras logs what layers inside a nested model add with ``add_metric``
        under their own keys; TF 1.15 Keras loses those keys and shifts the outer model's onto
        their values (measured: TF 1.15 wrong; 2.0, 2.1, 2.15 and its graph mode, Keras 3 right).
    CLIPS_BEFORE_APPLY_GRADIENTS: Keras's ``train_step`` clips the gradients (the optimizer's
        ``clipnorm``/``clipvalue``) before it hands them to ``optimizer.apply_gradients``
        (``training._minimize`` of TF 2.2/2.3); later Keras clips inside ``apply_gradients``.
    STACK: ``"TF 2.3.4 (Keras 2.4.0)"``, for messages.
    RELEASE: ``(major, minor)`` of TensorFlow, for tables and messages only.
"""

import inspect

import tensorflow as tf

# Imported by name: ``from . import runtime`` would load the whole package (its lazy ``__getattr__``).
from .runtime import KERAS_FLAVOUR, KERAS_VERSION, TF_VERSION, Version
from .runtime import keras as _keras

_Model = _keras.Model
_Metric = _keras.metrics.Metric

KERAS3 = KERAS_FLAVOUR == "keras3"


def _keras3_module(name):
    """A module of Keras 3's implementation (``keras.src...``), to probe."""
    import importlib
    return importlib.import_module(name)


GRAPH_MODE = not KERAS3
HAS_TRAIN_STEP = hasattr(_Model, "train_step")
HONOURS_RUN_TF_FUNCTION = not KERAS3 and not HAS_TRAIN_STEP
ACCEPTS_RUN_TF_FUNCTION = not KERAS3
HAS_COMPUTE_LOSS = hasattr(_Model, "compute_loss")
HAS_COMPUTE_METRICS = hasattr(_Model, "compute_metrics")
RESET_IS_RESET_STATE = hasattr(_Metric, "reset_state")
HAS_RESET_STATES = hasattr(_Metric, "reset_states")
DICT_RESULTS_FLATTENED = HAS_TRAIN_STEP
HAS_F1_SCORE = hasattr(_keras.metrics, "F1Score")
HAS_LAYER_ADD_METRIC = not KERAS3  # Keras 3 keeps the name, raising NotImplementedError
HAS_MODEL_ADD_LOSS_SYMBOLIC = not KERAS3
ADD_WEIGHT_NAME_FIRST = not KERAS3
REGISTERED_NAMES = hasattr(_keras.utils, "get_registered_name")
SAVED_MODEL_FORMAT = not KERAS3 and HAS_TRAIN_STEP
SAVE_SUFFIX = ".keras" if KERAS3 else ".h5"
GRADIENT_NORM_DISTRIBUTED = HAS_TRAIN_STEP
WEIGHTED_METRICS_DISTRIBUTED = not Version("2.0") <= TF_VERSION < Version("2.1")  # measured: TF 2.0 refuses
HAS_LOSS_SCALE_OPTIMIZER = hasattr(getattr(_keras, "mixed_precision", None), "LossScaleOptimizer")
KERAS3_KEEPS_TRAIN_STEP_LOGS = not KERAS3 or KERAS_VERSION >= Version("3.3")
KERAS3_VARIABLE_AGGREGATION = KERAS3 and "aggregation" in inspect.signature(_Metric.add_variable).parameters
KERAS3_COMPUTE_LOSS_TRAINING = KERAS3 and (hasattr(_Model, "_compute_loss")
                                           or "training" in inspect.signature(_Model.compute_loss).parameters)
KERAS3_NEW_REGISTERED_NAMES = KERAS3 and KERAS_VERSION >= Version("3.7")
DISTRIBUTED_METRICS = not KERAS3 or KERAS_VERSION >= Version("3.10")
KERAS3_ASSIGN_RETURNS_VALUE = KERAS3 and KERAS_VERSION >= Version("3.5")
KERAS3_VARIABLE_FLOAT = KERAS3 and hasattr(_keras.Variable, "__float__")
KERAS3_LOSS_MEAN_BY_SAMPLES = KERAS3 and KERAS_VERSION >= Version("3.2")
KERAS3_LOADS_SLICED_TENSORS = KERAS3 and KERAS_VERSION >= Version("3.2")
KERAS3_SCALES_REPLICA_LOSSES = KERAS3 and hasattr(_keras3_module("keras.src.losses.loss"), "scale_loss_for_distribution")
PER_OUTPUT_LOSS_LOGS = not KERAS3 or hasattr(_keras3_module("keras.src.trainers.compile_utils").CompileLoss, "metrics")
KERAS3_LAYER_METRICS_IN_MODEL = KERAS3 and hasattr(_keras.layers.Layer, "metrics")
LOAD_ALLOWS_PARTIAL_CHECKPOINT = "allow_partial_checkpoint" in inspect.signature(
    getattr(tf.saved_model, "LoadOptions", lambda: None)).parameters
METRICS_LIST_PER_OUTPUT = KERAS3 and hasattr(_keras3_module("keras.src.trainers.compile_utils"), "CompileMetrics")
NESTED_LAYER_METRICS = TF_VERSION >= Version("2.0")
CLIPS_BEFORE_APPLY_GRADIENTS = not KERAS3 and hasattr(
    inspect.getmodule(_Model.fit), "_minimize")  # the module of Keras 2's Model (TF 2.2/2.3)

STACK = "TF {} ({} {})".format(TF_VERSION, "tf_keras" if KERAS_FLAVOUR == "tf_keras" else "Keras",
                               KERAS_VERSION)
RELEASE = (TF_VERSION.major, TF_VERSION.minor)

NAMES = (
    "KERAS3", "GRAPH_MODE", "HAS_TRAIN_STEP", "HONOURS_RUN_TF_FUNCTION", "ACCEPTS_RUN_TF_FUNCTION",
    "HAS_COMPUTE_LOSS", "HAS_COMPUTE_METRICS", "RESET_IS_RESET_STATE", "HAS_RESET_STATES",
    "DICT_RESULTS_FLATTENED", "HAS_F1_SCORE", "HAS_LAYER_ADD_METRIC", "HAS_MODEL_ADD_LOSS_SYMBOLIC",
    "ADD_WEIGHT_NAME_FIRST", "REGISTERED_NAMES", "SAVED_MODEL_FORMAT",
    "GRADIENT_NORM_DISTRIBUTED", "WEIGHTED_METRICS_DISTRIBUTED", "HAS_LOSS_SCALE_OPTIMIZER", "KERAS3_KEEPS_TRAIN_STEP_LOGS",
    "KERAS3_VARIABLE_AGGREGATION", "KERAS3_COMPUTE_LOSS_TRAINING",
    "KERAS3_NEW_REGISTERED_NAMES", "KERAS3_ASSIGN_RETURNS_VALUE", "KERAS3_VARIABLE_FLOAT",
    "KERAS3_LOSS_MEAN_BY_SAMPLES", "KERAS3_LAYER_METRICS_IN_MODEL", "PER_OUTPUT_LOSS_LOGS",
    "KERAS3_LOADS_SLICED_TENSORS", "KERAS3_SCALES_REPLICA_LOSSES", "DISTRIBUTED_METRICS",
    "METRICS_LIST_PER_OUTPUT", "LOAD_ALLOWS_PARTIAL_CHECKPOINT", "CLIPS_BEFORE_APPLY_GRADIENTS",
    "NESTED_LAYER_METRICS",
)


def as_dict():
    """``{flag name: value}`` for every boolean capability (``doctor`` and the sweep print it)."""
    return {name: globals()[name] for name in NAMES}
