"""CM008: tensorflow_addons metrics -> compat_metrics.F1Score / FBetaScore."""


import libcst as cst

from .._context import Rule
from .._syntax import code, comma_space, keyword_arg

# tensorflow_addons metric -> (compat_metrics name, tfa positional order)
TFA_METRICS = {
    "F1Score": ("F1Score", ("num_classes", "average", "threshold", "name", "dtype")),
    "FBetaScore": ("FBetaScore", ("num_classes", "average", "beta", "threshold", "name", "dtype")),
}


def _integer(node):
    """The value of an integer literal, else None."""
    return int(node.value, 0) if isinstance(node, cst.Integer) else None


class TfaMetricRule(Rule, rule_id="CM008", name="tfa-metric", trigger=r"tensorflow_addons"):
    """tensorflow_addons metrics (end of life, no wheels for current TF). F1Score and FBetaScore are replaced by
    compat_metrics.F1Score / FBetaScore: tfa's binary form (num_classes=1 with a threshold) is kept as it is, a
    threshold with several classes becomes multilabel=True (tfa thresholds each class), and a threshold with a
    num_classes that is not a literal is reported. An import of tensorflow_addons left unused is removed."""

    def relevant(self, text):
        return self.mentions(text, self.a.tfa_aliases)

    def leave_Call(self, original, updated):
        for q in self.names.of(original.func):
            if q.startswith("tensorflow_addons.metrics."):
                return self._rewrite(original, updated, q.rsplit(".", 1)[1])
        return updated

    def _rewrite(self, original, updated, name):
        if name not in TFA_METRICS:
            self.report(original, f"tensorflow_addons metric `{name}` has no compat_metrics equivalent; "
                        "keras.metrics may have one (TF >= 2.13)", False)
            return updated
        new_name, order = TFA_METRICS[name]
        args = []
        given = {}
        for i, arg in enumerate(updated.args):
            keyword = arg.keyword.value if arg.keyword is not None else (order[i] if i < len(order) else None)
            given[keyword] = arg.value
            if arg.keyword is None and i > 0 and keyword is not None:
                arg = keyword_arg(arg, keyword)
            args.append(arg)
        threshold = given.get("threshold")
        threshold = threshold is not None and not (isinstance(threshold, cst.Name) and threshold.value == "None")
        classes = _integer(given.get("num_classes"))
        if threshold and classes is None:
            self.report(original, "`{}` with a threshold and num_classes={}: not rewritten, as the binary form "
                        "(num_classes=1: compat_metrics.{}(num_classes=1, threshold=...)) and the multilabel "
                        "one (num_classes>1: add multilabel=True) differ; write the one this is".format(
                            code(original.func), code(given["num_classes"]) if "num_classes" in given else "?",
                            new_name), False)
            return updated
        multilabel = threshold and classes != 1
        if multilabel:
            args[-1] = args[-1].with_changes(comma=comma_space())
            args.append(cst.parse_expression("f(multilabel=True)").args[0])
        self.report(original, "`{}` -> `compat_metrics.{}`{}, as scikit-learn computes it".format(
            code(original.func), new_name,
            " with multilabel=True (tfa thresholds each class)" if multilabel else
            " (binary: scores y_pred > threshold)" if threshold else " (sparse or one-hot labels)"), True)
        base = original.func
        while isinstance(base, cst.Attribute):
            base = base.value
        if isinstance(base, cst.Name):
            self.ctx.removed_uses[base.value] += 1
        return updated.with_changes(func=self.ctx.compat(new_name), args=args)
