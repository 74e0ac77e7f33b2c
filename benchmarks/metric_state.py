"""Why the mean reading of a tracked component costs what it costs: metric-state ablation.

Run: ``PYTHONPATH=. python benchmarks/metric_state.py --mode function`` (or
``--mode graph`` on TF 1.15). On the tiny model of ``training_step.py`` (where
the fixed per-step cost shows), with the 2 components of the ``seed`` loss
family (cross-entropy + L2), it times side by side: loss only; a recomputing
metric; ``ComponentMetric`` with ``reduction="last"`` (1 scalar variable) and
``"mean"`` (one ``(2,)`` variable, the library's layout); and two ablations:
the mean kept in two scalar variables (the former layout), and two variables
of which only one is updated. Prints CPU milliseconds per step over loss only.

Found with it (Keras 3, ``tf.function``): the cost follows the number of metric
variables, not the ops: two variables cost about twice one, even when only
one is updated. Hence the single ``(2,)`` state.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("graph", "function", "eager"), default="function")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--out", help="JSON file for the results")
    return parser.parse_args(argv)


ARGS = parse_args()
sys.argv = [sys.argv[0], "--mode", ARGS.mode, "--out", "unused"]
import _util  # noqa: E402
import tensorflow as tf  # noqa: E402
import training_step as ts  # noqa: E402  (reads --mode, disables v2 behaviour for graph mode)

import compat_metrics  # noqa: E402

keras = compat_metrics.keras


class TwoVariables(keras.metrics.Metric):
    """The mean in two scalar variables (the layout before the change)."""

    def __init__(self, tracker, component, update_count=True):
        super().__init__(name=component)
        self.tracker, self.component, self.update_count = tracker, component, update_count
        self.total = self.add_weight(name="total", shape=(), initializer="zeros")
        self.count = self.add_weight(name="count", shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        value = self.tracker.read(self.component)
        if not self.update_count:
            return self.total.assign_add(value)
        batch = tf.cast(tf.shape(y_pred)[0], self.dtype)
        with tf.control_dependencies([self.total.assign_add(value * batch)]):
            return self.count.assign_add(batch)

    def result(self):
        return tf.math.divide_no_nan(self.total, self.count)


def build(kind, index):
    parts = ts.FAMILIES["seed"]
    model = ts.tiny_model()
    if kind == "loss_only":
        loss, metrics = ts.PlainLoss(parts), []
    elif kind == "recompute":
        loss, metrics = ts.PlainLoss(parts), [ts.MetricHighCost(fn, "re_" + n) for n, fn in parts]
    else:
        loss = ts.TrackedLoss(parts, name=f"ablation_{index}")
        if kind in ("last", "mean"):
            metrics = loss.metrics(reduction=kind)
        else:
            metrics = [TwoVariables(loss.tracker, n, update_count=kind == "two_variables") for n, _ in parts]
    compat_metrics.compile(model, optimizer=keras.optimizers.Adam(1e-4), loss=loss, metrics=metrics,
                           run_eagerly=ARGS.mode == "eager")
    return model


def main():
    data = ts.batches(4)
    kinds = ["loss_only", "recompute", "last", "mean", "two_variables", "two_variables_one_updated"]
    models = {kind: build(kind, index) for index, kind in enumerate(kinds)}
    for model in models.values():
        for x, y in data[:2]:
            model.train_on_batch(x, y)

    def block(model):
        def run():
            for step in range(ARGS.steps):
                x, y = data[step % len(data)]
                model.train_on_batch(x, y)
        return run

    timing = _util.interleaved({k: block(m) for k, m in models.items()}, ARGS.rounds, "loss_only")
    for kind, entry in timing.items():
        entry["cpu_ms_over_loss_only_per_step"] = {
            k: 1000.0 * v / ARGS.steps for k, v in entry["cpu_minus_baseline"].items()}
        print("{:6} {:26} CPU x{:.3f} ({:.3f}-{:.3f})  {:+.3f} ms/step".format(
            ARGS.mode, kind, entry["ratio"]["median"], entry["ratio"]["p25"], entry["ratio"]["p75"],
            entry["cpu_ms_over_loss_only_per_step"]["median"]))
    if ARGS.out:
        _util.write(ARGS.out, {"mode": ARGS.mode, "stack": _util.stack(), "rounds": ARGS.rounds,
                               "steps_per_round": ARGS.steps, "variants": timing})


if __name__ == "__main__":
    main()
