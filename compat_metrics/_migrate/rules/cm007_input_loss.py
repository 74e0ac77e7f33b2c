"""CM007: a loss constructed with the model's symbolic inputs -> compat_metrics.InputLoss."""


import libcst as cst

from .._context import Rule
from .._syntax import (
    assigns_self_attr_from,
    code,
    comma_space,
    drop_statements,
    is_self_attr,
    keyword_value,
    methods,
    self_assignments,
    walk,
    without_last_comma,
)


def input_plan(classdef, position):
    """``(param, attr, position)`` when ``__init__``'s argument ``position`` is stored as ``self.attr``
    and read only in ``call``; None when the class cannot be rewritten safely."""
    found = methods(classdef)
    init, call = found.get("__init__"), found.get("call")
    if init is None or call is None or len(call.params.params) != 3:
        return None
    params = list(init.params.params)[1:]
    if position >= len(params):
        return None
    param = params[position].name.value
    attr = None
    for name, (_stmt, value) in self_assignments(init).items():
        if isinstance(value, cst.Name) and value.value == param:
            attr = name
    if attr is None:
        return None
    for name, method in found.items():
        if name not in ("__init__", "call") and any(is_self_attr(n, attr) for n in walk(method)):
            return None
    return param, attr, position


class _ReplaceSelfAttr(cst.CSTTransformer):
    def __init__(self, attr, name):
        super().__init__()
        self.attr, self.name = attr, name

    def leave_Attribute(self, original, updated):
        if is_self_attr(original, self.attr):
            return cst.Name(self.name)
        return updated


class InputLossRule(Rule, rule_id="CM007", name="input-loss", trigger=r"class\s+\w+\s*\([^)]*Loss\b"):
    """A loss constructed with the model's symbolic inputs (`loss=LocLoss(inputs, ...)`): fails on TF >= 2.2 and
    Keras 3, and the model cannot be loaded. Replaced by compat_metrics.InputLoss (call(self, inputs, y_true,
    y_pred)) compiled with compat_metrics.compile."""

    def prepare(self, module):
        """Find ``LossClass(<model input>, ...)`` constructions before rewriting."""
        for node in self.a.calls:
            if not isinstance(node.func, cst.Name):
                continue
            cls = self.a.loss_classes.get(node.func.value)
            if cls is None:
                continue
            for position, arg in enumerate(node.args):
                if arg.keyword is None and isinstance(arg.value, cst.Name) and arg.value.value in self.a.input_names:
                    plan = input_plan(cls, position)
                    if plan is not None:
                        self.ctx.input_plans.setdefault(cls.name.value, plan)
                    break

    def relevant(self, text):
        return self.mentions(text, self.ctx.input_plans)

    def leave_ClassDef(self, original, updated):
        if original.name.value not in self.ctx.input_plans:
            return updated
        param, attr, _ = self.ctx.input_plans[original.name.value]
        updated = self.ctx.replace_base(original, updated, "InputLoss")
        body = []
        for stmt in updated.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
                params = without_last_comma([p for p in stmt.params.params if p.name.value != param])
                lines = drop_statements(stmt.body.body, lambda s: assigns_self_attr_from(s, attr, param))
                stmt = stmt.with_changes(params=stmt.params.with_changes(params=params),
                                         body=stmt.body.with_changes(body=lines))
            elif isinstance(stmt, cst.FunctionDef) and stmt.name.value == "call":
                params = list(stmt.params.params)
                params.insert(1, cst.Param(name=cst.Name(param), comma=comma_space()))
                stmt = stmt.with_changes(params=stmt.params.with_changes(params=params))
                stmt = stmt.visit(_ReplaceSelfAttr(attr, param))
            body.append(stmt)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def _is_input_loss_call(self, arg, index):
        if not ((arg.keyword is not None and arg.keyword.value == "loss") or (arg.keyword is None and index == 1)):
            return False
        value = arg.value
        return (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)
                and value.func.value in self.ctx.input_plans)

    def leave_Call(self, original, updated):
        func = original.func
        if isinstance(func, cst.Name) and func.value in self.ctx.input_plans:
            return self._construction(original, updated)
        if (self.ctx.is_keras_compile(func) and keyword_value(original, "experimental_run_tf_function") is None
                and any(self._is_input_loss_call(a, i) for i, a in enumerate(original.args))):
            # with the flag, CM002 rewrites it
            self.report(original, "compile() of a loss rewritten to a compat_metrics.InputLoss -> "
                        f"`compat_metrics.compile({code(func.value)}, ...)`, which binds it to the model", True)
            return self.ctx.compat_compile(updated)
        return updated

    def _construction(self, original, updated):
        func = original.func
        _, _, position = self.ctx.input_plans[func.value]
        args = list(updated.args)
        given = original.args[position].value if len(original.args) > position else None
        if not (isinstance(given, cst.Name) and given.value in self.a.input_names):
            self.report(original, f"{func.value} is rewritten to a compat_metrics.InputLoss; this call does not pass the "
                        "model's inputs: check its arguments", False)
        elif args[position].keyword is None:
            self.report(original, f"`{code(original)}` closes over the model's symbolic inputs -> {func.value} as a "
                        "compat_metrics.InputLoss (inputs become call's first argument), compiled with "
                        "compat_metrics.compile", True)
            del args[position]
            return updated.with_changes(args=without_last_comma(args))
        return updated
