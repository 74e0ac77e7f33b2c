"""CM003: TF1-only API names -> tf.compat.v1 names and compat_metrics sessions."""

import libcst as cst

from .._context import Rule
from .._syntax import code

# Canonical names (see _syntax.canonical) of TF1-only APIs -> (replacement, needs compat_metrics import)
TF1_RENAMES = {
    "tensorflow.ConfigProto": ("{tf}.compat.v1.ConfigProto", False),
    "tensorflow.GPUOptions": ("{tf}.compat.v1.GPUOptions", False),
    "tensorflow.Session": ("compat_metrics.Session", True),
    "tensorflow.InteractiveSession": ("compat_metrics.Session", True),
    "keras.backend.set_session": ("compat_metrics.set_session", True),
    "keras.backend.get_session": ("{tf}.compat.v1.keras.backend.get_session", False),
    "tensorflow.get_variable": ("{tf}.compat.v1.get_variable", False),
    "tensorflow.global_variables_initializer": ("{tf}.compat.v1.global_variables_initializer", False),
    "tensorflow.local_variables_initializer": ("{tf}.compat.v1.local_variables_initializer", False),
    "tensorflow.global_variables": ("{tf}.compat.v1.global_variables", False),
    "tensorflow.placeholder": ("{tf}.compat.v1.placeholder", False),
    "tensorflow.variable_scope": ("{tf}.compat.v1.variable_scope", False),
    "tensorflow.RunOptions": ("{tf}.compat.v1.RunOptions", False),
}


class Tf1ApiRule(Rule):
    ID = "CM003"
    NAME = "tf1-api"
    DOC = ("TF1-only names (tf.ConfigProto, tf.Session, keras.backend.set_session, tf.get_variable, "
           "tf.global_variables_initializer, ...) that TF 2.x removed. Replaced by tf.compat.v1 names, "
           "and sessions by compat_metrics.Session / compat_metrics.set_session, which also work eagerly.")

    def leave_Attribute(self, original, updated):
        for q in self.names.of(original):
            if q not in TF1_RENAMES:
                continue
            text, compat = TF1_RENAMES[q]
            if text.startswith("{tf}.compat.v1.") and any(
                    r.startswith("tensorflow.compat.v1.") for r in self.names.raw(original)):
                continue  # already the tf.compat.v1 name
            if "{tf}" in text:
                text = text.format(tf=self.ctx.tf())
            if compat:
                self.ctx.needs_compat_import = True
            self.report(original, "`{}` does not exist in TF 2.x -> `{}`".format(code(original), text), True)
            return cst.parse_expression(text)
        return updated
