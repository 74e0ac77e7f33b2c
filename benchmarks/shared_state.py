"""Shared confusion matrix vs one matrix per metric: batch additions and time per step.

Run: ``PYTHONPATH=. python benchmarks/shared_state.py``. Precision, recall and
F1 of every class (3 per-class metric lists of 10 classes = 30 metrics) are
updated for 50 batches inside ``tf.function``, once over one shared
:class:`ConfusionMatrix` and once with a matrix each. The output shows how
many batch confusion matrices were added (the counter the state keeps) and
the time per step.
"""

import time

import numpy as np
import tensorflow as tf

from compat_metrics import metrics as cmm

CLASSES, BATCH, STEPS = 10, 256, 50


def build(shared):
    cm = cmm.ConfusionMatrix(CLASSES) if shared else None
    metrics, matrices = [], []
    for cls in (cmm.Precision, cmm.Recall, cmm.F1Score):
        parent = cls(CLASSES, confusion_matrix=cm) if shared else cls(CLASSES)
        for metric in parent.per_class_metrics():
            metrics.append(metric)
            matrices.append(metric.confusion_matrix)
    return metrics, list({id(m): m for m in matrices}.values())


def run(shared):
    metrics, matrices = build(shared)
    rng = np.random.RandomState(0)
    y = tf.constant(rng.randint(0, CLASSES, size=BATCH))
    p = tf.constant(rng.rand(BATCH, CLASSES).astype("float32"))

    @tf.function
    def step(y, p):
        for metric in metrics:
            metric.update_state(y, p)
        return [metric.result() for metric in metrics]

    step(y, p)  # trace
    for metric in metrics:
        metric.reset_state()
    start = time.perf_counter()
    for _ in range(STEPS):
        step(y, p)
    elapsed = (time.perf_counter() - start) / STEPS
    added = sum(float(m.batches_added()) for m in matrices)
    print("{:>8}: {:2d} metrics, {:2d} matrices, {:5.0f} batch matrices added for {} steps, {:.2f} ms/step".format(
        "shared" if shared else "separate", len(metrics), len(matrices), added, STEPS, 1000 * elapsed))


if __name__ == "__main__":
    run(shared=True)
    run(shared=False)
