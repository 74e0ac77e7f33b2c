"""CM009: compile() with metrics as the third positional argument -> keyword arguments."""

from .._context import Rule
from .._syntax import code, compile_keywords


class CompilePositionalRule(Rule):
    ID = "CM009"
    NAME = "compile-positional"
    DOC = ("compile() with metrics as the third positional argument: Keras 3's third parameter is "
           "loss_weights. The arguments are given by keyword, in Keras 2's order.")

    def leave_Call(self, original, updated):
        # runs after CM002 and CM007, which rewrite the whole call to compat_metrics.compile
        if not self.ctx.is_keras_compile(original.func):
            return updated
        if sum(1 for a in original.args if a.keyword is None and a.star == "") <= 2:
            return updated
        self.report(original, "`{}` passes metrics positionally (Keras 3 reads the third argument as "
                    "loss_weights) -> keyword arguments".format(code(original.func)), True)
        return updated.with_changes(args=compile_keywords(updated.args))
