"""Pure tensor maths for confusion-matrix metrics (no state, no Keras).

Everything here takes tensors and returns tensors, works eagerly, inside
``tf.function`` and in TF1 graphs, and is what the stateful classes in
:mod:`compat_metrics.metrics` call. Definitions follow scikit-learn's
``precision_recall_fscore_support`` with ``labels=range(num_classes)``:

- precision = tp / (tp + fp), recall = tp / (tp + fn),
  F-beta = (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp); a zero denominator
  gives ``zero_division`` (0.0, 1.0 or NaN).
- ``average=None``: one value per class; ``"micro"``: from tp, fp, fn summed
  over classes; ``"macro"``: mean over classes (NaNs ignored); ``"weighted"``:
  mean weighted by support (the weighted count of true samples per class;
  the plain mean when no class has support, as scikit-learn >= 1.3);
  ``"binary"``: the value of class 1 (two classes only).

State layouts:
- single-label: a ``(C, C)`` confusion matrix, rows true, columns predicted;
- multilabel: ``(C, 2, 2)``, per class ``[[tn, fp], [fn, tp]]`` (the layout of
  ``sklearn.metrics.multilabel_confusion_matrix``).
"""

import math
import numbers

import tensorflow as tf

from .._errors import register_message

__all__ = [
    "AVERAGES", "check_average", "check_beta", "check_num_classes", "check_threshold", "check_zero_division",
    "prepare_inputs", "batch_confusion_matrix",
    "class_statistics", "precision_recall_fbeta", "precision", "recall", "fbeta_score",
]

AVERAGES = (None, "micro", "macro", "weighted", "binary")


def check_average(average, num_classes):
    """Validate ``average``; return it."""
    if average not in AVERAGES:
        raise ValueError(f"Invalid `average` argument value. Expected one of {AVERAGES}. Received: average={average!r}"
                         )
    if average == "binary" and num_classes != 2:
        raise ValueError("average='binary' needs num_classes=2 (it reports class 1). Received: "
                         f"num_classes={num_classes}; use average=None, 'micro', 'macro' or 'weighted'.")
    return average


def check_zero_division(zero_division):
    """Validate ``zero_division`` (0.0, 1.0 or NaN); return it as a float."""
    try:
        value = float(zero_division)
    except (TypeError, ValueError):
        value = None
    if value is None or not (value in (0.0, 1.0) or math.isnan(value)):
        raise ValueError("Invalid `zero_division` argument value. It should be 0.0, 1.0 or float('nan'). "
                         f"Received: zero_division={zero_division!r}")
    return value


def check_num_classes(num_classes):
    """Validate ``num_classes`` (an integer >= 2, NumPy integers included); return it as an int."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError("Invalid `num_classes` argument value. It should be an integer >= 2 (binary "
                         f"problems have 2 classes). Received: num_classes={num_classes!r}")
    return int(num_classes)


def _static_dim(tensor, axis):
    dims = tensor.shape.as_list() if tensor.shape.ndims is not None else None
    return None if dims is None else dims[axis]


@tf.autograph.experimental.do_not_convert  # Keras 2 converts update_state: its raise must stay Python
def _assert(condition, message, data=()):
    """An assertion whose failure message starts with ``message``.

    Eagerly it is checked at once and raised as ``InvalidArgumentError`` with the
    library's sentence first (``tf.debugging.Assert`` would start with
    ``Expected 'tf.Tensor(False, ...)' to be true``); in graphs it is an ``Assert`` op.
    """
    register_message(message)
    if tf.executing_eagerly():
        if not bool(condition):
            error = tf.errors.InvalidArgumentError(None, None, " ".join([message] + [_shown(d) for d in data]))
            error.ag_pass_through = True  # AutoGraph (Keras 2 converts update_state) leaves its message as it is
            raise error
        return condition
    return tf.debugging.Assert(condition, [message] + list(data), summarize=8)


def _shown(value):
    """Assertion data as text: ``[0 3]`` for numbers, ``['0.5' '1.5']`` for strings."""
    array = value.numpy() if hasattr(value, "numpy") else value
    if getattr(array, "dtype", None) is not None and array.dtype.kind in "SO":
        array = array.astype(str)
    return str(array)


def _sparse_ids(y_true, num_classes, checks):
    """Class ids from sparse labels of shape (n,) or (n, 1)."""
    labels = tf.reshape(y_true, [-1])
    if labels.dtype.is_floating:
        checks.append(_assert(
            tf.reduce_all(tf.equal(labels, tf.round(labels))),
            "y_true holds float labels with a fractional part, where integer class ids are expected "
            "(sparse labels are class ids 0..num_classes-1; one-hot labels need shape "
            "(n, num_classes)). First labels:", [tf.strings.as_string(labels[:8])]))
    elif not labels.dtype.is_integer:
        raise TypeError(f"y_true must hold numbers (class ids or one-hot rows); got dtype {labels.dtype}")
    ids = tf.cast(labels, tf.int32)
    # Assertion data all int32 or strings: such an Assert needs no tf.cond guard, which
    # inside tf.function costs more than the check itself.
    checks.append(_assert(
        tf.reduce_all(tf.logical_and(labels >= 0, labels < num_classes)),
        f"y_true has class ids outside [0, num_classes={num_classes}). Min and max label:",
        [tf.reduce_min(ids), tf.reduce_max(ids)]))
    return ids


def _one_hot_ids(y_true, num_classes, checks):
    """Class ids from one-hot rows of shape (n, C)."""
    if y_true.dtype == tf.bool:
        y_true = tf.cast(y_true, tf.float32)
    ids = tf.cast(tf.argmax(y_true, axis=-1), tf.int32)
    # one-hot exactly when each row equals the one-hot row of its argmax (an all-zero,
    # soft or two-hot row does not)
    checks.append(_assert(
        tf.reduce_all(tf.equal(y_true, tf.one_hot(ids, num_classes, dtype=y_true.dtype))),
        f"y_true of shape (n, num_classes={num_classes}) must be one-hot: each row one 1 and zeros elsewhere "
        "(for soft or smoothed labels take tf.argmax first)."))
    return ids


def _check_columns(tensor, cols, num_classes, what, checks):
    """Check at run time that ``tensor`` has ``num_classes`` columns, unless its static width ``cols`` is known
    (then the caller has checked it when the graph was built)."""
    if cols is None:
        checks.append(_assert(tf.equal(tf.shape(tensor)[-1], num_classes),
                              f"{what} must have num_classes={num_classes} columns. Shape:",
                              [tf.shape(tensor)]))


def _check_batch(y_true, y_pred, sample_weight, checks):
    n_true, n_pred = _static_dim(y_true, 0), _static_dim(y_pred, 0)
    if n_true is not None and n_pred is not None and n_true != n_pred:
        raise ValueError(f"y_true and y_pred hold different numbers of samples: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}")
    if n_true is None or n_pred is None:  # known and equal: nothing to check when it runs
        checks.append(_assert(tf.equal(tf.shape(y_true)[0], tf.shape(y_pred)[0]),
                              "y_true and y_pred hold different numbers of samples. Shapes:",
                              [tf.shape(y_true), tf.shape(y_pred)]))
    if sample_weight is not None:
        size = sample_weight.shape.num_elements()
        if size is not None and n_pred is not None:
            if size != n_pred:
                raise ValueError(f"sample_weight must hold one weight per sample: sample_weight.shape={sample_weight.shape}, "
                                 f"y_pred.shape={y_pred.shape}")
        else:
            checks.append(_assert(tf.equal(tf.size(sample_weight), tf.shape(y_pred)[0]),
                                  "sample_weight must hold one weight per sample. Shapes of sample_weight "
                                  "and y_pred:", [tf.shape(sample_weight), tf.shape(y_pred)]))
    finite = tf.logical_not(tf.reduce_any(tf.math.is_nan(tf.cast(y_pred, tf.float32))))
    checks.append(_assert(finite, "y_pred contains NaN: the model produced NaN predictions "
                                  "(diverged training or NaN inputs)."))


def check_threshold(threshold):
    """Validate ``threshold`` (a real number, or None); return it as a float or None."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise ValueError("Invalid `threshold` argument value. It should be a finite number (a prediction "
                         f"above it is positive) or None. Received: threshold={threshold!r}")
    return float(threshold)


def check_beta(beta):
    """Validate ``beta`` (a real number > 0); return it as a float."""
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not beta > 0 or not math.isfinite(beta):
        raise ValueError("Invalid `beta` argument value. It should be a number > 0 (recall weighs beta "
                         f"times as much as precision). Received: beta={beta!r}")
    return float(beta)


# -- prepare_inputs, in phases (as torchmetrics' functional classification) -----------------------
def _arg_validation(num_classes, threshold, multilabel):
    """Phase 1: the Python arguments."""
    num_classes = check_num_classes(num_classes)
    threshold = check_threshold(threshold)
    if multilabel and threshold is None:
        threshold = 0.5
    return num_classes, threshold, bool(multilabel)


def _tensor_validation(y_true, y_pred, sample_weight, num_classes, multilabel, checks):
    """Phase 2: shapes known when the graph is built (``ValueError``) and run-time checks of the batch.

    Returns ``(y_true, y_pred, sample_weight, pred_cols)``: tensors, and the static width of ``y_pred``
    (1 for a single column or a vector, None when unknown).
    """
    y_true = tf.convert_to_tensor(y_true)
    y_pred = tf.convert_to_tensor(y_pred)
    if y_pred.shape.ndims == 0 or y_true.shape.ndims == 0:
        raise ValueError(f"y_true and y_pred need a batch dimension; got shapes {y_true.shape} and {y_pred.shape}"
                         )
    if sample_weight is not None:
        sample_weight = tf.cast(tf.convert_to_tensor(sample_weight), tf.float32)
    _check_batch(y_true, y_pred, sample_weight, checks)
    if y_pred.shape.ndims is not None and y_pred.shape.ndims > 2:
        raise ValueError(f"y_pred must have shape (n, num_classes) or, for binary, (n,)/(n, 1); got {y_pred.shape}"
                         )
    pred_cols = _static_dim(y_pred, -1) if y_pred.shape.ndims == 2 else (1 if y_pred.shape.ndims == 1 else None)
    true_cols = _static_dim(y_true, -1) if y_true.shape.ndims == 2 else None
    if multilabel:
        if y_true.shape.ndims not in (None, 2) or pred_cols not in (None, num_classes) or \
                true_cols not in (None, num_classes):
            raise ValueError(f"multilabel y_true and y_pred must have shape (n, num_classes={num_classes}); "
                             f"got {y_true.shape} and {y_pred.shape} "
                             "(a threshold with more than two classes decides each column on its own, as Keras's "
                             "and tensorflow-addons' F1Score do: labels must be 0/1 rows, e.g. one-hot)"
                             )
        for name, tensor, cols in (("y_true", y_true, true_cols), ("y_pred", y_pred, pred_cols)):
            _check_columns(tensor, cols, num_classes, "multilabel " + name, checks)
        return y_true, y_pred, sample_weight, pred_cols
    if pred_cols == 1 and num_classes != 2:
        raise ValueError("y_pred has one column, which only works for binary problems (num_classes=2); "
                         f"num_classes={num_classes}: y_pred must have shape (n, {num_classes})")
    if pred_cols not in (None, 1, num_classes):
        raise ValueError(f"y_pred has {pred_cols} columns but num_classes={num_classes}: expected shape (n, {num_classes})"
                         )
    if pred_cols is None:
        _check_columns(y_pred, pred_cols, num_classes, "y_pred", checks)
    if y_true.shape.ndims is not None and y_true.shape.ndims > 2:
        raise ValueError(f"y_true must have shape (n,), (n, 1) or (n, num_classes={num_classes}); got {y_true.shape}"
                         )
    if true_cols not in (None, 1, num_classes):
        raise ValueError(f"y_true has {true_cols} columns: expected class ids (n,)/(n, 1) or one-hot rows "
                         f"(n, num_classes={num_classes})")
    return y_true, y_pred, sample_weight, pred_cols


def _format(y_true, y_pred, sample_weight, num_classes, threshold, multilabel, pred_cols, checks):
    """Phase 3: class ids (or 0/1 indicators) and weights; label checks that need the values."""
    if multilabel:
        true = tf.cast(y_true, tf.float32)
        checks.append(_assert(tf.reduce_all(tf.logical_or(tf.equal(true, 0.0), tf.equal(true, 1.0))),
                              "multilabel y_true must hold 0/1 indicators."))
        pred = tf.cast(tf.cast(y_pred, tf.float32) > threshold, tf.float32)
    else:
        if pred_cols == 1:
            scores = tf.reshape(tf.cast(y_pred, tf.float32), [-1])
            pred = tf.cast(scores > (0.5 if threshold is None else threshold), tf.int32)
        elif threshold is not None and num_classes == 2:
            pred = tf.cast(tf.cast(y_pred[:, 1], tf.float32) > threshold, tf.int32)
        else:
            pred = tf.cast(tf.argmax(y_pred, axis=-1), tf.int32)
        true = _true_ids(y_true, num_classes, checks)
    weights = tf.ones_like(pred[..., 0] if multilabel else pred, dtype=tf.float32) if sample_weight is None \
        else tf.reshape(sample_weight, [-1])
    return true, pred, weights


def _true_ids(y_true, num_classes, checks):
    """Class ids from sparse labels or one-hot rows (decided when it runs if the width is unknown)."""
    rank = y_true.shape.ndims
    true_cols = _static_dim(y_true, -1) if rank == 2 else None
    if rank == 1 or true_cols == 1:
        return _sparse_ids(y_true, num_classes, checks)
    if true_cols == num_classes:
        return _one_hot_ids(y_true, num_classes, checks)
    # Width unknown when the graph is built (TF1 Keras target placeholders): decide when it runs.
    cols = tf.shape(y_true)[-1]
    checks.append(_assert(tf.logical_or(tf.equal(cols, 1), tf.equal(cols, num_classes)),
                          f"y_true must have shape (n, 1) or (n, num_classes={num_classes}). Shape:",
                          [tf.shape(y_true)]))
    sparse_checks, dense_checks = [], []

    def sparse():
        ids = _sparse_ids(y_true[:, :1], num_classes, sparse_checks)
        with tf.control_dependencies(sparse_checks):
            return tf.identity(ids)

    def dense():
        ids = _one_hot_ids(y_true, num_classes, dense_checks)
        with tf.control_dependencies(dense_checks):
            return tf.identity(ids)

    with tf.control_dependencies(checks):
        return tf.cond(tf.equal(cols, 1), sparse, dense)


def prepare_inputs(y_true, y_pred, num_classes, threshold=None, multilabel=False, sample_weight=None):
    """Turn a batch into class ids (or 0/1 indicators) and weights, with checks.

    Three phases: argument validation, tensor validation (shapes), formatting
    (ids, indicators and weights, with the checks that need the values).

    Args:
        y_true: sparse class ids, shape ``(n,)`` or ``(n, 1)`` (int, or float
            holding whole numbers, as TF1 Keras feeds them), or one-hot rows
            ``(n, num_classes)``; for ``multilabel`` 0/1 indicators ``(n, C)``.
        y_pred: scores ``(n, num_classes)`` (probabilities or logits, argmax is
            taken), or for two classes with ``threshold`` the positive-class
            score ``(n,)``/``(n, 1)``; for ``multilabel`` scores ``(n, C)``.
        num_classes: number of classes ``C``.
        threshold: a score above ``threshold`` counts as positive (binary and
            multilabel). Multilabel and single-column binary predictions
            default to 0.5; two-column binary predictions to the argmax.
        multilabel: whether each of the C labels is a separate yes/no.
        sample_weight: optional weights, ``(n,)`` or ``(n, 1)``.

    Returns:
        ``(true, pred, weights, checks)``: int32 ids ``(n,)`` (multilabel: float
        indicators ``(n, C)``), float32 weights ``(n,)``, and assertion ops
        that must run before the values are used.

    Raises:
        ValueError: invalid arguments, or shapes that cannot match, known when
            the graph is built.
        TypeError: labels that are not numbers.
    """
    num_classes, threshold, multilabel = _arg_validation(num_classes, threshold, multilabel)
    checks = []
    y_true, y_pred, sample_weight, pred_cols = _tensor_validation(y_true, y_pred, sample_weight, num_classes,
                                                                  multilabel, checks)
    true, pred, weights = _format(y_true, y_pred, sample_weight, num_classes, threshold, multilabel, pred_cols,
                                  checks)
    return true, pred, weights, checks


def batch_confusion_matrix(y_true, y_pred, num_classes, threshold=None, multilabel=False,
                           sample_weight=None, dtype=tf.float32):
    """The weighted confusion matrix of one batch, after input checks.

    Returns:
        ``(C, C)`` (rows true, columns predicted), or ``(C, 2, 2)`` for
        ``multilabel``. See :func:`prepare_inputs` for the arguments.

    Raises:
        ValueError: shapes that cannot match (see :func:`prepare_inputs`).
        TypeError: labels that are not numbers.
        tf.errors.InvalidArgumentError: bad labels or predictions (eagerly at
            once; in a graph when the result is computed).
    """
    true, pred, weights, checks = prepare_inputs(y_true, y_pred, num_classes, threshold, multilabel,
                                                 sample_weight)
    with tf.control_dependencies(checks):
        return tf.cast(confusion_from_ids(true, pred, weights, num_classes, multilabel), dtype)


def confusion_from_ids(true, pred, weights, num_classes, multilabel=False):
    """The float32 weighted confusion matrix of :func:`prepare_inputs`' output (no checks)."""
    if multilabel:
        w = weights[:, None]
        tp = tf.reduce_sum(w * true * pred, axis=0)
        fp = tf.reduce_sum(w * (1.0 - true) * pred, axis=0)
        fn = tf.reduce_sum(w * true * (1.0 - pred), axis=0)
        tn = tf.reduce_sum(w * (1.0 - true) * (1.0 - pred), axis=0)
        return tf.reshape(tf.stack([tn, fp, fn, tp], axis=-1), [num_classes, 2, 2])
    rows = tf.one_hot(true, num_classes, dtype=tf.float32) * weights[:, None]
    return tf.matmul(rows, tf.one_hot(pred, num_classes, dtype=tf.float32), transpose_a=True)


def class_statistics(matrix):
    """Per-class ``(tp, pred_sum, true_sum)`` from a ``(C, C)`` or ``(C, 2, 2)`` state."""
    matrix = tf.convert_to_tensor(matrix)
    if matrix.shape.ndims == 3:
        tp = matrix[:, 1, 1]
        return tp, tp + matrix[:, 0, 1], tp + matrix[:, 1, 0]
    tp = tf.linalg.diag_part(matrix)
    return tp, tf.reduce_sum(matrix, axis=0), tf.reduce_sum(matrix, axis=1)


def _divide(numerator, denominator, zero_division):
    safe = tf.where(denominator > 0, denominator, tf.ones_like(denominator))
    return tf.where(denominator > 0, numerator / safe, tf.fill(tf.shape(numerator), tf.cast(zero_division,
                                                                                        numerator.dtype)))


def _average(values, average, support):
    if average is None or average == "micro":
        return values if average is None else values[0]
    if average == "binary":
        return values[1]
    valid = tf.logical_not(tf.math.is_nan(values))
    clean = tf.where(valid, values, tf.zeros_like(values))
    count = tf.reduce_sum(tf.cast(valid, values.dtype))
    nan = tf.constant(float("nan"), values.dtype)
    mean = tf.where(count > 0, tf.reduce_sum(clean) / tf.where(count > 0, count, 1.0), nan)
    if average == "macro":
        return mean
    # weighted; with no support at all (no true samples) scikit-learn takes the plain mean
    weights = tf.where(valid, support, tf.zeros_like(support))
    total = tf.reduce_sum(weights)
    return tf.where(total > 0, tf.reduce_sum(clean * weights) / tf.where(total > 0, total, 1.0), mean)


def precision_recall_fbeta(matrix, beta=1.0, average=None, zero_division=0.0):
    """Precision, recall and F-beta from a confusion-matrix state, as scikit-learn.

    Args:
        matrix: ``(C, C)`` or ``(C, 2, 2)`` state (see module docstring).
        beta: weight of recall, > 0.
        average: ``None``, ``"micro"``, ``"macro"``, ``"weighted"`` or ``"binary"``.
        zero_division: value for 0/0: 0.0, 1.0 or NaN.

    Returns:
        ``(precision, recall, fbeta)``: vectors ``(C,)`` for ``average=None``,
        scalars otherwise.

    Example:
        >>> cm = tf.constant([[2., 1.], [0., 3.]])
        >>> p, r, f = precision_recall_fbeta(cm, average="macro")
    """
    zero_division = check_zero_division(zero_division)
    matrix = tf.cast(tf.convert_to_tensor(matrix), tf.float32)
    check_average(average, matrix.shape[0] if matrix.shape.ndims else None)
    tp, pred_sum, true_sum = class_statistics(matrix)
    support = true_sum
    if average == "micro":
        tp, pred_sum, true_sum = [tf.reshape(tf.reduce_sum(t), [1]) for t in (tp, pred_sum, true_sum)]
    beta2 = float(beta) ** 2
    p = _divide(tp, pred_sum, zero_division)
    r = _divide(tp, true_sum, zero_division)
    f = _divide((1.0 + beta2) * tp, beta2 * true_sum + pred_sum, zero_division)
    return tuple(_average(v, average, support) for v in (p, r, f))


def precision(matrix, average=None, zero_division=0.0):
    """Precision from a confusion-matrix state; see :func:`precision_recall_fbeta`."""
    return precision_recall_fbeta(matrix, 1.0, average, zero_division)[0]


def recall(matrix, average=None, zero_division=0.0):
    """Recall from a confusion-matrix state; see :func:`precision_recall_fbeta`."""
    return precision_recall_fbeta(matrix, 1.0, average, zero_division)[1]


def fbeta_score(matrix, beta=1.0, average=None, zero_division=0.0):
    """F-beta from a confusion-matrix state; see :func:`precision_recall_fbeta`."""
    return precision_recall_fbeta(matrix, beta, average, zero_division)[2]
