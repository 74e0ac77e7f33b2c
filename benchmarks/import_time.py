"""``import compat_metrics`` time beyond ``import tensorflow``, in fresh interpreters.

Run: ``PYTHONPATH=. python benchmarks/import_time.py --out r.json``. Each of
``--repeats`` fresh processes imports TensorFlow, then compat_metrics, and
reports both durations; the medians are written.
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _util  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = ("import time, json; t0 = time.perf_counter(); import tensorflow; t1 = time.perf_counter(); "
         "import compat_metrics; compat_metrics.ComponentLoss; t2 = time.perf_counter(); "
         "print(json.dumps([t1 - t0, t2 - t1, compat_metrics.runtime.describe()]))")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    tf_times, cm_times, stack = [], [], None
    for _ in range(args.repeats + 1):
        output = subprocess.run([sys.executable, "-c", PROBE], env=env, stdout=subprocess.PIPE,
                                check=True, text=True).stdout
        tf_time, cm_time, stack = json.loads(output.strip().splitlines()[-1])
        tf_times.append(tf_time)
        cm_times.append(cm_time)
    tf_times, cm_times = tf_times[1:], cm_times[1:]  # first run warms the file cache
    result = {"stack": stack, "repeats": args.repeats,
              "import_tensorflow_s": _util.percentiles(tf_times),
              "import_compat_metrics_after_tf_s": _util.percentiles(cm_times)}
    print("import tensorflow {:.2f} s, then import compat_metrics {:.3f} s (medians of {})".format(
        result["import_tensorflow_s"]["median"], result["import_compat_metrics_after_tf_s"]["median"],
        args.repeats))
    _util.write(args.out, result)


if __name__ == "__main__":
    main()
