"""Demo: train a small model on generated data and print the tracked loss
components next to the loss, on whichever TF/Keras is installed.

Run with ``python -m compat_metrics.demo``.
"""

import argparse

import numpy as np
import tensorflow as tf

import compat_metrics
from compat_metrics import runtime

keras = compat_metrics.keras


class CompositeLoss(compat_metrics.ComponentLoss):
    """A composite loss: cross-entropy plus an L2 penalty on the logits."""

    components = ("ce", "reg")

    def call(self, y_true, y_pred):
        ce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred))
        reg = 0.01 * tf.reduce_mean(tf.square(y_pred))
        return self.track("ce", ce) + self.track("reg", reg)


def make_data(n=512, features=16, classes=4, seed=0):
    """Linearly separable-ish multi-label data, generated (no downloads)."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    w = rng.normal(size=(features, classes)).astype("float32")
    y = (x.dot(w) + 0.5 * rng.normal(size=(n, classes)) > 0).astype("float32")
    return x, y, classes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="demo-output", help="folder for the PNG plots")
    args = parser.parse_args(argv)
    info = runtime.describe()
    print("compat_metrics demo on Python {python}, TensorFlow {tensorflow}, Keras {keras_flavour} "
          "{keras_version}, {mode} mode".format(**info))
    x, y, classes = make_data()
    inputs = keras.Input((x.shape[1],))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(classes)(hidden))
    loss = CompositeLoss()
    compat_metrics.compile(model, optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=loss.metrics(),
                           experimental_run_tf_function=False)
    history = model.fit(x, y, batch_size=64, epochs=args.epochs, validation_split=0.25, verbose=0)
    print("{:>5} {:>9} {:>9} {:>9} {:>11} {:>9}".format("epoch", "loss", "ce", "reg", "ce+reg", "val_loss"))
    logs = history.history
    for epoch in range(args.epochs):
        print("{:>5} {:>9.5f} {:>9.5f} {:>9.5f} {:>11.5f} {:>9.5f}".format(
            epoch + 1, logs["loss"][epoch], logs["ce"][epoch], logs["reg"][epoch],
            logs["ce"][epoch] + logs["reg"][epoch], logs["val_loss"][epoch]))
    print("The components are read from variables the loss assigned: nothing is recomputed, "
          "and ce + reg equals the loss Keras reports.")
    classification_demo(args.epochs, args.out)
    return history


def classification_demo(epochs, out_dir):
    """Per-class F1 from one shared confusion matrix, in History and as PNG plots."""
    import os
    rng = np.random.RandomState(1)
    names = ["cat", "dog", "bird", "fish"]
    x = rng.normal(size=(512, 8)).astype("float32")
    labels = np.argmax(x[:, :4] + 0.7 * rng.normal(size=(512, 4)), axis=1)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    matrix = compat_metrics.ConfusionMatrix(4, class_names=names)
    f1 = compat_metrics.F1Score(4, name="f1", confusion_matrix=matrix, class_names=names)
    compat_metrics.compile(model, optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                           metrics=f1.per_class_metrics())
    history = model.fit(x, labels, batch_size=64, epochs=epochs, validation_split=0.25, verbose=0)
    last = {key: round(float(values[-1]), 3) for key, values in sorted(history.history.items())}
    print("per-class F1 in History:", last)
    from compat_metrics import plot
    os.makedirs(out_dir, exist_ok=True)
    try:
        curves = plot.plot_per_class(history, "f1", os.path.join(out_dir, "f1_per_class.png"))
        heatmap = plot.plot_confusion_matrix(matrix, os.path.join(out_dir, "confusion_matrix.png"))
    except ImportError as error:  # matplotlib is the optional "plot" extra
        print("plots skipped:", error)
        return
    print("wrote", curves, "and", heatmap)


if __name__ == "__main__":
    main()
