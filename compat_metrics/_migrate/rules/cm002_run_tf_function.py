"""CM002: ``experimental_run_tf_function`` in compile() -> compat_metrics.compile."""


from .._context import Rule
from .._syntax import code, keyword_value


class RunTfFunctionRule(Rule, rule_id="CM002", name="run-tf-function", trigger=r"experimental_run_tf_function"):
    """`experimental_run_tf_function` in compile(): changes code path on TF 2.0/2.1, ignored from 2.2, TypeError
    on Keras 3. Replaced by compat_metrics.compile(model, ...), which passes it only where TF honours it."""

    def leave_Call(self, original, updated):
        if not (self.ctx.is_keras_compile(original.func)
                and keyword_value(original, "experimental_run_tf_function") is not None):
            return updated
        self.report(original, "`experimental_run_tf_function` in compile() -> "
                              f"`compat_metrics.compile({code(original.func.value)}, ...)`", True)
        return self.ctx.compat_compile(updated)
