"""Ops a tracked loss component adds to a TF1 graph, read from the graph.

Run: ``PYTHONPATH=. python benchmarks/graph_cost.py --out r.json`` on TF 1.15
(or TF 2.x, where it disables v2 behaviour). For 1 to 4 components the script
builds each component's value, then counts the ops that ``track`` adds (the
per-step write), that the variable adds (built once), and that the reading
metric's ``update_state`` adds, by diffing the graph's op list. The
``loss + 0 * var.assign(loss)`` hack is counted the same way.
"""

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow as tf  # noqa: E402

from compat_metrics import runtime  # noqa: E402

if not runtime.in_graph_mode():
    tf.compat.v1.disable_v2_behavior()

import _util  # noqa: E402

import compat_metrics  # noqa: E402


def op_types(ops):
    return dict(collections.Counter(op.type for op in ops))


def new_ops(graph, before):
    return [op for op in graph.get_operations() if op.name not in before]


def snapshot(graph):
    return {op.name for op in graph.get_operations()}


def measure(count):
    graph = tf.Graph()
    with graph.as_default():
        y_true = tf.compat.v1.placeholder(tf.float32, (None, 10))
        y_pred = tf.compat.v1.placeholder(tf.float32, (None, 10))
        names = [f"c{i}" for i in range(count)]
        before = snapshot(graph)
        tracker = compat_metrics.ComponentTracker(names, name=f"graph_cost_{count}")
        variable_ops = new_ops(graph, before)
        parts = [tf.reduce_mean(tf.square(y_true - y_pred)) * float(i + 1) for i in range(count)]
        before = snapshot(graph)
        tracked = [tracker.track(name, part) for name, part in zip(names, parts)]
        track_ops = new_ops(graph, before)
        dependencies = [len(t.op.control_inputs) for t in tracked]
        before = snapshot(graph)
        metrics = tracker.metrics()
        for metric in metrics:
            metric.update_state(y_true, y_pred)
        metric_ops = new_ops(graph, before)

        before = snapshot(graph)
        seed_vars = [tf.compat.v1.get_variable(f"seed_{n}", (), tf.float32, tf.zeros_initializer())
                     for n in names]
        seed_variable_ops = new_ops(graph, before)
        before = snapshot(graph)
        hacked = [part + 0 * var.assign(part) for part, var in zip(parts, seed_vars)]
        seed_ops = new_ops(graph, before)
    del hacked
    return {"components": count,
            "track_ops": len(track_ops), "track_op_types": op_types(track_ops),
            "control_dependencies_per_tracked_value": dependencies,
            "variable_ops": len(variable_ops),
            "metric_update_ops": len(metric_ops), "metric_update_op_types": op_types(metric_ops),
            "seed_hack_ops": len(seed_ops), "seed_hack_op_types": op_types(seed_ops),
            "seed_variable_ops": len(seed_variable_ops)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    rows = [measure(n) for n in (1, 2, 3, 4)]
    for row in rows:
        print("{} components: track adds {} ops {} (control deps per value {}); "
              "metric update adds {}; assign hack adds {} {}".format(
                  row["components"], row["track_ops"], row["track_op_types"],
                  row["control_dependencies_per_tracked_value"], row["metric_update_ops"],
                  row["seed_hack_ops"], row["seed_hack_op_types"]))
    _util.write(args.out, {"stack": _util.stack(), "rows": rows})


if __name__ == "__main__":
    main()
