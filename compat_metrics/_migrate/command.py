"""``compat-metrics migrate PATH...``: report, diff or rewrite TF1-era loss and metric code.

Exit status: 0 when nothing was found, 1 when something was, 2 on a usage
error or when a file could not be read or parsed (it is reported and skipped;
the other files are still processed and nothing is written for it).
"""

import difflib
import json
import os
import sys

HELP = "find TF1/early-TF2 loss and metric patterns and rewrite them to compat_metrics"

_SKIP_DIRS = {"__pycache__", "site-packages", "node_modules"}


def add_arguments(parser):
    """Arguments of ``compat-metrics migrate``."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="Python files or folders (searched for *.py)")
    parser.add_argument("--diff", action="store_true", help="print a unified diff of the rewrites")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    parser.set_defaults(run=run, usage_error=parser.error)


def _python_files(paths, errors):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                for name in sorted(files):
                    if name.endswith(".py"):
                        yield os.path.join(root, name)
        elif os.path.isfile(path):
            yield path
        else:
            errors.append((path, "no such file or folder"))


def _helpers():
    """Names some rules rewrite to, when this compat_metrics exports them."""
    import compat_metrics
    exported = set(getattr(compat_metrics, "__all__", ()))
    return {name: name for name in ("train_step", "add_metric") if name in exported}


def migrate_paths(paths, write=False, helpers=None):
    """Run the rules over ``paths``; returns a list of per-file dicts (see ``--format json``)."""
    from ._engine import MigrateError, migrate_source

    errors = []
    results = []
    for path in _python_files(paths, errors):
        entry = {"path": path, "status": "ok", "error": None, "findings": [], "diff": ""}
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError as error:
            entry.update(status="error", error="cannot read: {}".format(error))
            results.append(entry)
            continue
        if not source.strip():
            entry["status"] = "empty"
            results.append(entry)
            continue
        try:
            new_source, findings = migrate_source(source, helpers=helpers)
        except MigrateError as error:
            entry.update(status="error", error=str(error))
            results.append(entry)
            continue
        entry["findings"] = [dict(f._asdict()) for f in findings]
        if new_source != source:
            old_text, new_text = _text(source), _text(new_source)
            entry["diff"] = "".join(difflib.unified_diff(
                old_text.splitlines(True), new_text.splitlines(True), "a/" + path, "b/" + path))
            if write:
                with open(path, "wb") as handle:
                    handle.write(new_source)
                entry["status"] = "rewritten"
        results.append(entry)
    for path, message in errors:
        results.append({"path": path, "status": "error", "error": message, "findings": [], "diff": ""})
    return results


def _text(source):
    from libcst import parse_module
    return parse_module(source).code


def _exit_status(results):
    if any(r["status"] == "error" for r in results):
        return 2
    return 1 if any(r["findings"] for r in results) else 0


def run(args):
    """Run ``compat-metrics migrate``."""
    try:
        from . import _engine
    except ImportError as error:
        print("compat-metrics migrate needs LibCST: pip install 'compat_metrics[migrate]' ({})".format(error),
              file=sys.stderr)
        return 2
    if args.list_rules:
        for rule, (name, text) in _engine.RULES.items():
            print("{} {}: {}".format(rule, name, text))
        return 0
    if not args.paths:
        args.usage_error("give at least one PATH (or --list-rules)")  # exits with status 2
    results = migrate_paths(args.paths, write=args.write, helpers=_helpers())
    status = _exit_status(results)
    if args.format == "json":
        for entry in results:
            if not args.diff:
                entry.pop("diff")
        summary = {
            "files": len(results),
            "findings": sum(len(r["findings"]) for r in results),
            "fixed": sum(1 for r in results for f in r["findings"] if f["fixed"]),
            "errors": sum(1 for r in results if r["status"] == "error"),
            "written": bool(args.write),
            "exit_status": status,
        }
        json.dump({"results": results, "summary": summary}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return status
    for entry in results:
        if entry["status"] == "error":
            print("{}: error: {}".format(entry["path"], entry["error"]), file=sys.stderr)
        elif entry["status"] == "empty":
            print("{}: empty file, nothing to migrate".format(entry["path"]), file=sys.stderr)
        for f in entry["findings"]:
            print("{}:{}:{}: {} {}{}".format(entry["path"], f["line"], f["column"], f["rule"], f["message"],
                                             "" if f["fixed"] else " [not rewritten: change by hand]"))
        if args.diff and entry["diff"]:
            sys.stdout.write(entry["diff"])
    count = sum(len(r["findings"]) for r in results)
    fixable = sum(1 for r in results for f in r["findings"] if f["fixed"])
    errors = sum(1 for r in results if r["status"] == "error")
    print("{} file(s), {} finding(s), {} {}, {} error(s)".format(
        len(results), count, fixable, "rewritten" if args.write else "can be rewritten (--diff, --write)", errors),
        file=sys.stderr)
    return status
