"""CM011: ``model.add_metric(tensor, ...)`` on a model built from symbolic tensors (reported)."""

import re

import libcst as cst

from .._context import Rule
from .._syntax import code


class ModelAddMetricRule(Rule):
    ID = "CM011"
    NAME = "model-add-metric"
    TRIGGER = re.compile(r"\.add_metric\b")
    DOC = ("`model.add_metric(tensor, name=..., aggregation=...)` on a functional model (common in VAEs): "
           "Keras 3 removed add_metric and cannot use TF ops on its symbolic tensors. Reported: compute the "
           "value in a compat_metrics.MetricLayer subclass (compute(self, inputs)) called on the tensors it "
           "needs, and keep its output in the model.")

    def leave_Call(self, original, updated):
        func = original.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "add_metric"
                and not (isinstance(func.value, cst.Name) and func.value.value == "self") and original.args):
            return updated
        if isinstance(func.value, cst.Name) and func.value.value == "compat_metrics":
            return updated
        self.report(original, "`{}.add_metric(...)` is removed in Keras 3 (and the model's symbolic tensors "
                    "cannot go through TF ops there): subclass compat_metrics.MetricLayer with "
                    "compute(self, inputs) returning this value, call it on the tensors it uses and keep its "
                    "output in the model; it logs under the layer's name".format(code(func.value)), False)
        return updated
