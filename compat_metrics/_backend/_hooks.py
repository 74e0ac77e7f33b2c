"""The one way the library attaches state to Keras objects and wraps their methods.

Keras tracks what is assigned to its objects: Keras 2 turns lists and dicts
set on a layer, model or optimizer into tracked wrappers (saved with the
model, and a dict with ``int`` keys breaks saving), Keras 3 locks the
attribute tracker of a built layer. The library's state is therefore stored
straight in the instance ``__dict__`` under ``_compat_metrics_<key>``
(:func:`state`), which Keras neither tracks nor saves as a dependency.

:func:`wrap` routes calls of a method (``test_step``, ``compute_loss``,
``optimizer.apply_gradients``, ...) through wrappers. Several wrappers of one
method stack in a fixed order, whatever order they were installed in: the
lower ``order`` (:data:`ORDER`) is the outer one. Wrapping again under the
same key replaces that wrapper; :func:`unwrap` removes it, and removing the
last one restores the method. When Keras replaces the attribute (a new
``compile`` sets a new ``compiled_loss``), the next :func:`wrap` wraps the
new value.
"""

import functools
import inspect

__all__ = ["ORDER", "state", "set_state", "wrap", "unwrap", "wrappers"]

_PREFIX = "_compat_metrics_"
_WRAPPED = "wrapped_methods"

# Wrapper kinds from the outermost to the innermost. ``errors`` rewrites the
# message of an error the whole call raised; ``inputs`` hands the step's ``x``
# to input losses for the whole call; ``gradients`` observes the gradients of
# what the method computes; ``checks`` looks at what the method built.
ORDER = {"errors": 0, "inputs": 1, "gradients": 2, "checks": 3}


def state(obj, key, factory=None):
    """The library's state ``key`` on ``obj``; created by ``factory()`` on first use if given, else None."""
    value = obj.__dict__.get(_PREFIX + key)
    if value is None and factory is not None:
        value = factory()
        set_state(obj, key, value)
    return value


def set_state(obj, key, value):
    """Store ``value`` as the library's state ``key`` on ``obj``, untracked by Keras."""
    object.__setattr__(obj, _PREFIX + key, value)


class _CallableProxy:
    """``target`` with its calls going through ``call`` (``compiled_loss`` is an object, not a method)."""

    def __init__(self, target, call):
        self.__dict__.update(_target=target, _call=call)

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._target, name)


_MISSING = object()


class _Method:
    """The wrappers of one method of one object, and what undoing them restores."""

    def __init__(self, obj, name):
        self.name = name
        self.own = obj.__dict__.get(name, _MISSING)  # an instance attribute to restore, if any
        self.inner = getattr(obj, name)
        self.layers = []  # [(order, key, wrapper)], outermost first

        def call(*args, **kwargs):
            return self._call(0, args, kwargs)

        is_method = inspect.ismethod(self.inner) or inspect.isfunction(self.inner)
        if is_method:  # keeps the method's name, docstring and signature (``inspect.signature(model.evaluate)``)
            functools.update_wrapper(call, self.inner)
        self.installed = call if is_method else _CallableProxy(self.inner, call)

    def _call(self, index, args, kwargs):
        if index == len(self.layers):
            return self.inner(*args, **kwargs)
        wrapper = self.layers[index][2]
        return wrapper(lambda *a, **k: self._call(index + 1, a, k), *args, **kwargs)


def _methods(obj):
    return state(obj, _WRAPPED, dict)


def wrap(obj, name, key, wrapper, order):
    """Make ``obj.name(*args, **kwargs)`` call ``wrapper(call_next, *args, **kwargs)``.

    Args:
        obj: a Keras model, optimizer or layer.
        name: the method (or callable attribute) to wrap.
        key: identifies the wrapper; wrapping again under it replaces it.
        wrapper: ``fn(call_next, *args, **kwargs)``; ``call_next`` runs the
            inner wrappers and the method.
        order: a key of :data:`ORDER`; lower is outer.
    """
    methods = _methods(obj)
    method = methods.get(name)
    if method is None or obj.__dict__.get(name) is not method.installed:  # first, or Keras replaced it
        layers = method.layers if method is not None else []
        method = methods[name] = _Method(obj, name)
        method.layers = layers
        object.__setattr__(obj, name, method.installed)
    method.layers = [layer for layer in method.layers if layer[1] != key]
    method.layers.append((ORDER[order], key, wrapper))
    method.layers.sort(key=lambda layer: layer[0])


def unwrap(obj, name, key):
    """Remove the wrapper ``key`` of ``obj.name``; the last one removed restores the method."""
    methods = _methods(obj)
    method = methods.get(name)
    if method is None:
        return
    method.layers = [layer for layer in method.layers if layer[1] != key]
    if method.layers:
        return
    del methods[name]
    if obj.__dict__.get(name) is method.installed:
        if method.own is _MISSING:
            object.__delattr__(obj, name)
        else:
            object.__setattr__(obj, name, method.own)


def wrappers(obj, name):
    """The keys of the wrappers of ``obj.name``, outermost first."""
    method = _methods(obj).get(name)
    if method is None or obj.__dict__.get(name) is not method.installed:
        return []
    return [key for _, key, _ in method.layers]
