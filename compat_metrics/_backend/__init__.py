"""The one place that picks the version-specific implementation.

``tf1``, ``keras2`` and ``keras3`` expose the same names; public modules use
``from compat_metrics._backend import impl`` and never branch on versions.
"""

from .. import runtime

if runtime.BACKEND == "keras3":
    from . import keras3 as impl
elif runtime.BACKEND == "tf1":
    from . import tf1 as impl
elif runtime.BACKEND == "keras2":
    from . import keras2 as impl
else:  # pragma: no cover - runtime only produces the three names above
    raise ImportError("compat_metrics: no backend for {!r}".format(runtime.BACKEND))

__all__ = ["impl"]
