"""Known-good TensorFlow installs: Python version, pins and environment per TF.

One table, shipped with the package, that ``compat-metrics tox-matrix``
generates tox configurations from and checks existing ones against. The
project's own ``tox.ini`` is checked against it by the test suite, so the two
cannot drift. Every entry was measured on real installs (CPU wheels from PyPI):

- TF 1.15 exists only for Python <= 3.7. It fails to import with protobuf
  >= 3.21 ("Descriptors cannot not be created directly") and cannot load h5
  models with h5py >= 3 (``'str' object has no attribute 'decode'``).
- TF 2.0 and 2.1 need the same protobuf and h5py pins; there is no
  ``tensorflow-cpu`` 2.0.x wheel for Python 3.7, so 2.0 uses ``tensorflow``.
- TF 2.2 needs Python 3.8 and ``protobuf<3.21`` (it pins h5py itself).
- TF 2.15 is the last release with Keras 2 inside ``tf.keras``.
- TF >= 2.16 ships Keras 3; ``tf_keras`` (Keras 2) needs the ``tf-keras``
  package *and* ``TF_USE_LEGACY_KERAS=1``, otherwise ``tf.keras`` stays Keras 3.
- tox/virtualenv >= 20.27 create Python 3.7 environments whose pip fails
  (``cannot import name 'Literal' from 'typing'``): tox must run with
  ``virtualenv<20.27``.
"""

import collections

from compat_metrics import __version__ as TABLE_VERSION  # noqa: F401  (named in generated files)

Combo = collections.namedtuple("Combo", "key env tf python pythons deps setenv mode note")
Combo.__doc__ = """One known-good install.

Attributes:
    key: what ``--tf`` selects it by (``"1.15"``, ``"latest"``, ``"legacy"``,
        ``"2.15-graph"``).
    env: tox env name (``"tf115"``, ``"tf-latest"``, ``"tf215-graph"``).
    tf: TensorFlow requirement installed (``"tensorflow-cpu==1.15.0"``).
    python: Python version the generated env uses (``"3.7"``).
    pythons: Python versions with wheels for this TF, a specifier
        (``"==3.7.*"``); ``--check`` accepts any of them.
    deps: extra pins the install needs, each a ``(requirement, reason)`` pair.
    setenv: environment variables the install needs, ``{name: (value, reason)}``.
    mode: ``"graph"`` (TF1 graph mode: TF 1.x, or TF 2.x with v2 behaviour
        disabled by the tests) or ``"eager"``: which of the user's test folders
        the env runs.
    note: one line shown in generated files.
"""

PROTOBUF = ("protobuf<3.21", "TF < 2.3 fails to import with protobuf >= 3.21 (Descriptors cannot not be created directly)")
H5PY = ("h5py<3", "h5py >= 3 breaks h5 load_model ('str' object has no attribute 'decode')")
NUMPY_115 = ("numpy<1.19", "TF 1.15 was built against numpy < 1.19")
TF_KERAS = ("tf-keras", "tf_keras is a separate package from TF 2.16 on")
LEGACY_ENV = {"TF_USE_LEGACY_KERAS": ("1", "without it tf.keras is Keras 3 even with tf-keras installed")}


def legacy_keras_requested(environ):
    """Whether ``environ`` asks TF >= 2.16 for ``tf_keras``: the values TensorFlow itself accepts."""
    return environ.get("TF_USE_LEGACY_KERAS") in ("true", "True", "1")


# Requirements for the environment that runs tox itself ([tox] requires).
TOX_REQUIRES = (
    ("tox>=4", "the generated configuration uses tox 4 syntax"),
)
PY37_TOX_REQUIRES = (
    ("virtualenv<20.27", "newer virtualenv creates Python 3.7 envs whose pip fails "
                         "(cannot import name 'Literal' from 'typing')"),
)

_BASE = (
    Combo("1.15", "tf115", "tensorflow-cpu==1.15.0", "3.7", "==3.7.*", (PROTOBUF, H5PY, NUMPY_115), {}, "graph",
          "TF 1.15: Python 3.7 only; graph mode"),
    Combo("2.0", "tf20", "tensorflow==2.0.4", "3.7", "==3.7.*", (PROTOBUF, H5PY), {}, "eager",
          "TF 2.0: no tensorflow-cpu wheel for Python 3.7"),
    Combo("2.1", "tf21", "tensorflow-cpu==2.1.4", "3.7", "==3.7.*", (PROTOBUF, H5PY), {}, "eager",
          "TF 2.1: Python 3.7"),
    Combo("2.2", "tf22", "tensorflow-cpu==2.2.3", "3.8", ">=3.7,<3.9", (PROTOBUF,), {}, "eager",
          "TF 2.2: Python 3.8"),
    Combo("2.15", "tf215", "tensorflow-cpu==2.15.1", "3.11", ">=3.9,<3.12", (), {}, "eager",
          "TF 2.15: the last Keras 2 inside tf.keras"),
    Combo("latest", "tf-latest", "tensorflow-cpu", "3.11", ">=3.10", (), {}, "eager",
          "current TF: Keras 3"),
    Combo("legacy", "tf-legacy", "tensorflow-cpu", "3.11", ">=3.10", (TF_KERAS,), LEGACY_ENV, "eager",
          "current TF with tf_keras (Keras 2)"),
)


def _graph_variant(combo):
    return combo._replace(key=combo.key + "-graph", env=combo.env + "-graph", mode="graph",
                          note=combo.note + ", v2 behaviour disabled (graph mode)")


# Graph-mode variants: TF 2.x with Keras 2 can still run TF1 graph code.
_GRAPH = tuple(_graph_variant(c) for c in _BASE if c.key in ("2.0", "2.1", "2.2", "2.15"))

TABLE = collections.OrderedDict((c.key, c) for c in _BASE + _GRAPH)
BY_ENV = {c.env: c for c in TABLE.values()}

# Requirement names that install TensorFlow itself.
TF_PACKAGES = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "intel-tensorflow")


def known_keys():
    """The ``--tf`` values the table knows, in order."""
    return list(TABLE)


def lookup(key):
    """The :class:`Combo` for a ``--tf`` value.

    Args:
        key: ``"1.15"``, ``"2.1"``, ``"2.15"``, ``"latest"``, ``"legacy"``,
            or one of them with ``"-graph"`` appended (Keras 2 only); or the
            env name (``"tf115"``, ``"tf-latest"``).

    Raises:
        ValueError: the value is not in the table; the message lists those that are.
    """
    key = str(key).strip().lower()
    if key in TABLE:
        return TABLE[key]
    if key in BY_ENV:  # the env name: "tf115", "tf-latest", "tf215-graph"
        return BY_ENV[key]
    if key in ("latest-graph", "legacy-graph"):
        raise ValueError("--tf {}: Keras 3 (TF >= 2.16) has no TF1 graph mode and tf_keras in graph mode "
                         "is not in the known-good table; the last graph-mode TF there is '2.15-graph'".format(key))
    raise ValueError("--tf {!r} is not in the known-good table; known: {}".format(key, ", ".join(TABLE)))
