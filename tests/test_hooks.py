"""compat_metrics._backend._hooks: state on Keras objects, method wrappers in a fixed order, undo."""

import inspect

import compat_metrics
from compat_metrics._backend import _hooks

keras = compat_metrics.keras


class Step:
    def run(self, x):
        return ["method", x]


class Container:
    """Stands for Keras 2's ``compiled_loss``: a callable object with attributes."""

    metrics = ["loss"]

    def __call__(self, x):
        return x + 1


def _wrapper(name, seen):
    def wrapper(call, x):
        seen.append(name)
        return call(x)
    return wrapper


def test_wrappers_stack_in_the_fixed_order_whatever_the_order_they_are_installed_in():
    step, seen = Step(), []
    _hooks.wrap(step, "run", "norm", _wrapper("gradients", seen), "gradients")
    _hooks.wrap(step, "run", "loss", _wrapper("inputs", seen), "inputs")
    assert step.run(3) == ["method", 3]
    assert seen == ["inputs", "gradients"]
    assert _hooks.wrappers(step, "run") == ["loss", "norm"]


def test_wrapping_again_replaces_and_removing_the_last_wrapper_restores_the_method():
    step, seen = Step(), []
    _hooks.wrap(step, "run", "norm", _wrapper("first", seen), "gradients")
    _hooks.wrap(step, "run", "norm", _wrapper("second", seen), "gradients")
    step.run(1)
    assert seen == ["second"]
    _hooks.unwrap(step, "run", "norm")
    assert "run" not in step.__dict__ and step.run(2) == ["method", 2]
    assert _hooks.wrappers(step, "run") == []


def test_a_callable_attribute_keeps_its_attributes_and_a_replaced_one_is_wrapped_anew():
    holder, seen = Step(), []
    holder.loss = first = Container()
    _hooks.wrap(holder, "loss", "norm", _wrapper("norm", seen), "gradients")
    assert holder.loss(1) == 2 and holder.loss.metrics == ["loss"] and seen == ["norm"]
    holder.loss = Container()  # what a new compile does
    _hooks.wrap(holder, "loss", "norm", _wrapper("again", seen), "gradients")
    assert holder.loss(1) == 2 and seen == ["norm", "again"]
    _hooks.unwrap(holder, "loss", "norm")
    assert holder.loss is not first and isinstance(holder.loss, Container)


def test_state_on_a_keras_object_is_a_plain_untracked_value():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    weights = len(model.weights)
    recorders = _hooks.state(model, "test_recorders", list)
    recorders.append(len)
    assert type(recorders) is list  # not a Keras-tracked list wrapper
    assert _hooks.state(model, "test_recorders") is recorders
    assert len(model.weights) == weights


def test_a_wrapped_method_keeps_its_signature_and_name():
    class Model:
        def evaluate(self, x, y=None, return_dict=False):
            """Evaluate."""
            return x

    model = Model()
    _hooks.wrap(model, "evaluate", "norm", lambda call_next, *a, **k: call_next(*a, **k), "errors")
    assert "return_dict" in inspect.signature(model.evaluate).parameters
    assert model.evaluate.__name__ == "evaluate" and model.evaluate(3) == 3
