"""CM009: compile() with metrics as the third positional argument -> keyword arguments."""

import re

from .._context import Rule
from .._syntax import code, compile_keywords

_COMPILE = re.compile(r"\.compile\s*\(")


def _positional_count(text, start):
    """How many leading arguments of the call whose ``(`` ends at ``start`` have no top-level ``=``."""
    depth, count, keyword, quote = 0, 0, False, None
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return count + (0 if keyword or not text[start:i].strip() else 1)
            depth -= 1
        elif depth == 0 and char == "=" and text[i + 1:i + 2] != "=" and text[i - 1:i] not in "=!<>":
            keyword = True
        elif depth == 0 and char == ",":
            if keyword:
                return count
            count += 1
            start = i + 1
        i += 1
    return count


class CompilePositionalRule(Rule, rule_id="CM009", name="compile-positional"):
    """compile() with metrics as the third positional argument: Keras 3's third parameter is loss_weights. The
    arguments are given by keyword, in Keras 2's order."""

    @classmethod
    def could_match(cls, text):
        return any(_positional_count(text, m.end()) > 2 for m in _COMPILE.finditer(text))

    def leave_Call(self, original, updated):
        # runs after CM002 and CM007, which rewrite the whole call to compat_metrics.compile
        if not self.ctx.is_keras_compile(original.func):
            return updated
        if sum(1 for a in original.args if a.keyword is None and a.star == "") <= 2:
            return updated
        self.report(original, f"`{code(original.func)}` passes metrics positionally (Keras 3 reads the third argument as "
                    "loss_weights) -> keyword arguments", True)
        return updated.with_changes(args=compile_keywords(updated.args))
