"""CM005: ``self.compiled_loss`` / ``self.compiled_metrics`` in train_step / test_step."""

from .._context import Rule
from .._syntax import code


class TrainStepRule(Rule):
    ID = "CM005"
    NAME = "train-step-compiled"
    DOC = ("`self.compiled_loss(...)` / `self.compiled_metrics.update_state(...)` in train_step/test_step: "
           "no train_step before TF 2.2, deprecated shims on Keras 3. Reported only: the message points at "
           "`return compat_metrics.train_step(self, data)`.")

    def leave_Call(self, original, updated):
        functions = self.ctx.functions
        if not (functions and functions[-1] in ("train_step", "test_step")):
            return updated
        target = code(original.func)
        if target not in ("self.compiled_loss", "self.compiled_metrics.update_state"):
            return updated
        helper = self.ctx.helpers.get("train_step")
        self.report(original, "`{}` in {}: {}".format(
            target, functions[-1],
            "`return compat_metrics.{}(self, data)` does the whole step on Keras 2 and 3 (put extra "
            "metrics in compile(metrics=...))".format(helper) if helper else
            "no train_step before TF 2.2 and a deprecated shim on Keras 3; put metrics in "
            "compile(metrics=...) (streaming metrics, loss.metric(...)) instead of a custom train_step"),
            False)
        return updated
