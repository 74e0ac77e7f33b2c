"""Run every benchmark and write ``benchmarks/results/*.json`` and ``docs/performance.md``.

Run: ``tox -e bench`` (or ``PYTHONPATH=. python benchmarks/run.py``) with
current TensorFlow installed. The TF 1.15 parts run in a Python 3.7
interpreter: ``--tf1-python`` names one that has TF 1.15; otherwise the runner
makes a virtualenv at ``--tf1-venv`` with ``python3.7`` from ``PATH`` and the
pins of the ``tf115`` tox env (reused on later runs; pip's cache makes the
first install quick).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _util  # noqa: E402

TF1_PINS = ["tensorflow-cpu==1.15.0", "protobuf<3.21", "h5py<3", "numpy<1.19", "packaging"]

# name -> (interpreter key, script, arguments); rounds/steps keep `tox -e bench` under 10 minutes.
PARTS = [
    ("training_tf1_graph", "tf1", "training_step.py", ["--mode", "graph", "--rounds", "8", "--steps", "1"]),
    ("metric_state_tf1_graph", "tf1", "metric_state.py", ["--mode", "graph", "--rounds", "6"]),
    ("graph_cost_tf1", "tf1", "graph_cost.py", []),
    ("import_tf1", "tf1", "import_time.py", ["--repeats", "3"]),
    ("training_tf2_function", "tf2", "training_step.py", ["--mode", "function", "--rounds", "8", "--steps", "1"]),
    ("training_tf2_eager", "tf2", "training_step.py", ["--mode", "eager", "--rounds", "4", "--steps", "1"]),
    ("metric_state_tf2_function", "tf2", "metric_state.py", ["--mode", "function", "--rounds", "6"]),
    ("streaming_tf2", "tf2", "streaming.py", ["--rounds", "7", "--updates", "20"]),
    ("import_tf2", "tf2", "import_time.py", ["--repeats", "3"]),
    ("migrate", "tf2", "migrate_speed.py", ["--rounds", "3", "--files", "600"]),
]
QUICK = {"--rounds": "2", "--repeats": "1", "--updates": "3", "--files": "60"}


def find_python37():
    """The first ``python3.7`` on ``PATH`` that runs (pyenv's shim may not)."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(directory, "python3.7")
        if os.access(candidate, os.X_OK):
            probe = subprocess.run([candidate, "-c", "import venv"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
            if probe.returncode == 0:
                return candidate
    return None


def tf1_interpreter(args):
    if args.tf1_python:
        return args.tf1_python
    python = os.path.join(args.tf1_venv, "bin", "python")
    marker = os.path.join(args.tf1_venv, ".compat_metrics_bench_ready")
    if os.path.exists(marker):
        return python
    base = find_python37()
    if base is None:
        return None
    print("creating", args.tf1_venv, "with", base, flush=True)
    subprocess.run([base, "-m", "venv", "--clear", args.tf1_venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q"] + TF1_PINS, check=True)
    open(marker, "w").close()
    return python


def run_part(name, python, script, extra, results, quick):
    if quick:
        extra = [QUICK[extra[i - 1]] if i and extra[i - 1] in QUICK else a for i, a in enumerate(extra)]
    out = os.path.join(results, name + ".json")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("TF_USE_LEGACY_KERAS", None)
    command = [python, os.path.join(HERE, script)] + extra + ["--out", out]
    print("\n== {}: {}".format(name, " ".join(command[1:])), flush=True)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    with open(out) as handle:
        payload = json.load(handle)
    payload["wall_s"] = time.perf_counter() - start
    payload["command"] = "python benchmarks/{} {}".format(script, " ".join(extra))
    _util.write(out, payload)
    return payload


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf1-python", help="a Python with TF 1.15 (default: make --tf1-venv)")
    parser.add_argument("--tf1-venv", default=os.path.join(ROOT, ".tox", "bench-tf115"))
    parser.add_argument("--results", default=os.path.join(HERE, "results"))
    parser.add_argument("--doc", default=os.path.join(ROOT, "docs", "performance.md"))
    parser.add_argument("--only", help="comma-separated part names")
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke test, not for the doc)")
    parser.add_argument("--command", default="tox -e bench", help="command recorded in the doc")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pythons = {"tf2": sys.executable}
    wanted = set(args.only.split(",")) if args.only else None
    if any(key == "tf1" for name, key, _, _ in PARTS if wanted is None or name in wanted):
        pythons["tf1"] = tf1_interpreter(args)
    payloads = {}
    for name, key, script, extra in PARTS:
        if wanted is not None and name not in wanted:
            continue
        if pythons.get(key) is None:
            print(f"\n== {name}: skipped, no python3.7 for TF 1.15 on PATH")
            continue
        payloads[name] = run_part(name, pythons[key], script, extra, args.results, args.quick)
    total = time.perf_counter() - start
    print(f"\nbenchmarks took {total:.0f} s")
    if wanted is None and not args.quick:
        import report
        report.write(args.results, args.doc, args.command, total)
        print("wrote", args.doc)


if __name__ == "__main__":
    main()
