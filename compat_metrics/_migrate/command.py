"""``compat-metrics migrate PATH...``: report, diff or rewrite TF1-era loss and metric code.

Exit status: 0 when nothing was found (nothing changed, nothing to do), 1 when
something was, 2 on a usage error or when a file could not be read or parsed
(it is reported and skipped; the other files are still processed and nothing
is written for it). Reported-only findings the user keeps are silenced with a
``# compat-metrics: ignore[RULE]`` comment on their line or ``--ignore RULE``.

Files are processed in parallel (``--jobs``, default every core); a file whose
text no rule can match (a cheap regular-expression test per rule) is only
checked for syntax with :mod:`ast`, not parsed with LibCST.
"""

import ast
import difflib
import io
import json
import multiprocessing
import os
import sys
import tokenize

HELP = "find TF1/early-TF2 loss and metric patterns and rewrite them to compat_metrics"

_SKIP_DIRS = {"__pycache__", "site-packages", "node_modules"}
# below this many files, starting worker processes costs more than it saves
_PARALLEL_MIN_FILES = 16


def add_arguments(parser):
    """Arguments of ``compat-metrics migrate``."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="Python files or folders (searched for *.py)")
    parser.add_argument("--diff", action="store_true", help="print a unified diff of the rewrites")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--ignore", metavar="RULES", default="",
                        help="comma-separated rules whose reported-only findings are not shown (e.g. CM005,CM011)")
    parser.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                        help="worker processes (default: one per core)")
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


def _decode(source):
    """The text of ``source`` (bytes) as Python reads it; raises MigrateError when it cannot be decoded."""
    from ._engine import MigrateError
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        return source.decode(encoding)
    except UnicodeDecodeError as error:
        raise MigrateError(f"cannot decode the file (no coding declaration, and not valid UTF-8: {error})") from error
    except (LookupError, SyntaxError) as error:
        raise MigrateError(f"cannot decode the file: {error}") from error


def _check_syntax(text):
    from ._engine import MigrateError
    try:
        ast.parse(text)
    except SyntaxError as error:
        raise MigrateError(f"not valid Python, skipped: {error.msg} (line {error.lineno}, column {error.offset or 0})") from error
    except ValueError as error:  # e.g. null bytes
        raise MigrateError(f"not valid Python, skipped: {error}") from error


def _migrate_file(task):
    """One file: ``(path, write, helpers, ignore)`` -> the per-file dict (see ``--format json``)."""
    from ._engine import MigrateError, could_match, migrate_source

    path, write, helpers, ignore = task
    entry = {"path": path, "status": "ok", "error": None, "findings": [], "diff": ""}
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as error:
        entry.update(status="error", error=f"cannot read: {error}")
        return entry
    if not source.strip():
        entry["status"] = "empty"
        return entry
    try:
        text = _decode(source)
        if not could_match(text):
            _check_syntax(text)  # what LibCST would have reported
            return entry
        new_source, findings = migrate_source(source, helpers=helpers)
    except MigrateError as error:
        entry.update(status="error", error=str(error))
        return entry
    entry["findings"] = [dict(f._asdict()) for f in findings if f.fixed or f.rule not in ignore]
    if new_source != source:
        new_text = _decode(new_source)
        entry["diff"] = "".join(difflib.unified_diff(
            text.splitlines(True), new_text.splitlines(True), "a/" + path, "b/" + path))
        if write:
            with open(path, "wb") as handle:
                handle.write(new_source)
            entry["status"] = "rewritten"
    return entry


def migrate_paths(paths, write=False, helpers=None, ignore=(), jobs=0):
    """Run the rules over ``paths``; returns a list of per-file dicts (see ``--format json``).

    ``jobs`` worker processes (0: one per core) share the files.
    """
    from . import _tf_tables

    errors = []
    files = list(_python_files(paths, errors))
    _tf_tables.load()  # once, before the workers start
    tasks = [(path, write, helpers, frozenset(ignore)) for path in files]
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and len(tasks) >= _PARALLEL_MIN_FILES:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with context.Pool(min(jobs, len(tasks))) as pool:
            results = pool.map(_migrate_file, tasks, chunksize=max(1, len(tasks) // (jobs * 8)))
    else:
        results = [_migrate_file(task) for task in tasks]
    for path, message in errors:
        results.append({"path": path, "status": "error", "error": message, "findings": [], "diff": ""})
    return results


def _exit_status(results):
    if any(r["status"] == "error" for r in results):
        return 2
    return 1 if any(r["findings"] for r in results) else 0


def _renames_note():
    """What CM003 could not check, when TensorFlow's upgrade tables are missing; else None."""
    from . import _tf_tables
    tables = _tf_tables.load()
    if tables.available:
        return None
    return ("CM003 checked sessions only: TF1 API names were not looked up, as TensorFlow's tf_upgrade_v2 "
            f"tables were not found ({tables.reason}). Run compat-metrics migrate with a Python that has TensorFlow "
            "installed, or run tf_upgrade_v2.")


def run(args):
    """Run ``compat-metrics migrate``."""
    try:
        from . import _engine
    except ImportError as error:
        print(f"compat-metrics migrate needs LibCST: pip install 'compat_metrics[migrate]' ({error})",
              file=sys.stderr)
        return 2
    if args.list_rules:
        for rule, (name, text) in _engine.RULES.items():
            print(f"{rule} {name}: {text}")
        return 0
    if not args.paths:
        args.usage_error("give at least one PATH (or --list-rules)")  # exits with status 2
    ignore = {r.strip().upper() for r in args.ignore.split(",") if r.strip()}
    unknown = sorted(ignore - set(_engine.RULES))
    if unknown:
        args.usage_error("Invalid `--ignore`: unknown rule(s) {}; the rules are {}. Received: --ignore {}".format(
            ", ".join(unknown), ", ".join(_engine.RULES), args.ignore))
    if args.jobs < 0:
        args.usage_error(f"Invalid `--jobs`: it must be >= 0 (0: one per core). Received: --jobs {args.jobs}")
    results = migrate_paths(args.paths, write=args.write, helpers=_helpers(), ignore=ignore, jobs=args.jobs)
    status = _exit_status(results)
    note = _renames_note()
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
            "tf1_renames": note or "TensorFlow's tf_upgrade_v2 tables",
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
    if note:
        print("note: " + note, file=sys.stderr)
    print("{} file(s), {} finding(s), {} {}, {} error(s)".format(
        len(results), count, fixable, "rewritten" if args.write else "can be rewritten (--diff, --write)", errors),
        file=sys.stderr)
    return status
