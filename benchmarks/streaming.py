"""Update cost of streaming metrics for 10 classes, side by side.

Run: ``PYTHONPATH=. python benchmarks/streaming.py --out r.json`` (TF 2.x).

1. Per-class precision, recall and F1 (3 x 10 scalar metrics, as
   ``per_class_metrics()`` gives them to Keras) over one shared
   :class:`compat_metrics.ConfusionMatrix` vs a matrix each (the former
   ``benchmarks/shared_state.py``): time per step and how many batch matrices
   were added.
2. Macro ``compat_metrics.F1Score`` vs the Keras built-in ``F1Score`` (TF >= 2.13)
   and torchmetrics' ``MulticlassF1Score`` on the CPU (when torch is
   installed): time per ``update_state``/``update`` call. The final values are
   checked against scikit-learn. A profiling variant traces the same metric
   with its input checks dropped, to split validation from the update.

TF updates run inside ``tf.function`` (as ``fit`` runs them); each timed block
is ``--updates`` calls on rotating batches of ``--batch`` rows.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow as tf  # noqa: E402

import compat_metrics  # noqa: E402
import _util  # noqa: E402
from compat_metrics import metrics as cmm  # noqa: E402

CLASSES = 10


def make_batches(count, batch, seed=0):
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(count):
        labels = rng.randint(0, CLASSES, size=batch)
        scores = rng.rand(batch, CLASSES).astype("float32")
        scores[np.arange(batch), labels] += rng.rand(batch).astype("float32")  # better than chance
        probs = scores / scores.sum(axis=1, keepdims=True)
        out.append((labels, probs))
    return out


def per_class_metrics(shared):
    cm = cmm.ConfusionMatrix(CLASSES) if shared else None
    metrics, matrices = [], []
    for cls in (cmm.Precision, cmm.Recall, cmm.F1Score):
        parent = cls(CLASSES, confusion_matrix=cm) if shared else cls(CLASSES)
        for metric in parent.per_class_metrics():
            metrics.append(metric)
            matrices.append(metric.confusion_matrix)
    return metrics, list({id(m): m for m in matrices}.values())


def tf_block(metrics, batches, updates, one_hot):
    tensors = [(tf.constant(np.eye(CLASSES, dtype="float32")[y] if one_hot else y), tf.constant(p))
               for y, p in batches]

    @tf.function
    def step(y, p):
        for metric in metrics:
            metric.update_state(y, p)

    def run():
        for i in range(updates):
            step(*tensors[i % len(tensors)])
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    batches = make_batches(8, args.batch)
    results = {"stack": _util.stack(), "classes": CLASSES, "batch": args.batch, "rounds": args.rounds,
               "updates_per_round": args.updates}

    # 1. shared vs separate confusion matrices.
    shared_metrics, shared_matrices = per_class_metrics(True)
    separate_metrics, separate_matrices = per_class_metrics(False)
    runners = {"separate": tf_block(separate_metrics, batches, args.updates, one_hot=False),
               "shared": tf_block(shared_metrics, batches, args.updates, one_hot=False)}
    for run in runners.values():
        run()  # trace
    for metric in shared_metrics + separate_metrics:
        metric.reset_state()
    timing = _util.interleaved(runners, args.rounds, baseline="separate")
    calls = args.rounds * args.updates
    for name, metrics, matrices in (("shared", shared_metrics, shared_matrices),
                                    ("separate", separate_metrics, separate_matrices)):
        entry = timing[name]
        entry["ms_per_update"] = _util.percentiles([1000.0 * s / args.updates for s in entry["seconds"]])
        entry["metrics"] = len(metrics)
        entry["matrices"] = len(matrices)
        entry["batch_matrices_added"] = float(sum(float(m.batches_added()) for m in matrices))
        entry["steps"] = calls
        print("{:9}: {} metrics, {:2d} matrices, {:5.0f} batch matrices added in {} steps, "
              "{:.2f} ms/step, x{:.3f} of separate".format(
                  name, len(metrics), len(matrices), entry["batch_matrices_added"], calls,
                  entry["ms_per_update"]["median"], entry["ratio"]["median"]))
    results["shared_state"] = timing

    # 2. macro F1: compat_metrics vs Keras built-in vs torchmetrics.
    f1 = {"compat_metrics": (cmm.F1Score(CLASSES, average="macro"), False)}
    if hasattr(compat_metrics.keras.metrics, "F1Score"):
        f1["keras"] = (compat_metrics.keras.metrics.F1Score(average="macro"), True)
    runners = {name: tf_block([metric], batches, args.updates, one_hot)
               for name, (metric, one_hot) in f1.items()}
    # Profile: the same metric with its input checks dropped (traced while patched), to split
    # the cost between validation and the confusion-matrix update.
    from compat_metrics.metrics import functional
    prepare_inputs = functional.prepare_inputs

    def without_checks(*a, **k):
        true, pred, weights, _ = prepare_inputs(*a, **k)
        return true, pred, weights, []
    f1["compat_metrics_no_checks"] = (cmm.F1Score(CLASSES, average="macro"), False)
    runners["compat_metrics_no_checks"] = tf_block([f1["compat_metrics_no_checks"][0]], batches, args.updates, False)
    functional.prepare_inputs = without_checks
    try:
        runners["compat_metrics_no_checks"]()  # trace without the checks
    finally:
        functional.prepare_inputs = prepare_inputs
    try:
        import torch
        import torchmetrics
    except ImportError as error:
        print("torchmetrics not measured:", error)
        torch = None
    if torch is not None:
        torch_metric = torchmetrics.classification.MulticlassF1Score(num_classes=CLASSES, average="macro")
        torch_batches = [(torch.from_numpy(y), torch.from_numpy(p)) for y, p in batches]

        def torch_run():
            for i in range(args.updates):
                y, p = torch_batches[i % len(torch_batches)]
                torch_metric.update(p, y)
        runners["torchmetrics"] = torch_run
        results["torch"] = {"torch": torch.__version__, "torchmetrics": torchmetrics.__version__,
                            "threads": torch.get_num_threads()}
    for run in runners.values():
        run()  # trace / warm up
    for metric, _ in f1.values():
        metric.reset_state()
    if torch is not None:
        torch_metric.reset()
    baseline = "keras" if "keras" in runners else "compat_metrics"
    timing = _util.interleaved(runners, args.rounds, baseline=baseline)

    from sklearn.metrics import f1_score
    y_all = np.concatenate([batches[i % len(batches)][0] for _ in range(args.rounds)
                            for i in range(args.updates)])
    p_all = np.concatenate([batches[i % len(batches)][1] for _ in range(args.rounds)
                            for i in range(args.updates)])
    reference = float(f1_score(y_all, p_all.argmax(axis=1), average="macro"))
    for name, entry in timing.items():
        entry["ms_per_update"] = _util.percentiles([1000.0 * s / args.updates for s in entry["seconds"]])
        if name == "torchmetrics":
            value = float(torch_metric.compute())
        else:
            value = float(f1[name][0].result())
        entry["value"] = value
        entry["abs_error_vs_sklearn"] = abs(value - reference)
        print("{:14}: {:.3f} ms/update, x{:.3f} of {}, macro F1 {:.6f} (scikit-learn {:.6f})".format(
            name, entry["ms_per_update"]["median"], entry["ratio"]["median"], baseline, value, reference))
    results["f1"] = {"baseline": baseline, "sklearn_macro_f1": reference, "variants": timing}
    _util.write(args.out, results)


if __name__ == "__main__":
    main()
