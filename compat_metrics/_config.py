"""Constructor arguments as config: what ``get_config`` returns for users' subclasses."""

import functools
import inspect
import json

import numpy as np

from ._backend._common import LIBRARY_CONFIG_KEY
from ._backend._hooks import set_state, state

INIT_ARGS = "init_args"  # the _hooks state key (attribute _compat_metrics_init_args)


def capture_init_args(init):
    """Wrap ``__init__`` so the outermost call records its arguments for ``get_config``."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        if state(self, INIT_ARGS) is None:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError:
                recorded = dict(kwargs)
            else:
                bound.apply_defaults()
                recorded = {}
                for name, value in list(bound.arguments.items())[1:]:
                    kind = signature.parameters[name].kind
                    if kind == inspect.Parameter.VAR_KEYWORD:
                        recorded.update(value)
                    elif kind != inspect.Parameter.VAR_POSITIONAL:
                        recorded[name] = value
            set_state(self, INIT_ARGS, recorded)
        init(self, *args, **kwargs)

    return wrapped


def init_args(obj):
    """The constructor arguments :func:`capture_init_args` recorded for ``obj`` (empty if none)."""
    return dict(state(obj, INIT_ARGS) or {})


def _jsonable(value):
    try:
        json.dumps(value, default=lambda item: item.item() if isinstance(item, np.generic) else item.tolist()
                   if isinstance(item, np.ndarray) else _refuse(item))
    except (TypeError, ValueError):
        return False
    return True


def _refuse(item):
    raise TypeError(type(item).__name__)


def init_args_config(obj, base_config, overridden):
    """``base_config`` plus the recorded constructor arguments of ``obj``.

    Arguments that JSON cannot hold are left out when the subclass overrides
    ``get_config`` (``overridden``: it adds them its own way); otherwise the
    model could be saved but not loaded, so a ``ValueError`` says what to do.
    """
    config = {}
    for name, value in init_args(obj).items():
        if _jsonable(value):
            config[name] = value
        elif not overridden:
            raise ValueError(
                f"Invalid constructor argument `{name}` of {type(obj).__name__} for saving: "
                f"a {type(value).__name__} cannot be stored in the saved model's "
                "config, so the model would not load. Override get_config() to return a JSON value for it (and "
                f"from_config() to rebuild it), or do not pass it to the constructor. Received: {value!r}"
                )
    config.update(base_config)
    return config


def loss_from_config(cls, config):
    """A loss from its config, also one saved by Keras 2 (``reduction="auto"``, which Keras 3 refuses)."""
    config = dict(config)
    from ._backend import impl
    if config.get("reduction") == "auto" and not impl.ACCEPTS_AUTO_REDUCTION:
        config["reduction"] = "sum_over_batch_size"  # what "auto" meant outside tf.distribute
    return from_config(cls, config)


def from_config(cls, config):
    """``cls(**config)`` with only the keys its constructor accepts."""
    config = dict(config)
    config.pop(LIBRARY_CONFIG_KEY, None)
    parameters = inspect.signature(cls.__init__).parameters
    if not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        config = {key: value for key, value in config.items() if key in parameters}
    return cls(**config)
