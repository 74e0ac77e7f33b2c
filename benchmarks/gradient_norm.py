"""Training-step cost of GradientNorm: with it vs the same model without it.

Run: ``PYTHONPATH=. python benchmarks/gradient_norm.py --mode function``
(``--mode graph`` on TF 1.15 or TF 2.x with v2 behaviour disabled).

Three variants compiled side by side on the same batches (an MLP of 3 x 512
units on 256 features, batch 128, SGD, ``train_on_batch``): ``plain`` (loss
only), ``gradient_norm`` (``compat_metrics.GradientNorm()``) and
``gradient_norm_group`` (global norm plus one per-layer group). Printed: the
median CPU-time ratio of each variant to ``plain`` with quartiles.

Mechanisms measured: in graph mode the norm comes from a second
``tf.gradients`` of the loss built at compile time (the optimizer builds its
own); in ``tf.function`` from the gradients handed to ``apply_gradients``.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow as tf  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("graph", "function"), required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.mode == "graph" and hasattr(tf.compat.v1, "disable_v2_behavior"):
        tf.compat.v1.disable_v2_behavior()
    import _util

    import compat_metrics
    keras = compat_metrics.keras

    rng = np.random.RandomState(0)
    x = rng.normal(size=(128, 256)).astype("float32")
    y = rng.normal(size=(128, 10)).astype("float32")

    def build(metrics):
        inputs = keras.Input((256,))
        h = inputs
        for i in range(3):
            h = keras.layers.Dense(512, activation="relu", name=f"dense_{i}")(h)
        model = keras.Model(inputs, keras.layers.Dense(10, name="out")(h))
        compat_metrics.compile(model, optimizer="sgd", loss="mse", metrics=metrics)
        model.train_on_batch(x, y)  # build the train function outside the timing
        return model

    models = {
        "plain": build([]),
        "gradient_norm": build([compat_metrics.GradientNorm()]),
        "gradient_norm_group": build([compat_metrics.GradientNorm(),
                                      compat_metrics.GradientNorm("dense_0/", name="first_layer")]),
    }

    def runner(model):
        def run():
            for _ in range(args.steps):
                model.train_on_batch(x, y)
        return run

    result = _util.interleaved({name: runner(m) for name, m in models.items()}, args.rounds, "plain")
    summary = {name: value["ratio"] for name, value in result.items()}
    print(json.dumps({"mode": args.mode, "stack": compat_metrics.runtime.describe(), "cpu_ratio_to_plain": summary},
                     indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"mode": args.mode, "result": result}, f)


if __name__ == "__main__":
    main()
