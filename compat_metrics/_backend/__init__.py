"""The one place that picks the version-specific implementation.

``tf1``, ``keras2`` and ``keras3`` expose the same names; public modules use
``from compat_metrics._backend import impl`` and never branch on versions.
"""

# Imported by name: ``from .. import runtime`` would load the whole package (its lazy ``__getattr__``).
from ..runtime import BACKEND

if BACKEND == "keras3":
    from . import keras3 as impl
elif BACKEND == "tf1":
    from . import tf1 as impl
elif BACKEND == "keras2":
    from . import keras2 as impl
else:  # pragma: no cover - runtime only produces the three names above
    raise ImportError(f"compat_metrics: no backend for {BACKEND!r}")

__all__ = ["impl"]
