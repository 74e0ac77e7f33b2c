"""CM012: a loss factory closing over a ``keras.Input`` tensor (``loss=custom_loss(inputs)``) -> InputLoss.

The clear case: a module-level ``def factory(param):`` whose body is only
``def inner(y_true, y_pred): ...`` and ``return inner``, called only as
``factory(<model input>)`` as a compile() loss. It becomes
``class Factory(compat_metrics.InputLoss)`` with
``call(self, param, y_true, y_pred)`` holding ``inner``'s body, its calls
``Factory()``, and their compile() ``compat_metrics.compile(model, ...)``.
Any other call of a factory with a model input (more parameters, a metric,
``add_loss``) is reported with its line.
"""

import re

import libcst as cst

from .._context import Rule
from .._syntax import code, is_docstring, keyword_value


def _factory_inner(function):
    """The inner two-argument function ``function`` returns as its whole body, else None."""
    body = [s for s in function.body.body if not is_docstring(s)] if isinstance(function.body, cst.IndentedBlock) else []
    if len(body) != 2 or not isinstance(body[0], cst.FunctionDef):
        return None
    inner, last = body
    if not (isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and isinstance(last.body[0], cst.Return)
            and isinstance(last.body[0].value, cst.Name) and last.body[0].value.value == inner.name.value):
        return None
    params = inner.params
    if (len(params.params) != 2 or params.star_arg is not cst.MaybeSentinel.DEFAULT or params.star_kwarg
            or params.kwonly_params or params.posonly_params or inner.decorators or inner.asynchronous):
        return None
    return inner


def _camel(name):
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


_INNER_DEF = re.compile(r"\n[ \t]+def\s+\w+\s*\(\s*\w+\s*,\s*\w+\s*\)\s*:")


class InputLossFactoryRule(Rule, rule_id="CM012", name="input-loss-factory"):
    """A loss or metric factory closing over a keras.Input tensor (`loss=custom_loss(input_layer)` with `def
    custom_loss(x): def loss(y_true, y_pred): ...; return loss`): on Keras 3 "KerasTensor cannot be used as
    input to a TensorFlow function". The clear case (one parameter, used only as a compile() loss) becomes a
    compat_metrics.InputLoss subclass compiled with compat_metrics.compile; other uses are reported with the
    line."""

    @classmethod
    def could_match(cls, text):
        return "Input" in text and _INNER_DEF.search(text) is not None

    def prepare(self, module):
        self.factories = {}   # factory name -> (FunctionDef, inner FunctionDef)
        for stmt in module.body:
            if isinstance(stmt, cst.FunctionDef):
                inner = _factory_inner(stmt)
                if inner is not None:
                    self.factories[stmt.name.value] = (stmt, inner)
        self.plans = {}       # factory name -> class name (the clear cases)
        self.sites = set()    # factory calls inside compile's loss, to rewrite
        self.compiles = set()
        if not self.factories:
            return
        calls = {name: [] for name in self.factories}
        compile_of = {}  # factory call -> the compile() whose loss it is
        for node in self.a.calls:
            if isinstance(node.func, cst.Name) and node.func.value in calls:
                calls[node.func.value].append(node)
            elif self.ctx.is_keras_compile(node.func):
                loss = keyword_value(node, "loss")
                if loss is None and len(node.args) > 1 and node.args[1].keyword is None:
                    loss = node.args[1].value
                candidates = [loss] + ([e.value for e in loss.elements] if isinstance(loss, (cst.List, cst.Tuple))
                                       else [])
                for value in candidates:
                    if isinstance(value, cst.Call):
                        compile_of[value] = node
        for name, sites in calls.items():
            function, inner = self.factories[name]
            if not any(self._passes_input(call) or self._passes_tensor(call) for call in sites):
                continue
            clear = (len(function.params.params) == 1 and not function.decorators and not function.params.kwonly_params
                     and function.params.star_arg is cst.MaybeSentinel.DEFAULT and not function.params.star_kwarg
                     and _camel(name) != name and not self.mentions(self.ctx.text, [_camel(name)])
                     and all(self._passes_input(call) and len(call.args) == 1 and call in compile_of
                             for call in sites))
            if clear:
                self.plans[name] = _camel(name)
                self.sites.update(sites)
                self.compiles.update(compile_of[call] for call in sites)

    def relevant(self, text):
        return self.mentions(text, self.factories)

    def _passes_tensor(self, call):
        return any(isinstance(a.value, cst.Name) and a.value.value in self.a.tensor_names for a in call.args)

    def _passes_input(self, call):
        return any(isinstance(a.value, cst.Name) and a.value.value in self.a.input_names for a in call.args)

    def leave_FunctionDef(self, original, updated):
        name = original.name.value
        if name not in self.plans or self.ctx.function_nodes or self.ctx.classes:
            return updated
        _, inner = self.factories[name]
        param = original.params.params[0].name.value
        updated_inner = [s for s in updated.body.body if isinstance(s, cst.FunctionDef)][0]
        y_true, y_pred = (p.name.value for p in inner.params.params)
        call = updated_inner.with_changes(
            name=cst.Name("call"), leading_lines=[],
            params=cst.parse_statement(f"def call(self, {param}, {y_true}, {y_pred}):\n    pass\n").params)
        docstring = [s for s in updated.body.body[:1] if is_docstring(s)]
        self.report(original, f"loss factory `{name}` closes over the model's symbolic input -> `class {self.plans[name]}("
                    f"compat_metrics.InputLoss)` with call(self, {param}, {y_true}, {y_pred}), compiled with compat_metrics.compile", True)
        return cst.ClassDef(
            name=cst.Name(self.plans[name]), bases=[cst.Arg(value=self.ctx.compat("InputLoss"))],
            body=updated.body.with_changes(body=docstring + [call]), leading_lines=updated.leading_lines,
            lines_after_decorators=updated.lines_after_decorators)

    def leave_Call(self, original, updated):
        func = original.func
        if original in self.sites:
            return updated.with_changes(func=cst.Name(self.plans[func.value]), args=[])
        if original in self.compiles and keyword_value(original, "experimental_run_tf_function") is None:
            self.report(original, "compile() of a loss rewritten to a compat_metrics.InputLoss -> "
                        f"`compat_metrics.compile({code(func.value)}, ...)`, which binds it to the model", True)
            return self.ctx.compat_compile(updated)
        if (isinstance(func, cst.Name) and func.value in self.factories and func.value not in self.plans
                and not self._passes_input(original) and self._passes_tensor(original)):
            self.report(original, f"`{func.value}(...)` closes over a layer's symbolic output: fails on Keras 3 (\"KerasTensor "
                        "cannot be used as input to a TensorFlow function\"); not rewritten: make the value an "
                        "output of the model (a loss on it), or add it with model.add_loss / a "
                        "compat_metrics.MetricLayer", False)
        elif (isinstance(func, cst.Name) and func.value in self.factories and func.value not in self.plans
                and self._passes_input(original)):
            self.report(original, f"`{func.value}(...)` closes over the model's symbolic input: fails on Keras 3 (\"KerasTensor "
                        "cannot be used as input to a TensorFlow function\"); not rewritten (only a one-parameter "
                        "factory used as a compile() loss is): write a compat_metrics.InputLoss subclass "
                        "(call(self, inputs, y_true, y_pred)) and compile with compat_metrics.compile, or for a "
                        "metric a compat_metrics.MetricLayer", False)
        return updated
