"""Per-class metrics in the logs: what ``compat_metrics.compile`` does with ``average=None``.

Keras logs scalars. A vector-valued score (``average=None``) given to
``compat_metrics.compile`` is replaced by one scalar view per class, named
``{name}_{i}`` (or ``{name}_{class name}``), so ``History``, ``val_`` keys and
callbacks (``ModelCheckpoint``, ``EarlyStopping``, ``ReduceLROnPlateau``,
``CSVLogger``, ``TensorBoard``) see them on every version.

Cost: the metrics of one compile argument (and output) that read one
confusion matrix form a group; the first adds each batch, masked, and the
others only read the matrix, so N per-class views cost about one update.

Why views rather than a metric whose ``result()`` is a dict: Keras >= 2.2
and Keras 3 flatten such a dict into the logs (History, ``val_`` keys,
CSVLogger), but TF 1.15-2.1 and graph mode cannot, and Keras 3 callbacks in
``mode="auto"`` look the monitored name up among the metric objects and raise
for a dict key. Scalar views named like the keys work everywhere.
"""

import tensorflow as tf

from ._score import READER, UPDATER, _Score
from .confusion import ConfusionMatrix

__all__ = ["expand_for_logs", "per_output", "refuse_sharing_across_slots"]


def _is_vector(metric):
    return isinstance(metric, _Score) and metric.average is None and metric.class_index is None


def _matrix_settings(metric):
    """What decides a score's confusion matrix: in one compile slot, equal settings mean equal matrices."""
    cm = metric._cm
    return (cm.num_classes, cm.threshold, cm.multilabel, cm.dtype)


def _relink(metrics):
    """Scores of a loaded model, each owning its matrix again, read one matrix per settings.

    Saving drops the shared ``confusion_matrix``; in one compile slot (same
    inputs and weights) scores with equal matrix settings count the same
    matrix, so sharing it again changes no value, only the cost. Not so for
    a user's ``update_state`` override (it may drop or weight samples): such
    a score keeps its own matrix.
    """
    first = {}
    out = []
    for metric in metrics:
        if isinstance(metric, _Score) and len(metric._cm._sharers.value) == 1 and \
                type(metric).update_state is _Score.update_state:
            settings = _matrix_settings(metric)
            if settings in first:
                metric = metric._copy(confusion_matrix=first[settings]._cm)
            else:
                first[settings] = metric
        out.append(metric)
    return out


def _reader(metric, **changes):
    """A copy of ``metric`` (same matrix) that never adds a batch."""
    copy = metric._copy(**changes)
    copy._cm._detach(copy.update_count)
    copy._role = READER
    return copy


def _expand_group(metrics, relink=False):
    """One compile slot: vector scores become views; one updater per confusion matrix."""
    out, updaters = [], set()
    metrics = [_deserialized(metric) for metric in metrics]
    if relink:
        metrics = _relink(metrics)
    for metric in metrics:
        if _is_vector(metric):
            views = metric.per_class_metrics()
            for view in views:
                view._cm._detach(view.update_count)
                if id(view._cm) in updaters:
                    view._role = READER
                else:  # adds the batches, advancing the vector metric's own counter
                    updaters.add(id(view._cm))
                    view._counter = metric._counter
                    view._role = UPDATER
            out.extend(views)
        elif isinstance(metric, _Score):
            if id(metric._cm) in updaters:
                out.append(_reader(metric))
            else:
                updaters.add(id(metric._cm))
                out.append(metric)
        else:
            if isinstance(metric, ConfusionMatrix):
                updaters.add(id(metric))  # counts its own updates; the first of a step adds
            out.append(metric)
    return out


def _deserialized(metric):
    """A metric of a saved config (TF 2.0/2.1 h5 ``training_config`` holds configs), as Keras would build it."""
    if _is_config(metric):
        from .. import runtime
        try:
            return runtime.keras.metrics.deserialize(metric)
        except (ValueError, TypeError):  # left to Keras's compile, which says what is wrong
            return metric
    return metric


def _is_config(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value


def per_output(value):
    """Whether a ``metrics``/``weighted_metrics`` argument gives each output its own metrics.

    A dict keyed by output name, or a list holding lists (or dicts), one per
    output; a saved config (a dict with ``class_name`` and ``config``) is one
    metric. ``compile``'s checks, the views and Keras 3's list mapping all
    read the argument through this one test.
    """
    if isinstance(value, dict):
        return not _is_config(value)
    return isinstance(value, (list, tuple)) and any(
        isinstance(item, (list, tuple)) or (isinstance(item, dict) and not _is_config(item)) for item in value)


def _expand_slot(value, relink=False):
    if per_output(value):
        if isinstance(value, dict):
            return {key: _expand_slot(item, relink) for key, item in value.items()}
        return type(value)(_expand_slot(item, relink) for item in value)
    if isinstance(value, (list, tuple)):
        return _expand_group(list(value), relink)
    if isinstance(value, _Score):
        return _expand_group([value], relink)
    return value


def expand_for_logs(kwargs, loaded=False):
    """``compile`` keyword arguments with per-class views in ``metrics`` and ``weighted_metrics``.

    Vector scores (``average=None``) become ``num_classes`` scalar views;
    metrics sharing a confusion matrix in one argument (and output) update
    it once per step. ``loaded``: the metrics of a loaded model, whose scores
    share a matrix again where their settings are equal (see :func:`_relink`).
    """
    kwargs = dict(kwargs)
    for key in ("metrics", "weighted_metrics"):
        if kwargs.get(key) is not None:
            kwargs[key] = _expand_slot(kwargs[key], loaded)
    return kwargs


def refuse_sharing_across_slots(slots, hint=""):
    """Raise ``ValueError`` where one confusion matrix is read in two compile slots.

    ``slots``: ``(where, metric)`` pairs, ``where`` naming the argument
    (``metrics`` or ``weighted_metrics``) and, per output, the output. A
    shared matrix adds the first update of each step; metrics of two slots see
    other samples or weights, so one of them would silently report the other's
    values. ``hint`` ends the message where the two slots are two outputs.
    """
    first = {}
    for where, metric in slots:
        matrix = metric if isinstance(metric, ConfusionMatrix) else getattr(metric, "confusion_matrix", None)
        if not isinstance(matrix, ConfusionMatrix):
            continue
        seen = first.setdefault(id(matrix), (where, metric))
        if seen[0] != where:
            raise ValueError(
                f"Invalid `metrics`: {seen[1].name!r} (in {seen[0]}) and {metric.name!r} (in {where}) "
                f"share ConfusionMatrix {matrix.name!r}, but Keras updates them with "
                "different inputs (sample weights or outputs); a shared matrix adds only the first update of a "
                "step, so one of them would report the other's values. Give each its own ConfusionMatrix"
                f"{hint if seen[0].split('[')[0] == where.split('[')[0] else ''}.")


def has_vector_metrics(metrics):
    """Whether ``metrics`` (flattened) holds a vector-valued library score."""
    return any(_is_vector(metric) for metric in tf.nest.flatten(metrics) if metric is not None)


def has_scores(metrics):
    """Whether ``metrics`` (flattened) holds a library score (or a saved config of one)."""
    return any(isinstance(_deserialized(metric), _Score) for metric in tf.nest.flatten(metrics) if metric is not None)
