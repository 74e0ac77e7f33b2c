"""Run migrated scripts in one process (TensorFlow imported once): ``python run_scripts.py OUT SCRIPT...``.

Each script runs with ``runpy`` as ``__main__``, its output captured; the last
``RESULT {json}`` line it prints is kept, or the traceback if it failed. OUT
gets ``{script name: {"result": ..., "error": ...}}``.
"""

import contextlib
import io
import json
import os
import runpy
import sys
import traceback


def main(out, scripts):
    report = {}
    for script in scripts:
        captured = io.StringIO()
        entry = {"result": None, "error": None}
        try:
            with contextlib.redirect_stdout(captured):
                runpy.run_path(script, run_name="__main__")
            lines = [l for l in captured.getvalue().splitlines() if l.startswith("RESULT ")]
            entry["result"] = json.loads(lines[-1][len("RESULT "):]) if lines else None
            if not lines:
                entry["error"] = "no RESULT line"
        except BaseException:  # noqa: B902 - a script's SystemExit too
            entry["error"] = traceback.format_exc()[-4000:]
        report[os.path.basename(script)] = entry
        try:
            import compat_metrics
            compat_metrics.keras.backend.clear_session()
        except Exception:  # noqa: BLE001 - best effort between scripts
            pass
    with open(out, "w") as handle:
        json.dump(report, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
