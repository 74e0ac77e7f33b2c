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
- TF 2.3-2.8 accept any protobuf but fail to import with protobuf >= 3.21
  (measured: TF 2.8 with protobuf 4.21.12); TF 2.9-2.11 pin protobuf < 3.20 themselves.
- TF 2.7-2.11 fail to import with numpy 2 (measured on 2.11 with numpy 2.0.2); numpy
  1.24-1.26 train and save (measured on 2.7 and 2.11). TF 2.2-2.6 pin numpy themselves.
- TF >= 2.16 declares its oldest Keras 3 (``keras>=``): 3.0 (2.16), 3.2 (2.17),
  3.5 (2.18, 2.19), 3.10 (2.20), 3.12 (2.21); ``OLDEST_KERAS3`` holds them and
  the tests check it against the installed TensorFlow's metadata.
- ``tf-keras`` requires ``tensorflow`` (not ``tensorflow-cpu``): next to
  ``tensorflow-cpu`` pip installs ``tensorflow`` as well.
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

PROTOBUF_2X = ("protobuf<3.21", "TF 2.3-2.8 accept any protobuf but fail to import with protobuf >= 3.21 "
                              "(Descriptors cannot not be created directly)")
NUMPY_124 = ("numpy<1.24", "TF 2.7-2.11 fail to import with numpy 2 (Unable to convert function return value); "
                           "numpy 1.24-1.26 train and save, but the sweep ran with numpy < 1.24 (Python >= 3.8 "
                           "would get numpy 2)")


def _release(minor, tf, python, pythons, deps=(), note=None):
    env = f"tf2{minor}"
    return Combo(f"2.{minor}", env, tf, python, pythons, tuple(deps), {}, "eager",
                 note or f"TF 2.{minor}: Python {python}")


# Measured installs (``tensorflow-cpu`` CPU wheels from PyPI): the Python each
# generated env uses, the Pythons that have wheels, and the pins beyond those TF
# declares itself (TF 2.3/2.4 pin numpy and h5py themselves; 2.9-2.11 pin protobuf).
_BASE = (
    Combo("1.15", "tf115", "tensorflow-cpu==1.15.0", "3.7", "==3.7.*", (PROTOBUF, H5PY, NUMPY_115), {}, "graph",
          "TF 1.15: Python 3.7 only; graph mode"),
    Combo("2.0", "tf20", "tensorflow==2.0.4", "3.7", "==3.7.*", (PROTOBUF, H5PY), {}, "eager",
          "TF 2.0: no tensorflow-cpu wheel for Python 3.7"),
    Combo("2.1", "tf21", "tensorflow-cpu==2.1.4", "3.7", "==3.7.*", (PROTOBUF, H5PY), {}, "eager",
          "TF 2.1: Python 3.7"),
    Combo("2.2", "tf22", "tensorflow-cpu==2.2.3", "3.8", ">=3.7,<3.9", (PROTOBUF,), {}, "eager",
          "TF 2.2: Python 3.8"),
    _release(3, "tensorflow-cpu==2.3.4", "3.7", ">=3.7,<3.9", (PROTOBUF_2X,), "TF 2.3: Python 3.7 (Keras 2.4)"),
    _release(4, "tensorflow-cpu==2.4.4", "3.8", ">=3.7,<3.9", (PROTOBUF_2X,), "TF 2.4: Python 3.8"),
    _release(5, "tensorflow-cpu==2.5.3", "3.7", ">=3.7,<3.10", (PROTOBUF_2X,), "TF 2.5: Python 3.7 (h5py 3.1)"),
    _release(6, "tensorflow-cpu==2.6.5", "3.9", ">=3.7,<3.10", (PROTOBUF_2X, NUMPY_124)),
    _release(7, "tensorflow-cpu==2.7.4", "3.9", ">=3.7,<3.10", (PROTOBUF_2X, NUMPY_124)),
    _release(8, "tensorflow-cpu==2.8.4", "3.9", ">=3.7,<3.11", (PROTOBUF_2X, NUMPY_124)),
    _release(9, "tensorflow-cpu==2.9.3", "3.10", ">=3.7,<3.11", (NUMPY_124,)),
    _release(10, "tensorflow-cpu==2.10.1", "3.10", ">=3.7,<3.11", (NUMPY_124,)),
    _release(11, "tensorflow-cpu==2.11.1", "3.10", ">=3.7,<3.11", (NUMPY_124,),
             "TF 2.11: Python 3.10 (new optimizers by default)"),
    _release(12, "tensorflow-cpu==2.12.1", "3.11", ">=3.8,<3.12"),
    _release(13, "tensorflow-cpu==2.13.1", "3.11", ">=3.8,<3.12", (), "TF 2.13: Python 3.11 (F1Score built in)"),
    _release(14, "tensorflow-cpu==2.14.1", "3.11", ">=3.9,<3.12"),
    Combo("2.15", "tf215", "tensorflow-cpu==2.15.1", "3.11", ">=3.9,<3.12", (), {}, "eager",
          "TF 2.15: the last Keras 2 inside tf.keras"),
    _release(16, "tensorflow-cpu==2.16.2", "3.11", ">=3.9,<3.13", (), "TF 2.16: Keras 3 (pip picks the newest)"),
    _release(17, "tensorflow-cpu==2.17.1", "3.11", ">=3.9,<3.13", (), "TF 2.17: Keras 3 (pip picks the newest)"),
    _release(18, "tensorflow-cpu==2.18.1", "3.11", ">=3.9,<3.13", (), "TF 2.18: Keras 3 (pip picks the newest)"),
    _release(19, "tensorflow-cpu==2.19.1", "3.11", ">=3.9,<3.13", (), "TF 2.19: Keras 3 (pip picks the newest)"),
    _release(20, "tensorflow-cpu==2.20.0", "3.11", ">=3.9,<3.14", (), "TF 2.20: Keras 3 (pip picks the newest)"),
    _release(21, "tensorflow-cpu==2.21.0", "3.11", ">=3.10,<3.14", (), "TF 2.21: Keras 3 (pip picks the newest)"),
    Combo("latest", "tf-latest", "tensorflow-cpu", "3.11", ">=3.10", (), {}, "eager",
          "current TF: Keras 3"),
    Combo("legacy", "tf-legacy", "tensorflow-cpu", "3.11", ">=3.10", (TF_KERAS,), LEGACY_ENV, "eager",
          "current TF with tf_keras (Keras 2)"),
)

# The oldest Keras 3 each Keras-3 release accepts (its own ``keras>=`` minor, newest patch):
# codebases frozen in 2024 pinned Keras 3.0-3.3, while pip gives the newest.
OLDEST_KERAS3 = collections.OrderedDict((
    ("2.16", "3.0.5"), ("2.17", "3.2.1"), ("2.18", "3.5.0"), ("2.19", "3.5.0"), ("2.20", "3.10.0"),
    ("2.21", "3.12.4"),
))


def _graph_variant(combo):
    return combo._replace(key=combo.key + "-graph", env=combo.env + "-graph", mode="graph",
                          note=combo.note + ", v2 behaviour disabled (graph mode)")


def _legacy_variant(combo):
    minor = combo.key.split(".")[1]
    return combo._replace(key=combo.key + "-legacy", env=combo.env + "-legacy",
                          deps=combo.deps + ((f"tf-keras~=2.{minor}.0",
                                              "tf_keras of the same minor release as TF"),),
                          setenv=LEGACY_ENV, note=combo.note.split(":")[0] + " with tf_keras (Keras 2)")


def _oldest_keras_variant(combo, keras):
    short = "".join(keras.split(".")[:2])
    return combo._replace(key="{}-keras{}".format(combo.key, ".".join(keras.split(".")[:2])),
                          env=f"{combo.env}-keras{short}",
                          deps=combo.deps + ((f"keras=={keras}",
                                              f"the oldest Keras 3 TF {combo.key} accepts"),),
                          note=f"TF {combo.key} with Keras {keras} (the oldest it accepts)")


_BY_KEY = {c.key: c for c in _BASE}
_KERAS2_RELEASES = [f"2.{minor}" for minor in range(0, 16)]
# Graph-mode variants: TF 2.x with Keras 2 can still run TF1 graph code.
_GRAPH = tuple(_graph_variant(_BY_KEY[key]) for key in _KERAS2_RELEASES)
# tf_keras for each Keras-3 release (a tf-keras of the same minor exists from 2.16).
_LEGACY = tuple(_legacy_variant(_BY_KEY[key]) for key in OLDEST_KERAS3)
_OLDEST_KERAS = tuple(_oldest_keras_variant(_BY_KEY[key], keras) for key, keras in OLDEST_KERAS3.items())

TABLE = collections.OrderedDict((c.key, c) for c in _BASE + _GRAPH + _LEGACY + _OLDEST_KERAS)
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
        raise ValueError(f"--tf {key}: Keras 3 (TF >= 2.16) has no TF1 graph mode and tf_keras in graph mode "
                         "is not in the known-good table; the last graph-mode TF there is '2.15-graph'")
    raise ValueError("--tf {!r} is not in the known-good table; known: {}".format(key, ", ".join(TABLE)))


def for_install(minor=None, legacy=False):
    """The entry for an install: TF ``minor`` (``"2.8"``; None: unpinned, the current release),
    with ``tf_keras`` if ``legacy``; None if the table has no such entry."""
    if minor is None:
        return TABLE["legacy" if legacy else "latest"]
    if legacy and minor + "-legacy" in TABLE:
        return TABLE[minor + "-legacy"]
    return TABLE.get(minor)
