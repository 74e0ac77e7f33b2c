"""CM005: ``self.compiled_loss`` / ``self.compiled_metrics`` in train_step / test_step.

The canonical body (keras.io's "customizing what happens in fit": forward
pass, ``self.compiled_loss``, apply gradients, ``self.compiled_metrics``,
``return {m.name: m.result() for m in self.metrics}``) is rewritten: a
``train_step`` to ``return compat_metrics.train_step(self, data)``, a
``test_step`` to ``return super().test_step(data)`` (Keras's own evaluation
step). Any other body is reported.
"""

import io
import re
import tokenize

import libcst as cst

from .._context import Rule
from .._syntax import code, is_docstring

_SKIP_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                tokenize.ENCODING, tokenize.ENDMARKER}
_VARS = r"(?:(?P=vars)|self \. trainable_variables|self \. trainable_weights)"
_RETURN = r"return \{ (?P<m>\w+) \. name : (?P=m) \. result \( \) for (?P=m) in self \. metrics \}"
_TRAIN = re.compile(
    r"(?P<x>\w+) , (?P<y>\w+) = (?P<data>\w+) "
    r"with \w+ \. GradientTape \( \) as (?P<tape>\w+) : "
    r"(?P<pred>\w+) = self \( (?P=x) , training = True \) "
    r"(?P<loss>\w+) = self \. compiled_loss \( (?P=y) , (?P=pred) (?:, regularization_losses = self \. losses )?\) "
    r"(?:(?P<vars>\w+) = self \. trainable_(?:variables|weights) )?"
    r"(?P<grads>\w+) = (?P=tape) \. gradient \( (?P=loss) , " + _VARS + r" \) "
    r"self \. optimizer \. apply_gradients \( zip \( (?P=grads) , " + _VARS + r" \) \) "
    r"self \. compiled_metrics \. update_state \( (?P=y) , (?P=pred) \) " + _RETURN + r"$")
_TEST = re.compile(
    r"(?P<x>\w+) , (?P<y>\w+) = (?P<data>\w+) "
    r"(?P<pred>\w+) = self \( (?P=x) , training = False \) "
    r"(?:\w+ = )?self \. compiled_loss \( (?P=y) , (?P=pred) (?:, regularization_losses = self \. losses )?\) "
    r"self \. compiled_metrics \. update_state \( (?P=y) , (?P=pred) \) " + _RETURN + r"$")


def _normalized(statements):
    """The statements' tokens joined by single spaces, without comments, blank lines or indentation."""
    text = "".join(code(stmt) for stmt in statements)
    try:
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        return " ".join(tok.string for tok in tokens if tok.type not in _SKIP_TOKENS)
    except (tokenize.TokenError, IndentationError):
        return ""


def canonical_step(function):
    """``"train_step"``/``"test_step"`` if ``function`` is that method with the canonical body, else None."""
    name = function.name.value
    params = function.params.params
    if name not in ("train_step", "test_step") or len(params) != 2 or not isinstance(function.body, cst.IndentedBlock):
        return None
    statements = [s for s in function.body.body if not is_docstring(s)]
    match = (_TRAIN if name == "train_step" else _TEST).match(_normalized(statements))
    if match and match.group("data") == params[1].name.value:
        return name
    return None


class TrainStepRule(Rule, rule_id="CM005", name="train-step-compiled", trigger=r"compiled_(?:loss|metrics)"):
    """`self.compiled_loss(...)` / `self.compiled_metrics.update_state(...)` in train_step/test_step: no
    train_step before TF 2.2, and on Keras 3 these shims log a wrong loss without an error. keras.io's canonical
    train_step body becomes `return compat_metrics.train_step(self, data)` and the canonical test_step body
    `return super().test_step(data)`; other bodies are reported."""

    def prepare(self, module):
        self.canonical = set()
        helper = self.ctx.helpers.get("train_step")
        for node in module.body:
            if isinstance(node, cst.ClassDef):
                for stmt in node.body.body:
                    if isinstance(stmt, cst.FunctionDef):
                        step = canonical_step(stmt)
                        if step == "test_step" or (step == "train_step" and helper):
                            self.canonical.add(stmt)

    def leave_FunctionDef(self, original, updated):
        if original not in self.canonical:
            return updated
        param = original.params.params[1].name.value
        if original.name.value == "train_step":
            helper = self.ctx.helpers["train_step"]
            text = f"return compat_metrics.{helper}(self, {param})\n"
            self.ctx.needs_compat_import = True
            message = ("train_step is keras.io's canonical body (self.compiled_loss/compiled_metrics: a wrong "
                       f"logged loss on Keras 3) -> `{text.strip()}`")
        else:
            text = f"return super().test_step({param})\n"
            message = (f"test_step is keras.io's canonical body (self.compiled_loss/compiled_metrics) -> `{text.strip()}`, "
                       "Keras's own evaluation step")
        self.report(original, message, True)
        docstring = [s for s in updated.body.body[:1] if is_docstring(s)]
        return updated.with_changes(body=updated.body.with_changes(body=docstring + [cst.parse_statement(text)]))

    def leave_Call(self, original, updated):
        functions = self.ctx.function_nodes
        if not (functions and functions[-1].name.value in ("train_step", "test_step")):
            return updated
        if functions[-1] in self.canonical:
            return updated  # the whole body is rewritten
        target = code(original.func)
        if target not in ("self.compiled_loss", "self.compiled_metrics.update_state"):
            return updated
        step = functions[-1].name.value
        helper = self.ctx.helpers.get("train_step")
        if step == "test_step":
            advice = ("Keras's own test_step does this on Keras 2 and 3: `return super().test_step(data)` "
                      "(not compat_metrics.train_step, which would apply gradients during evaluation)")
        elif helper:
            advice = (f"`return compat_metrics.{helper}(self, data)` does the whole step on Keras 2 and 3 (put extra "
                      "metrics in compile(metrics=...))")
        else:
            advice = ("no train_step before TF 2.2 and a deprecated shim on Keras 3; put metrics in "
                      "compile(metrics=...) (streaming metrics, loss.metric(...)) instead of a custom train_step")
        self.report(original, f"`{target}` in {step}: {advice}", False)
        return updated
