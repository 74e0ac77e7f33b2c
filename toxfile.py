"""tox plugin: let tox find every Python pyenv has installed.

pyenv's shims do not expose ``python3.7`` unless a version is selected, so on
a machine whose Pythons live under ``$(pyenv root)/versions/`` their ``bin``
folders are appended to ``PATH`` (after what is already there: a
``python3.7`` on the user's ``PATH`` still wins).
"""

import glob
import os
import shutil
import subprocess


def _pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return root
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            return subprocess.run([pyenv, "root"], stdout=subprocess.PIPE, check=True,
                                  text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    default = os.path.expanduser("~/.pyenv")
    return default if os.path.isdir(default) else None


def _add_pyenv_pythons_to_path():
    root = _pyenv_root()
    if not root:
        return
    paths = os.environ.get("PATH", "").split(os.pathsep)
    extra = [path for path in sorted(glob.glob(os.path.join(root, "versions", "*", "bin")), reverse=True)
             if path not in paths]
    if extra:
        os.environ["PATH"] = os.pathsep.join(paths + extra)


_add_pyenv_pythons_to_path()


# COMPAT_METRICS_TOX_PRUNE=1 (set by .ci/run): delete each run env's folder once its
# commands have run, so a run of the whole envlist needs the disk of one TF install at
# a time, not of all of them (about 16 GB).
PRUNE_VARIABLE = "COMPAT_METRICS_TOX_PRUNE"

try:
    from tox.plugin import impl
except ImportError:  # imported outside tox (tests read this file)
    impl = None

if impl is not None:

    @impl
    def tox_after_run_commands(tox_env, exit_code, outcomes):  # noqa: ARG001 (tox's hook signature)
        if os.environ.get(PRUNE_VARIABLE, "") not in ("1", "true", "yes"):
            return
        env_dir = str(tox_env.env_dir)
        work_dir = str(tox_env.core["work_dir"])
        if os.path.dirname(os.path.abspath(env_dir)) == os.path.abspath(work_dir):
            shutil.rmtree(env_dir, ignore_errors=True)
