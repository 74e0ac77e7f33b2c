"""CM011: ``model.add_metric(tensor, ...)`` / ``model.add_loss(tensor)`` on a functional model (reported)."""


import libcst as cst

from .._context import Rule
from .._syntax import code


class ModelAddMetricRule(Rule, rule_id="CM011", name="model-add-metric", trigger=r"\.add_(?:metric|loss)\b"):
    """`model.add_metric(tensor, name=..., aggregation=...)` and `model.add_loss(tensor)` on a functional model
    (common in VAEs): Keras 3 removed add_metric and takes no symbolic tensor in add_loss. Reported: compute a
    metric in a compat_metrics.MetricLayer subclass (compute(self, inputs)), a loss with self.add_loss in a
    layer's call, called on the tensors they need."""

    def leave_Call(self, original, updated):
        func = original.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("add_metric", "add_loss")
                and not (isinstance(func.value, cst.Name) and func.value.value == "self") and original.args):
            return updated
        if isinstance(func.value, cst.Name) and func.value.value == "compat_metrics":
            return updated
        if func.attr.value == "add_loss":
            if isinstance(original.args[0].value, cst.Lambda) or self.ctx.classes:
                return updated  # a callable (Keras 2 regularizer form) or inside a layer/model class
            self.report(original, f"`{code(func.value)}.add_loss(tensor)`: Keras 3 takes no symbolic tensor here: compute the loss "
                        "in a layer's call with self.add_loss(...) (a layer called on the tensors it uses)", False)
            return updated
        self.report(original, f"`{code(func.value)}.add_metric(...)` is removed in Keras 3 (and the model's symbolic tensors "
                    "cannot go through TF ops there): subclass compat_metrics.MetricLayer with "
                    "compute(self, inputs) returning this value, call it on the tensors it uses and keep its "
                    "output in the model; it logs under the layer's name", False)
        return updated
