"""The docs' generated tables agree with the code they are generated from."""

import importlib.util
import pathlib

from compat_metrics import runtime
from compat_metrics._backend import impl

HOOK = pathlib.Path(__file__).resolve().parent.parent / "docs" / "hooks" / "generated.py"


def _hook():
    spec = importlib.util.spec_from_file_location("docs_generated", str(HOOK))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _column():
    if runtime.BACKEND == "tf1":
        return "TF 1.15"
    if runtime.BACKEND == "keras3":
        return "Keras 3 (TF ≥ 2.16)"
    return "TF 2.0/2.1" if impl.HONOURS_RUN_TF_FUNCTION else "TF 2.2–2.15, tf_keras"


def test_matrix_column_of_this_install_is_what_the_backend_reports():
    table, columns = _hook().mechanisms()
    column = _column()
    assert column in columns
    assert {feature: row[column] for feature, row in table.items() if column in row} == dict(impl.MECHANISMS)


def test_markers_are_replaced():
    hook = _hook()
    page = "a\n<!-- generated: mechanisms -->\n<!-- generated: tox -->\n<!-- generated: migrate-rules -->\n"
    out = hook.on_page_markdown(page, None, None, None)
    assert "<!-- generated" not in out
    assert "| `tf115` | python3.7 |" in out and "| CM001 | `assign-in-loss` |" in out
    for feature in impl.MECHANISMS:
        assert f"| `{feature}` |" in out


def test_compatibility_page_shows_the_committed_sweep_results():
    """docs/compatibility.md's measured table is generated from sweep/results.json, and matches it."""
    path = HOOK.parents[2] / "sweep" / "run.py"
    spec = importlib.util.spec_from_file_location("sweep_run", str(path))
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    results = sweep.load_results()
    page = sweep.PAGE.read_text()
    assert sweep.page_section(results) in page
    for key, entry in results["entries"].items():
        assert key in sweep._matrix.TABLE, key  # only entries of the table
        if "files" in entry:
            assert entry["passed"] == sum(c["passed"] for c in entry["files"].values()), key
            assert "| `{}` | {} |".format(key, entry["tensorflow"]) in page, key
