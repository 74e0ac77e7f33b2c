"""``compat-metrics migrate`` against TensorFlow's ``tf_upgrade_v2`` on the same generated tree.

A tree of training-code files is generated (``tests/migrate_corpus/generate.py``:
TF1 session scripts, keras.io custom models, custom losses and metrics, VAEs,
clean TF2 scripts and utilities; 600 files by default, about 8 KB each). Each
round, in rotated order, runs on a fresh copy of the tree:

- ``python -m compat_metrics migrate TREE --write --format json`` (every core);
- ``python -m tensorflow.tools.compatibility.tf_upgrade_v2_main --intree TREE
  --outtree OUT`` (single process, as TensorFlow ships it);
- with ``--single``, also ``compat-metrics migrate --jobs 1``.

Both are timed as whole commands (start-up included: tf_upgrade_v2 imports
TensorFlow, migrate does not), wall time and the CPU time of the child
processes. The ratio migrate / tf_upgrade_v2 is taken within each round.

Run: ``PYTHONPATH=. python benchmarks/migrate_speed.py --out benchmarks/results/migrate.json``.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _util  # noqa: E402


def _generator():
    import importlib.util
    path = os.path.join(ROOT, "tests", "migrate_corpus", "generate.py")
    spec = importlib.util.spec_from_file_location("migrate_corpus_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command, env):
    start, start_cpu = time.perf_counter(), _children_cpu()
    out = subprocess.run(command, env=env, capture_output=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - start_cpu
    if out.returncode not in (0, 1):  # migrate: 1 = findings
        sys.stderr.write(out.stderr.decode()[-3000:])
        raise SystemExit(f"{command[:4]} failed with status {out.returncode}")
    return wall, cpu, out.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", action="store_true", help="also time migrate --jobs 1")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "migrate.json"))
    args = parser.parse_args(argv)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    work = tempfile.mkdtemp(prefix="migrate-bench-")
    try:
        source = os.path.join(work, "corpus")
        paths = _generator().generate(source, args.files, seed=0)
        size = sum(os.path.getsize(p) for p in paths)
        variants = {
            "migrate": lambda tree, out: [sys.executable, "-m", "compat_metrics", "migrate", tree, "--write",
                                          "--format", "json"],
            "tf_upgrade_v2": lambda tree, out: [sys.executable, "-m",
                                                "tensorflow.tools.compatibility.tf_upgrade_v2_main",
                                                "--intree", tree, "--outtree", out,
                                                "--reportfile", os.path.join(work, "report.txt")],
        }
        if args.single:
            variants["migrate_1_job"] = lambda tree, out: variants["migrate"](tree, out) + ["--jobs", "1"]
        names = list(variants)
        wall = {n: [] for n in names}
        cpu = {n: [] for n in names}
        summary = None
        for index in range(args.rounds):
            for name in names[index % len(names):] + names[:index % len(names)]:
                tree, out = os.path.join(work, "tree"), os.path.join(work, "out")
                for folder in (tree, out):
                    shutil.rmtree(folder, ignore_errors=True)
                shutil.copytree(source, tree)
                seconds, cpu_seconds, stdout = _timed(variants[name](tree, out), env)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
                if name == "migrate":
                    summary = json.loads(stdout.decode())["summary"]
                print(f"round {index} {name}: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU",
                      flush=True)
        from compat_metrics._migrate import _engine
        parsed = sum(1 for p in paths if _engine.could_match(open(p, encoding="utf-8").read()))
        results = {}
        for name in names:
            results[name] = {
                "wall_seconds": wall[name], "cpu_seconds": cpu[name],
                "wall": _util.percentiles(wall[name]), "cpu": _util.percentiles(cpu[name]),
                "wall_ratio_to_tf_upgrade_v2": _util.percentiles(
                    [w / b for w, b in zip(wall[name], wall["tf_upgrade_v2"])]),
                "cpu_ratio_to_tf_upgrade_v2": _util.percentiles(
                    [c / b for c, b in zip(cpu[name], cpu["tf_upgrade_v2"])])}
        _util.write(args.out, {
            "files": len(paths), "bytes": size, "rounds": args.rounds, "jobs": os.cpu_count(),
            "parsed_files": parsed, "findings": summary["findings"], "fixed": summary["fixed"],
            "variants": results, "stack": _util.stack()})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
