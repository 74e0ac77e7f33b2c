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
