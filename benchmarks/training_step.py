"""Training-step cost of reading loss components: tracked vs recomputed vs loss only.

Run: ``PYTHONPATH=. python benchmarks/training_step.py --mode function --out r.json``
(``--mode graph`` on TF 1.15, or on TF 2.x with v2 behaviour disabled;
``--mode eager`` compiles with ``run_eagerly=True``).

The model (``seed``, shown as ``conv`` in docs/performance.md) is a
Conv/BN/LeakyReLU stack on generated 28x28x1 inputs, batch 64, trained with
``train_on_batch``; a tiny Dense model (``tiny``) on the same inputs shows the
fixed per-step cost, which the conv model's long step hides. Three loss
families, each in three variants compiled side by side (same architecture,
same batches):

- ``seed`` (shown as ``cheap``): summed sigmoid cross-entropy plus an L2 term
  on the logits (2 cheap components);
- ``expensive``: cross-entropy plus mean pairwise distances over the batch of a
  fixed 2048-d projection of the logits (a costly component);
- ``stochastic``: cross-entropy plus a WARP-style margin over sampled
  negative classes, so each evaluation draws new negatives.

Variants: ``loss_only`` (no metric), ``tracked`` (``ComponentLoss`` +
``loss.metrics()``, batch-weighted mean), ``tracked_last`` (``reduction="last"``,
last batch) and ``recompute`` (one metric per component that computes it again
from ``y_true``/``y_pred``).

For ``stochastic`` the script also checks what each metric reports against the
loss Keras used for the same batch: tracked components add up to it, a
recomputed sampled component does not.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow as tf  # noqa: E402

BATCH, CLASSES, PROJECTION, NEGATIVES = 64, 10, 2048, 10


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("graph", "function", "eager"), required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=4, help="train steps per variant per round")
    parser.add_argument("--check-batches", type=int, default=8)
    parser.add_argument("--families", default="seed,expensive,stochastic",
                        help="seed (cross-entropy + L2), expensive and/or stochastic")
    parser.add_argument("--models", default="seed,tiny", help="seed (the Conv/BN/LeakyReLU model) and/or tiny")
    parser.add_argument("--tiny-steps", type=int, default=20, help="steps per variant per round, tiny model")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.mode == "graph":
    from compat_metrics import runtime as _runtime
    if not _runtime.in_graph_mode():
        tf.compat.v1.disable_v2_behavior()

import _util  # noqa: E402

import compat_metrics  # noqa: E402

keras = compat_metrics.keras
_PROJECTION = np.random.RandomState(1).normal(size=(CLASSES, PROJECTION)).astype("float32") * np.float32(CLASSES ** -0.5)


def seed_model():
    """The Conv/BN/LeakyReLU model."""
    kl = keras.layers
    return keras.Sequential([
        kl.Conv2D(32, 3, 1, input_shape=[28, 28, 1]), kl.BatchNormalization(), kl.LeakyReLU(),
        kl.Conv2D(64, 3, 1), kl.BatchNormalization(), kl.LeakyReLU(),
        kl.Conv2D(128, 3, 1), kl.BatchNormalization(), kl.LeakyReLU(), kl.LeakyReLU(),
        kl.Flatten(), kl.Dense(512), kl.BatchNormalization(), kl.LeakyReLU(), kl.Dense(CLASSES)])


def ce(y_true, y_pred):
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred))


def l2(y_true, y_pred):
    return 0.01 * tf.reduce_mean(tf.square(y_pred))


def pairwise(y_true, y_pred):
    z = tf.matmul(y_pred, tf.constant(_PROJECTION))
    distances = tf.reduce_sum(tf.square(tf.expand_dims(z, 1) - tf.expand_dims(z, 0)), axis=-1)
    return 1e-3 * tf.reduce_mean(tf.sqrt(distances + 1e-6))


def warp(y_true, y_pred):
    negatives = tf.random.uniform((tf.shape(y_pred)[0], NEGATIVES), 0, CLASSES, dtype=tf.int32)
    negative_scores = tf.reduce_sum(tf.one_hot(negatives, CLASSES) * tf.expand_dims(y_pred, 1), axis=-1)
    positive_scores = tf.reduce_sum(y_true * y_pred, axis=-1, keepdims=True)
    return tf.reduce_mean(tf.nn.relu(1.0 - positive_scores + negative_scores))


FAMILIES = {
    "seed": (("ce", ce), ("reg", l2)),
    "expensive": (("ce", ce), ("pairwise", pairwise)),
    "stochastic": (("ce", ce), ("warp", warp)),
}


class PlainLoss(keras.losses.Loss):
    """The same loss without tracking."""

    def __init__(self, parts, name="plain"):
        super().__init__(name=name)
        self.parts = parts

    def call(self, y_true, y_pred):
        return tf.add_n([fn(y_true, y_pred) for _, fn in self.parts])


class TrackedLoss(compat_metrics.ComponentLoss):
    """The same loss, each part recorded with ``track``."""

    def __init__(self, parts, name):
        self.parts = parts
        super().__init__(components=[n for n, _ in parts], name=name)

    def call(self, y_true, y_pred):
        return tf.add_n([self.track(n, fn(y_true, y_pred)) for n, fn in self.parts])


class MetricHighCost(keras.metrics.Metric):
    """A recomputing metric: compute the component again, keep the batch value."""

    def __init__(self, fn, name):
        super().__init__(name=name)
        self.fn = fn
        self.value = self.add_weight(name="value", shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value.assign(self.fn(y_true, y_pred))

    def result(self):
        return tf.identity(self.value)


def tiny_model():
    """A tiny model on the same inputs: the step is short, so a fixed per-step cost shows."""
    kl = keras.layers
    return keras.Sequential([kl.Flatten(input_shape=[28, 28, 1]), kl.Dense(32), kl.LeakyReLU(), kl.Dense(CLASSES)])


MODELS = {"seed": seed_model, "tiny": tiny_model}


def build(model_name, family, variant, index):
    parts = FAMILIES[family]
    model = MODELS[model_name]()
    if variant == "loss_only":
        loss, metrics = PlainLoss(parts), []
    elif variant == "recompute":
        loss, metrics = PlainLoss(parts), [MetricHighCost(fn, "re_" + n) for n, fn in parts]
    else:
        loss = TrackedLoss(parts, name=f"{model_name}_{family}_{variant}_{index}")
        metrics = loss.metrics(reduction="last" if variant == "tracked_last" else "mean")
    compat_metrics.compile(model, optimizer=keras.optimizers.Adam(1e-4), loss=loss, metrics=metrics,
                           run_eagerly=ARGS.mode == "eager")
    return model


def batches(count, seed=0):
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(count):
        x = rng.normal(size=(BATCH, 28, 28, 1)).astype("float32")
        y = np.eye(CLASSES, dtype="float32")[rng.randint(0, CLASSES, size=BATCH)]
        out.append((x, y))
    return out


def named_logs(model, x, y):
    """One train step's logs as a dict, on every Keras version."""
    model.reset_metrics()
    try:
        logs = model.train_on_batch(x, y, return_dict=True)
    except TypeError:  # TF 1.15 - 2.1: no return_dict
        values = model.train_on_batch(x, y)
        logs = dict(zip(model.metrics_names, np.atleast_1d(values)))
    return {k: float(np.asarray(v)) for k, v in logs.items()}


def main():
    args = ARGS
    data = batches(4)
    families = [f for f in args.families.split(",") if f]
    model_names = [m for m in args.models.split(",") if m]
    variants = {"seed": ("loss_only", "tracked", "tracked_last", "recompute")}
    models = {}
    for model_name in model_names:
        for family in families:
            for variant in variants.get(family, ("loss_only", "tracked", "recompute")):
                models[(model_name, family, variant)] = build(model_name, family, variant, len(models))
    for model in models.values():  # build and trace
        for x, y in data[:2]:
            model.train_on_batch(x, y)

    def block(model, steps):
        def run():
            for step in range(steps):
                x, y = data[step % len(data)]
                model.train_on_batch(x, y)
        return run

    results = {"mode": args.mode, "stack": _util.stack(), "batch": BATCH, "rounds": args.rounds, "models": {}}
    for model_name in model_names:
        steps = args.steps if model_name == "seed" else args.tiny_steps
        entry_model = results["models"][model_name] = {"steps_per_round": steps, "families": {}}
        for family in families:
            runners = {variant: block(model, steps) for (m, f, variant), model in models.items()
                       if m == model_name and f == family}
            timing = _util.interleaved(runners, args.rounds, baseline="loss_only")
            for variant, entry in timing.items():
                entry["ms_per_step"] = _util.percentiles([1000.0 * s / steps for s in entry["seconds"]])
                entry["cpu_ms_per_step"] = _util.percentiles([1000.0 * s / steps for s in entry["cpu_seconds"]])
                entry["cpu_ms_over_loss_only_per_step"] = {
                    k: 1000.0 * v / steps for k, v in entry["cpu_minus_baseline"].items()}
                print("{:6} {:5} {:10} {:12} wall {:7.1f} ms/step x{:.3f}  cpu {:7.1f} ms/step "
                      "x{:.3f} [{:.3f}, {:.3f}] {:+.2f} ms".format(
                          args.mode, model_name, family, variant, entry["ms_per_step"]["median"],
                          entry["wall_ratio"]["median"], entry["cpu_ms_per_step"]["median"],
                          entry["ratio"]["median"], entry["ratio"]["p25"], entry["ratio"]["p75"],
                          entry["cpu_ms_over_loss_only_per_step"]["median"]))
            entry_model["families"][family] = {"components": [n for n, _ in FAMILIES[family]],
                                               "variants": timing}

    if "stochastic" in families:
        check = batches(args.check_batches, seed=7)
        rows = {"tracked": [], "recompute": []}
        for variant in rows:
            model = models[(model_names[0], "stochastic", variant)]
            for x, y in check:
                logs = named_logs(model, x, y)
                if variant == "tracked":
                    rows[variant].append(logs["loss"] - (logs["ce"] + logs["warp"]))
                else:
                    rows[variant].append(logs["loss"] - (logs["re_ce"] + logs["re_warp"]))
        values = {v: {"max_abs_loss_minus_sum": float(np.max(np.abs(d))),
                      "mean_abs_loss_minus_sum": float(np.mean(np.abs(d)))} for v, d in rows.items()}
        results["stochastic_values"] = dict(values, model=model_names[0], batches=args.check_batches)
        print("stochastic: |loss - sum of reported components| per batch:", values)
    _util.write(args.out, results)


if __name__ == "__main__":
    main()
