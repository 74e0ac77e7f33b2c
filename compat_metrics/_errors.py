"""The library's own sentence first in errors raised by its checks inside Keras's steps.

A failed check of a metric's input (``y_true`` out of range, NaN predictions,
...) is an ``Assert`` op inside the step Keras compiled, and TensorFlow
reports it as ``InvalidArgumentError`` whose first lines are
``Graph execution error:`` and the node's traceback; the library's sentence
comes last. :func:`library_errors_first` makes a compiled model's ``fit``,
``evaluate`` and ``*_on_batch`` re-raise such an error with that sentence as
its first line, the original message below it.
"""

import tensorflow as tf

__all__ = ["library_errors_first", "register_message"]

_MESSAGES = set()  # the sentences of the library's assertions built so far
_METHODS = ("fit", "evaluate", "train_on_batch", "test_on_batch")


def register_message(message):
    """Remember ``message``, the sentence of an assertion the library built."""
    _MESSAGES.add(message)


def _first_line(text):
    """``"<sentence> <data>"`` of the library's assertion reported in ``text``, or None."""
    found = [(text.find(message), message) for message in _MESSAGES if message in text]
    if not found:
        return None
    start, message = min(found)
    rest = text[start + len(message):].split("\n", 1)[0]
    return f"{message} {rest.lstrip(']').strip()}".strip()


def _reraise_library_first(call_next, *args, **kwargs):
    try:
        return call_next(*args, **kwargs)
    except tf.errors.InvalidArgumentError as error:
        first = _first_line(error.message)
        if first is None or error.message.startswith(first):
            raise
        raise type(error)(error.node_def, error.op, f"{first}\n\n{error.message}") from None


def library_errors_first(model):
    """Make ``model``'s training and evaluation calls report the library's failed checks first."""
    from ._backend._hooks import wrap  # here: the metrics' functions import this module, and _backend imports them
    for name in _METHODS:
        if hasattr(model, name):
            wrap(model, name, "library_errors_first", _reraise_library_first, "errors")
