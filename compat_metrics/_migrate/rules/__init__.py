"""The rules of ``compat-metrics migrate``, one module each.

``RULE_CLASSES`` is the order hooks run in: for one node, the first rule that
returns a new node wins (CM002, CM007 and CM012 rewrite a whole compile() call
before CM009 would name its arguments).
"""

import collections

from .cm001_component_loss import ComponentLossRule
from .cm002_run_tf_function import RunTfFunctionRule
from .cm003_tf1_api import Tf1ApiRule
from .cm004_keras2_metric import Keras2MetricRule
from .cm005_train_step import TrainStepRule
from .cm006_add_metric import AddMetricRule
from .cm007_input_loss import InputLossRule
from .cm008_tfa_metric import TfaMetricRule
from .cm009_compile_positional import CompilePositionalRule
from .cm010_reset_states import ResetStatesRule
from .cm011_model_add_metric import ModelAddMetricRule
from .cm012_input_loss_factory import InputLossFactoryRule

RULE_CLASSES = (TrainStepRule, AddMetricRule, ModelAddMetricRule, TfaMetricRule, Tf1ApiRule, InputLossRule,
                InputLossFactoryRule, ComponentLossRule, ResetStatesRule, Keras2MetricRule, RunTfFunctionRule,
                CompilePositionalRule)

# rule id -> (short name, what it finds and what replaces it), in id order
RULES = collections.OrderedDict(sorted((cls.ID, (cls.NAME, cls.DOC)) for cls in RULE_CLASSES))
