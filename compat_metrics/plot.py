"""Plots of per-class metrics and confusion matrices (needs matplotlib, an optional extra).

Figures are drawn with matplotlib's Agg canvas (no display, no global pyplot
state) and written as PNG files.
"""

import re

import numpy as np

__all__ = ["per_class_keys", "plot_per_class", "plot_confusion_matrix"]


def _figure(size):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("compat_metrics.plot needs matplotlib: pip install matplotlib") from error
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure


def _numpy(value):
    """``value`` itself, or a tensor's value (in TF1 graph mode from the Keras session)."""
    if isinstance(value, (np.ndarray, list, tuple)):
        return value
    import tensorflow as tf

    from . import runtime
    if runtime.in_graph_mode() and (tf.is_tensor(value) or isinstance(value, tf.Variable)):
        return runtime.keras.backend.batch_get_value([value])[0]
    return value


def _history_dict(history):
    return getattr(history, "history", history)


def per_class_keys(history, metric):
    """The per-class keys of ``metric`` in a ``History``: ``{label: (train_key, val_key or None)}``.

    Keys are those :meth:`F1Score.per_class_metrics` produces:
    ``{metric}_{label}`` and ``val_{metric}_{label}``.
    """
    logs = _history_dict(history)
    pattern = re.compile(rf"^{re.escape(metric)}_(.+)$")
    keys = {}
    for key in logs:
        match = pattern.match(key)
        if match:
            label = match.group(1)
            val_key = "val_" + key
            keys[label] = (key, val_key if val_key in logs else None)
    return keys


def plot_per_class(history, metric, path, title=None):
    """Plot train (solid) and validation (dashed) curves per class over epochs; write a PNG.

    Args:
        history: a Keras ``History`` or its ``history`` dict.
        metric: the metric name, e.g. ``"f1"`` for keys ``f1_0``, ``val_f1_0``.
        path: PNG file to write.
        title: optional figure title.

    Returns:
        ``path``.

    Raises:
        ValueError: no per-class keys of ``metric`` in the history.
    """
    logs = _history_dict(history)
    keys = per_class_keys(logs, metric)
    if not keys:
        raise ValueError(f"no per-class keys '{metric}_<class>' in the history; keys are {sorted(logs)}. Compile with "
                         "metric.per_class_metrics() to log them.")
    figure = _figure((7, 4.5))
    axes = figure.add_subplot(1, 1, 1)
    for label, (train_key, val_key) in sorted(keys.items()):
        epochs = np.arange(1, len(logs[train_key]) + 1)
        line, = axes.plot(epochs, logs[train_key], marker="o", label=f"{label} train")
        if val_key:
            axes.plot(epochs, logs[val_key], linestyle="--", marker="x", color=line.get_color(),
                      label=f"{label} val")
    axes.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    axes.set_ylabel(metric)
    axes.set_title(title or f"{metric} per class")
    axes.legend(fontsize="small", ncol=2)
    figure.savefig(path, format="png", dpi=80)
    return path


def plot_confusion_matrix(matrix, path, class_names=None, normalize=False, title="Confusion matrix"):
    """Draw a confusion matrix as a heatmap (rows true, columns predicted); write a PNG.

    Args:
        matrix: a ``(C, C)`` array or tensor, or a :class:`ConfusionMatrix`
            (in TF1 graph mode tensors are read in the Keras session).
        path: PNG file to write.
        class_names: tick labels; default the metric's ``class_names`` or indices.
        normalize: divide each row by its total (recall per class on the diagonal).
        title: figure title.

    Returns:
        ``path``.
    """
    if hasattr(matrix, "result") and hasattr(matrix, "num_classes"):
        class_names = class_names or getattr(matrix, "class_names", None)
        matrix = matrix.result()
    values = np.asarray(_numpy(matrix), dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"plot_confusion_matrix needs a square (C, C) matrix; got shape {values.shape}")
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    names = list(class_names) if class_names is not None else [str(i) for i in range(values.shape[0])]
    if len(names) != values.shape[0]:
        raise ValueError("{} class names for a {}x{} matrix".format(len(names), *values.shape))
    size = max(4.0, 0.6 * len(names) + 2)
    figure = _figure((size, size))
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(values, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(len(names))
    axes.set_xticks(ticks)
    axes.set_yticks(ticks)
    axes.set_xticklabels(names, rotation=45, ha="right")
    axes.set_yticklabels(names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    limit = values.max() / 2.0 if values.size else 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            axes.text(j, i, f"{values[i, j]:.2f}" if normalize else f"{values[i, j]:g}",
                      ha="center", va="center", color="white" if values[i, j] > limit else "black",
                      fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=80)
    return path
