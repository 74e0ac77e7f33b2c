"""``compat-metrics tox-matrix``: generation, --check, and the project's own tox.ini against the table.

Expected pins are written out literally from the measured facts (TF 1.15 needs
Python 3.7, protobuf<3.21 and h5py<3; tf_keras needs TF_USE_LEGACY_KERAS=1),
not read back from the table.
"""

import pathlib
import re
import sys

import pytest

from compat_metrics import _matrix, _toxgen
from compat_metrics.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECT_TOX = ROOT / "tox.ini"
PROJECT_SELECTION = ["1.15", "2.15-graph", "2.1", "2.3", "2.11", "2.15", "2.17", "latest", "legacy"]


def errors(findings):
    return [f for f in findings if f.level == "error"]


def test_the_projects_tox_ini_matches_the_table():
    config = _toxgen.read(str(PROJECT_TOX))
    assert not _toxgen.check_config(config), _toxgen.check_config(config)
    tf_envs = [name for name, env in config.envs.items()
               if _toxgen.combo_for(env, _toxgen._requirements(env.deps)) is not None]
    # The project tests every entry it selects, under the table's names (other TF envs,
    # e.g. benchmarks, only have to pass the check above).
    assert {n for n in tf_envs if n in _matrix.BY_ENV} == {_matrix.lookup(k).env for k in PROJECT_SELECTION}, tf_envs
    generated = _toxgen.read_ini_text(_toxgen.generate(PROJECT_SELECTION, tests="tests", graph_tests="tests_tf1"))
    for name in (n for n in tf_envs if n in _matrix.BY_ENV):
        ours, table = config.envs[name], generated.envs[name]
        assert ours.python == table.python, name
        table_tf = [d for d in table.deps if d.startswith("tensorflow")]
        assert set(table.deps) - {"pytest", "compat_metrics"} <= set(ours.deps), (name, table.deps, ours.deps)
        assert table_tf and set(table_tf) <= set(ours.deps), name
        for key, value in table.setenv.items():
            assert ours.setenv.get(key) == value, (name, key)


def test_generated_ini_has_the_measured_pins():
    config = _toxgen.read_ini_text(_toxgen.generate(["1.15", "2.1", "2.15", "latest"], legacy_keras=True,
                                                    tests="tests", graph_tests="tests_tf1"))
    assert list(config.envs) == ["tf115", "tf21", "tf215", "tf-latest", "tf-legacy"]
    tf115 = config.envs["tf115"]
    assert tf115.python == "3.7"
    assert {"tensorflow-cpu==1.15.0", "protobuf<3.21", "h5py<3", "pytest", "compat_metrics"} <= set(tf115.deps)
    assert config.envs["tf21"].python == "3.7" and "protobuf<3.21" in config.envs["tf21"].deps
    assert config.envs["tf215"].deps[-1] == "tensorflow-cpu==2.15.1" and config.envs["tf215"].python == "3.11"
    assert "TF_USE_LEGACY_KERAS" not in config.envs["tf-latest"].setenv
    legacy = config.envs["tf-legacy"]
    assert legacy.setenv["TF_USE_LEGACY_KERAS"] == "1" and "tf-keras" in legacy.deps
    assert any(r.startswith("virtualenv<20.27") for r in config.requires)
    assert not _toxgen.check_config(config)


def test_generated_ini_runs_the_graph_folder_in_graph_envs():
    text = _toxgen.generate(["1.15", "2.15-graph", "2.15"], tests="tests", graph_tests="tests_tf1")
    commands = dict(re.findall(r"\[testenv:([\w-]+)\][^\[]*?commands = (.*)", text))
    assert commands == {"tf115": "pytest tests_tf1 {posargs}", "tf215-graph": "pytest tests_tf1 {posargs}",
                        "tf215": "pytest tests {posargs}"}
    # Without --graph-tests every env runs --tests.
    assert "tests_tf1" not in _toxgen.generate(["1.15"], tests="tests")


def test_no_python37_no_virtualenv_pin():
    config = _toxgen.read_ini_text(_toxgen.generate(["2.15", "latest"]))
    assert not any(r.startswith("virtualenv") for r in config.requires)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="reading tox.toml needs tomllib (Python 3.11+)")
def test_generated_toml_round_trips(tmp_path):
    import tomllib
    path = tmp_path / "tox.toml"
    path.write_text(_toxgen.generate(["1.15", "latest"], legacy_keras=True, fmt="toml", tests="t2",
                                     graph_tests="t1"))
    data = tomllib.loads(path.read_text())
    assert data["env_list"] == ["tf115", "tf-latest", "tf-legacy"]
    assert data["env"]["tf115"]["base_python"] == ["python3.7"]
    assert {"protobuf<3.21", "h5py<3"} <= set(data["env"]["tf115"]["deps"])
    assert data["env"]["tf115"]["commands"][0][:2] == ["pytest", "t1"]
    assert data["env"]["tf-legacy"]["set_env"]["TF_USE_LEGACY_KERAS"] == "1"
    assert data["env"]["tf-latest"]["commands"][0][:2] == ["pytest", "t2"]
    assert not _toxgen.check(str(path))
    # A pin dropped from the TOML is found too.
    path.write_text(path.read_text().replace('"h5py<3", ', ""))
    assert [f.message.split(" (")[0] for f in errors(_toxgen.check(str(path)))] == ["missing pin h5py<3"]


def _edited_project_tox(tmp_path, *edits):
    text = PROJECT_TOX.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "tox.ini"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("edit, expected", [
    (("    tf115: protobuf<3.21\n", ""), "tf115: missing pin protobuf<3.21 (missing)"),
    (("    tf115: protobuf<3.21\n", "    tf115: protobuf<4\n"), "tf115: missing pin protobuf<3.21 (has protobuf<4)"),
    (("    tf21: h5py<3\n", "    tf21: h5py\n"), "tf21: missing pin h5py<3 (has h5py)"),
    (("    tf-legacy: TF_USE_LEGACY_KERAS = 1\n", ""), "tf-legacy: missing set_env TF_USE_LEGACY_KERAS=1"),
    (("    tf-legacy: tf-keras\n", ""), "tf-legacy: missing pin tf-keras (missing)"),
    (("    tf115,tf21,tf23: python3.7\n    tf211: python3.10\n    !tf115-!tf21-!tf23-!tf211: python3.11\n",
      "    tf21,tf23: python3.7\n    tf211: python3.10\n    !tf21-!tf23-!tf211: python3.11\n"),
     "tf115: Python 3.11: TF 1.15 has wheels for"),
    (("    virtualenv<20.27\nenvlist", "envlist"), "tox: [tox] requires: missing virtualenv<20.27"),
])
def test_check_reports_what_is_missing(tmp_path, capsys, edit, expected):
    path = _edited_project_tox(tmp_path, edit)
    assert main(["tox-matrix", "--check", path]) == 1
    out = capsys.readouterr().out
    assert "error: " + expected in out, out
    assert len([line for line in out.splitlines() if ": error: " in line]) == 1, out


def test_check_accepts_stricter_pins_and_ignores_non_tf_envs(tmp_path, capsys):
    path = _edited_project_tox(
        tmp_path, ("    tf115: protobuf<3.21\n", "    tf115: protobuf<3.20,>=3.8\n"),
        ("[testenv:.pkg]", "[testenv:sample-site]\nskip_install = true\ndeps = mkdocs\ncommands = mkdocs build\n\n"
                           "[testenv:sample-dist]\ndeps = build\ncommands = python -m build\n\n"
                           "[testenv:sample-perf]\ndeps = tensorflow-cpu==2.15.1\ncommands = python benchmarks/run.py\n\n"
                           "[testenv:.pkg]"))
    assert main(["tox-matrix", "--check", path]) == 0
    assert "TF envs match the known-good table" in capsys.readouterr().out


def test_check_names_tf_versions_outside_the_table(tmp_path, capsys):
    path = tmp_path / "tox.ini"
    path.write_text("[tox]\nenv_list = old\n[testenv:old]\nbase_python = python3.8\n"
                    "deps =\n    tensorflow==2.22.0\n")
    assert main(["tox-matrix", "--check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "note: old: tensorflow==2.22.0 is not in the known-good table" in out, out


@pytest.mark.parametrize("argv, message", [
    (["--tf", "2.22"], "--tf '2.22' is not in the known-good table; known: 1.15, 2.0, 2.1, 2.2, 2.3, 2.4,"),
    (["--tf", "latest-graph"], "Keras 3 (TF >= 2.16) has no TF1 graph mode"),
    ([], "no TF version selected"),
    (["--tf", "1.15", "--deps", "pytest", "not a requirement!"], "--deps: 'not a requirement!' is not a valid"),
    (["--check", "/nonexistent/tox.ini"], "/nonexistent/tox.ini: no such file"),
])
def test_bad_arguments_are_named(capsys, argv, message):
    assert main(["tox-matrix"] + argv) == 2
    err = capsys.readouterr().err
    assert message in err, err


def test_cli_writes_the_file(tmp_path, capsys):
    out = tmp_path / "tox.ini"
    assert main(["tox-matrix", "--tf", "tf115", "latest", "--legacy-keras", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# tox configuration for TensorFlow 1.15, latest, legacy")
    assert "compat-metrics tox-matrix --tf tf115 latest --legacy-keras" in text
    assert main(["tox-matrix", "--check", str(out)]) == 0


def test_command_line_works_without_tensorflow(tmp_path):
    """tox-matrix and migrate run where TensorFlow is not installed (``import tensorflow`` fails here)."""
    import subprocess
    script = ("import sys; sys.modules['tensorflow'] = None  # import tensorflow now raises ImportError\n"
              "from compat_metrics.cli import main\n"
              "assert main(['tox-matrix', '--tf', '1.15', 'latest', '-o', sys.argv[1]]) == 0\n"
              "assert main(['migrate', sys.argv[2]]) == 0\n")
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "tox.ini"), str(clean)],
                         capture_output=True, cwd=str(ROOT), timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert "[testenv]" in (tmp_path / "tox.ini").read_text()


@pytest.mark.parametrize("key", _matrix.known_keys())
def test_every_entry_generates_an_env_that_passes_its_own_check(key):
    """Every release of the table (1.15, each 2.x, -graph, -legacy, oldest Keras 3) generates and checks."""
    combo = _matrix.lookup(key)
    config = _toxgen.read_ini_text(_toxgen.generate([key], tests="tests", graph_tests="tests_tf1"))
    env = config.envs[combo.env]
    assert env.python == combo.python and combo.tf in env.deps
    assert not _toxgen.check_config(config), _toxgen.check_config(config)
    assert _toxgen.combo_for(env, _toxgen._requirements(env.deps)) == combo


def test_every_release_from_1_15_to_2_21_is_in_the_table():
    keys = set(_matrix.known_keys())
    releases = {"1.15"} | {f"2.{minor}" for minor in range(22)}
    assert releases <= keys
    assert {f"2.{minor}-graph" for minor in range(16)} <= keys  # Keras 2 releases
    assert {f"2.{minor}-legacy" for minor in range(16, 22)} <= keys  # tf-keras exists from 2.16
    assert not any(k.endswith("-graph") and int(k.split(".")[1].split("-")[0]) >= 16 for k in keys if k[0] == "2")


def test_oldest_keras3_is_the_minimum_this_tensorflow_declares():
    """The table's oldest Keras 3 for the installed release is the ``keras>=`` its TensorFlow declares."""
    from compat_metrics import runtime
    release = f"{runtime.TF_VERSION.major}.{runtime.TF_VERSION.minor}"
    if release not in _matrix.OLDEST_KERAS3:
        pytest.skip(f"TF {release} is not a Keras 3 release")
    import importlib.metadata

    from packaging.requirements import Requirement
    requires = []
    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            requires = [Requirement(r) for r in importlib.metadata.requires(dist) or []]
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    keras = [r for r in requires if r.name == "keras"]
    assert keras, requires
    minimum = [spec.version for spec in keras[0].specifier if spec.operator == ">="][0]
    oldest = _matrix.OLDEST_KERAS3[release]
    assert oldest.split(".")[:2] == minimum.split(".")[:2], (release, oldest, minimum)
