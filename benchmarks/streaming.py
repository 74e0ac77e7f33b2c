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

3. In-graph cost (what ``fit`` pays): ``--graph-updates`` updates in a loop
   inside one ``tf.function`` call, so Python dispatch is out of the number:
   Keras's built-in ``F1Score``, one ``compat_metrics.F1Score`` (sparse and
   one-hot labels), and every per-class precision, recall and F1 of the
   problem (3 x 10 scalar metrics over one matrix) as
   ``compat_metrics.compile`` hands them to Keras and as
   ``per_class_metrics()`` gives them; torchmetrics' update for scale. Then
   ``fit`` steps of a tiny model compiled with each, over a model without
   metrics.

In 1 and 2, TF updates run inside ``tf.function`` (as ``fit`` runs them); each
timed block is ``--updates`` calls on rotating batches of ``--batch`` rows.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _util  # noqa: E402
import tensorflow as tf  # noqa: E402

import compat_metrics  # noqa: E402
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


def graph_loop(metrics, batches, updates, one_hot):
    """One ``tf.function`` call running ``updates`` updates of ``metrics`` in a ``tf.range`` loop."""
    ys = tf.constant(np.stack([np.eye(CLASSES, dtype="float32")[y] if one_hot else y for y, _ in batches]))
    ps = tf.constant(np.stack([p for _, p in batches]))
    count = len(batches)

    @tf.function
    def loop():
        for i in tf.range(updates):
            for metric in metrics:
                metric.update_state(ys[i % count], ps[i % count])
    return loop


def compiled_views(metric_lists):
    """What ``compat_metrics.compile`` passes to Keras for ``metrics=metric_lists`` (None before it existed)."""
    try:
        from compat_metrics.metrics.per_class import expand_for_logs
    except ImportError:
        return None
    return expand_for_logs({"metrics": metric_lists})["metrics"]


def per_class_problem():
    """Per-class precision, recall and F1 of one problem over one shared matrix (average=None)."""
    cm = cmm.ConfusionMatrix(CLASSES)
    return [cls(CLASSES, confusion_matrix=cm, name=name) for cls, name in
            ((cmm.Precision, "p"), (cmm.Recall, "r"), (cmm.F1Score, "f1"))]


def torchmetrics_f1(batches, updates):
    """``(metric, loop)``: torchmetrics' macro F1 and a Python loop of ``updates`` updates; None without torch."""
    try:
        import torch
        import torchmetrics
    except ImportError:
        return None
    metric = torchmetrics.classification.MulticlassF1Score(num_classes=CLASSES, average="macro")
    torch_batches = [(torch.from_numpy(y), torch.from_numpy(p)) for y, p in batches]

    def loop():
        for i in range(updates):
            y, p = torch_batches[i % len(torch_batches)]
            metric.update(p, y)
    return metric, loop


def in_graph(args, batches, results):
    """Section 3: updates looped inside one tf.function, and fit steps."""
    variants = {}
    if hasattr(compat_metrics.keras.metrics, "F1Score"):
        variants["keras_f1"] = ([compat_metrics.keras.metrics.F1Score(average="macro")], True)
    variants["compat_f1_sparse"] = ([cmm.F1Score(CLASSES, average="macro")], False)
    variants["compat_f1_one_hot"] = ([cmm.F1Score(CLASSES, average="macro")], True)
    views = compiled_views(per_class_problem())
    if views is not None:
        variants["per_class_compiled"] = (views, False)
    variants["per_class_views"] = ([m for parent in per_class_problem() for m in parent.per_class_metrics()], False)
    runners = {name: graph_loop(metrics, batches, args.graph_updates, one_hot)
               for name, (metrics, one_hot) in variants.items()}
    torch_f1 = torchmetrics_f1(batches, args.graph_updates)
    if torch_f1 is not None:  # no graph: its update loop in Python is what it costs
        torch_metric, runners["torchmetrics_f1"] = torch_f1
        variants["torchmetrics_f1"] = ([torch_metric], False)
    for run in runners.values():
        run()  # trace
    baseline = "keras_f1" if "keras_f1" in runners else "compat_f1_sparse"
    timing = _util.interleaved(runners, args.rounds, baseline=baseline)
    for name, entry in timing.items():
        entry["us_per_update"] = _util.percentiles([1e6 * s / args.graph_updates for s in entry["cpu_seconds"]])
        entry["metrics"] = len(variants[name][0])
        print("in-graph {:20}: {:3d} metrics, {:7.1f} us/step (CPU), x{:.2f} of {}".format(
            name, entry["metrics"], entry["us_per_update"]["median"], entry["ratio"]["median"], baseline))
    results["in_graph"] = {"baseline": baseline, "updates_per_round": args.graph_updates, "variants": timing}
    results["fit"] = fit_steps(args, variants)


def fit_steps(args, variants):
    """``fit`` of a tiny model compiled (``compat_metrics.compile``) with each variant, per step."""
    keras = compat_metrics.keras
    rng = np.random.RandomState(1)
    x = rng.randn(args.batch * args.fit_steps, 32).astype("float32")
    y = rng.randint(0, CLASSES, size=len(x))
    models = {}
    lists = {"no_metric": ([], False)}
    for name in ("keras_f1", "compat_f1_sparse"):
        if name in variants:
            lists[name] = variants[name]
    lists["per_class_compiled"] = (per_class_problem(), False)
    for name, (_, one_hot) in lists.items():
        fresh = {"keras_f1": lambda: [keras.metrics.F1Score(average="macro")],
                 "compat_f1_sparse": lambda: [cmm.F1Score(CLASSES, average="macro")],
                 "per_class_compiled": per_class_problem, "no_metric": lambda: []}[name]()
        model = keras.Sequential([keras.layers.Dense(CLASSES, activation="softmax", input_shape=(32,))])
        compat_metrics.compile(model, optimizer="sgd", loss="categorical_crossentropy" if one_hot
                               else "sparse_categorical_crossentropy", metrics=fresh)
        target = np.eye(CLASSES, dtype="float32")[y] if one_hot else y
        model.fit(x, target, batch_size=args.batch, epochs=1, verbose=0)  # trace
        models[name] = (model, target)
    runners = {name: (lambda m=model, t=target: m.fit(x, t, batch_size=args.batch, epochs=1, verbose=0))
               for name, (model, target) in models.items()}
    timing = _util.interleaved(runners, args.rounds, baseline="no_metric")
    for name, entry in timing.items():
        entry["us_per_step"] = _util.percentiles([1e6 * s / args.fit_steps for s in entry["cpu_seconds"]])

        print("fit {:20}: {:7.1f} us/step (CPU), x{:.2f} of no metric".format(
            name, entry["us_per_step"]["median"], entry["ratio"]["median"]))
    return {"steps_per_round": args.fit_steps, "variants": timing}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--graph-updates", type=int, default=300)
    parser.add_argument("--fit-steps", type=int, default=40)
    parser.add_argument("--only-in-graph", action="store_true", help="run section 3 only")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    batches = make_batches(8, args.batch)
    results = {"stack": _util.stack(), "classes": CLASSES, "batch": args.batch, "rounds": args.rounds,
               "updates_per_round": args.updates}
    in_graph(args, batches, results)
    if args.only_in_graph:
        _util.write(args.out, results)
        return

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
    torch_f1 = torchmetrics_f1(batches, args.updates)
    if torch_f1 is None:
        print("torchmetrics not measured: torch or torchmetrics is not installed")
    else:
        import torch
        import torchmetrics
        torch_metric, runners["torchmetrics"] = torch_f1
        results["torch"] = {"torch": torch.__version__, "torchmetrics": torchmetrics.__version__,
                            "threads": torch.get_num_threads()}
    for run in runners.values():
        run()  # trace / warm up
    for metric, _ in f1.values():
        metric.reset_state()
    if torch_f1 is not None:
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
