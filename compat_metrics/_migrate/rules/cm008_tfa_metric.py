"""CM008: tensorflow_addons metrics -> compat_metrics.F1Score / FBetaScore."""

import libcst as cst

from .._context import Rule
from .._syntax import code, comma_space, keyword_arg

# tensorflow_addons metric -> (compat_metrics name, tfa positional order)
TFA_METRICS = {
    "F1Score": ("F1Score", ("num_classes", "average", "threshold", "name", "dtype")),
    "FBetaScore": ("FBetaScore", ("num_classes", "average", "beta", "threshold", "name", "dtype")),
}


class TfaMetricRule(Rule):
    ID = "CM008"
    NAME = "tfa-metric"
    DOC = ("tensorflow_addons metrics (end of life, no wheels for current TF). F1Score and FBetaScore are "
           "replaced by compat_metrics.F1Score / FBetaScore.")

    def leave_Call(self, original, updated):
        for q in self.names.of(original.func):
            if q.startswith("tensorflow_addons.metrics."):
                return self._rewrite(original, updated, q.rsplit(".", 1)[1])
        return updated

    def _rewrite(self, original, updated, name):
        if name not in TFA_METRICS:
            self.report(original, "tensorflow_addons metric `{}` has no compat_metrics equivalent; "
                        "keras.metrics may have one (TF >= 2.13)".format(name), False)
            return updated
        new_name, order = TFA_METRICS[name]
        args = []
        threshold = False
        for i, arg in enumerate(updated.args):
            keyword = arg.keyword.value if arg.keyword is not None else (order[i] if i < len(order) else None)
            if keyword == "threshold" and not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
                threshold = True
            if arg.keyword is None and i > 0 and keyword is not None:
                arg = keyword_arg(arg, keyword)
            args.append(arg)
        if threshold:
            if args:
                args[-1] = args[-1].with_changes(comma=comma_space())
            args.append(cst.parse_expression("f(multilabel=True)").args[0])
        self.report(original, "`{}` -> `compat_metrics.{}`{} (sparse or one-hot labels, matches "
                    "scikit-learn)".format(code(original.func), new_name,
                                          " with multilabel=True (tfa thresholds each class)" if threshold else ""),
                    True)
        return updated.with_changes(func=self.ctx.compat(new_name), args=args)
