"""Helpers shared by the benchmark scripts: interleaved timing, machine facts, JSON output.

Absolute times on a shared machine are noisy, so every benchmark times its
variants side by side: in each round every variant runs the same number of
steps, in a rotated order, and a ratio is taken within the round. The median
of the per-round ratios is reported with the 25th and 75th percentiles.

Both wall time and the process's CPU time (all threads, ``time.process_time``)
are recorded. On a machine whose cores other jobs also use, wall time mostly
measures how long this process waited; CPU time measures the work it did, so
the ratios of CPU time are the ones to read.
"""

import json
import os
import platform
import sys
import time

import numpy as np


def percentiles(values):
    """Median and quartiles of ``values`` as a dict."""
    values = np.asarray(values, dtype="float64")
    return {"median": float(np.median(values)), "p25": float(np.percentile(values, 25)),
            "p75": float(np.percentile(values, 75))}


def interleaved(runners, rounds, baseline):
    """Time ``runners`` (name -> callable running one block) in rotated order per round.

    Returns name -> {"seconds": [...wall per round], "cpu_seconds": [...],
    "ratio": quartiles of the per-round CPU-time ratio to ``baseline``,
    "wall_ratio": the same for wall time}.
    """
    names = list(runners)
    seconds = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names):] + names[:index % len(names)]
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            runners[name]()
            cpu[name].append(time.process_time() - start_cpu)
            seconds[name].append(time.perf_counter() - start)
    result = {}
    for name in names:
        result[name] = {
            "seconds": seconds[name], "cpu_seconds": cpu[name],
            "ratio": percentiles([s / b for s, b in zip(cpu[name], cpu[baseline])]),
            "wall_ratio": percentiles([s / b for s, b in zip(seconds[name], seconds[baseline])]),
            "cpu_minus_baseline": percentiles([s - b for s, b in zip(cpu[name], cpu[baseline])])}
    return result


def machine():
    """Machine and software facts recorded with every result."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    facts = {"python": platform.python_version(), "platform": platform.platform(), "cpu": cpu,
             "cores": os.cpu_count()}
    try:
        facts["load_average_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    return facts


def stack():
    """Versions of the TensorFlow stack, from ``compat_metrics.runtime``."""
    import compat_metrics
    return dict(compat_metrics.runtime.describe())


def write(path, payload):
    """Write ``payload`` (with machine facts and the command line) as JSON to ``path``."""
    payload = dict(payload)
    payload.setdefault("machine", machine())
    payload.setdefault("command", " ".join([os.path.basename(sys.executable)] + sys.argv))
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
    print("wrote", path)
