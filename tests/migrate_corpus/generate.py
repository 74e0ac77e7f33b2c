"""A tree of training-code files in the shapes public TF/Keras repositories use, for ``compat-metrics migrate``.

``generate(folder, count, seed)`` writes ``count`` files (about 8 KB each on
average, like the real trees the tool is meant for): TF1 session scripts,
keras.io-style custom models, modules of custom losses and metrics
(factories closing over ``keras.Input``, Keras 2 metric subclasses,
tensorflow_addons F1), VAEs with ``add_metric``, clean TF2 Keras scripts and
plain data utilities. The code is written for this corpus (in the shapes
found in public code, not copied from it); it is parsed and migrated, never
run. ``python -m tests.migrate_corpus.generate FOLDER [COUNT]`` writes one.
"""

import os
import random
import sys

_HELPERS = [
    '''
def load_{name}(path, limit=None):
    """Read one sample per line ("label<TAB>v1,v2,...")."""
    labels, rows = [], []
    with open(path) as handle:
        for i, line in enumerate(handle):
            if limit is not None and i >= limit:
                break
            label, values = line.rstrip("\\n").split("\\t")
            labels.append(int(label))
            rows.append([float(v) for v in values.split(",")])
    return np.asarray(rows, dtype="float32"), np.asarray(labels)
''',
    '''
def normalize_{name}(x, axis=0, eps=1e-7):
    mean = x.mean(axis=axis, keepdims=True)
    std = x.std(axis=axis, keepdims=True)
    return (x - mean) / (std + eps)
''',
    '''
def batches_{name}(x, y, batch_size={size}, shuffle=True, seed=0):
    index = np.arange(len(x))
    if shuffle:
        np.random.RandomState(seed).shuffle(index)
    for start in range(0, len(x), batch_size):
        part = index[start:start + batch_size]
        yield x[part], y[part]
''',
    '''
def plot_{name}(history, keys=("loss", "val_loss"), path="{name}.png"):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in keys:
        if key in history:
            ax.plot(history[key], label=key)
    ax.set_xlabel("epoch")
    ax.legend()
    fig.savefig(path)
    plt.close(fig)
''',
    '''
def augment_{name}(image, rng, max_shift={size}):
    dx, dy = rng.randint(-max_shift, max_shift + 1, size=2)
    image = np.roll(image, (dx, dy), axis=(0, 1))
    if rng.rand() < 0.5:
        image = image[:, ::-1]
    return image
''',
    '''
class {Name}Config(object):
    """Hyper-parameters of the {name} experiment."""

    def __init__(self, **overrides):
        self.learning_rate = 1e-3
        self.batch_size = {size}
        self.epochs = 10
        self.hidden_units = [{size}, {size}]
        self.dropout = 0.1
        for key, value in overrides.items():
            if not hasattr(self, key):
                raise ValueError("unknown setting %s" % key)
            setattr(self, key, value)

    def as_dict(self):
        return dict(self.__dict__)
''',
    '''
def confusion_{name}(labels, predicted, num_classes):
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for t, p in zip(labels, predicted):
        matrix[t, p] += 1
    precision = np.diag(matrix) / np.maximum(matrix.sum(axis=0), 1)
    recall = np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)
    return matrix, precision, recall
''',
]

_TF1 = '''
import tensorflow as tf

FLAGS = None


def model_{name}(x, keep_prob, hidden={size}, classes={classes}):
    with tf.variable_scope("{name}"):
        w1 = tf.get_variable("w1", [x.shape[1], hidden], initializer=tf.glorot_uniform_initializer())
        b1 = tf.get_variable("b1", [hidden], initializer=tf.zeros_initializer())
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
        h = tf.nn.dropout(h, keep_prob)
        w2 = tf.get_variable("w2", [hidden, classes])
        return tf.matmul(h, w2)


def train_{name}(x_train, y_train, epochs=5):
    x = tf.placeholder(tf.float32, [None, x_train.shape[1]], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    keep_prob = tf.placeholder(tf.float32)
    logits = model_{name}(x, keep_prob)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    correct = tf.equal(tf.argmax(logits, 1), y)
    accuracy = tf.reduce_mean(tf.to_float(correct))
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss, global_step=global_step)
    tf.summary.scalar("loss", loss)
    merged = tf.summary.merge_all()
    saver = tf.train.Saver()
    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        writer = tf.summary.FileWriter("logs/{name}", sess.graph)
        for epoch in range(epochs):
            for xb, yb in batches(x_train, y_train):
                _, summary, step = sess.run([train_op, merged, global_step],
                                            feed_dict={{x: xb, y: yb, keep_prob: 0.5}})
                writer.add_summary(summary, step)
            acc = sess.run(accuracy, feed_dict={{x: x_train, y: y_train, keep_prob: 1.0}})
            tf.logging.info("epoch %d accuracy %.3f", epoch, acc)
        saver.save(sess, "checkpoints/{name}.ckpt")
'''

_KERAS_MODEL = '''
import tensorflow as tf
from tensorflow import keras


class {Name}Model(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")

    def train_step(self, data):
        x, y = data

        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            # Compute the loss value
            # (the loss function is configured in `compile()`)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)

        # Compute gradients
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        # Update weights
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        # Update metrics (includes the metric that tracks the loss)
        self.compiled_metrics.update_state(y, y_pred)
        # Return a dict mapping metric names to current value
        return {{m.name: m.result() for m in self.metrics}}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        self.compiled_metrics.update_state(y, y_pred)
        return {{m.name: m.result() for m in self.metrics}}


def custom_loop_{name}(model, dataset, epochs=3):
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.MeanSquaredError()
    tracker = keras.metrics.Mean(name="loss")
    for epoch in range(epochs):
        for x, y in dataset:
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            tracker.update_state(loss)
        print("epoch", epoch, float(tracker.result()))
        tracker.reset_states()


def build_{name}(features={size}):
    inputs = keras.Input(shape=(features,))
    hidden = keras.layers.Dense({size}, activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(hidden)
    model = {Name}Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model
'''

_LOSSES = '''
import tensorflow as tf
import tensorflow.keras.backend as K
import tensorflow_addons as tfa
from tensorflow.keras.layers import Dense, Input
from tensorflow.keras.models import Model


class {Name}F1(tf.keras.metrics.Metric):
    def __init__(self, threshold=0.5, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.precision = tf.keras.metrics.Precision()
        self.recall = tf.keras.metrics.Recall()

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.cast(y_pred >= self.threshold, tf.float32)
        self.precision.update_state(y_true, y_pred, sample_weight)
        self.recall.update_state(y_true, y_pred, sample_weight)

    def result(self):
        p, r = self.precision.result(), self.recall.result()
        return 2 * p * r / (p + r + K.epsilon())

    def reset_states(self):
        self.precision.reset_states()
        self.recall.reset_states()


class {Name}Count(tf.keras.metrics.Metric):
    def __init__(self, name="{name}_count", **kwargs):
        super({Name}Count, self).__init__(name=name, **kwargs)
        self.count = self.add_weight("count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(tf.cast(tf.shape(y_true)[0], tf.float32))

    def result(self):
        return self.count


def {name}_loss(input_layer):
    # penalise outputs far from the mean of the inputs
    def loss(y_true, y_pred):
        return K.mean(K.square(y_pred - y_true), axis=-1) + 0.01 * K.mean(K.square(input_layer))
    return loss


def weighted_{name}(weights):
    def loss(y_true, y_pred):
        return K.mean(weights * K.square(y_pred - y_true), axis=-1)
    return loss


def build_{name}(features={size}, cat_num={classes}):
    input_layer = Input(shape=(features,))
    hidden = Dense({size}, activation="relu")(input_layer)
    output = Dense(1, activation="sigmoid")(hidden)
    model = Model(inputs=input_layer, outputs=output)
    model.compile(optimizer="adam", loss={name}_loss(input_layer),
                  metrics=[tfa.metrics.F1Score(num_classes=1, threshold=0.5, average="micro"),
                           {Name}F1(), {Name}Count()])
    multi = tfa.metrics.F1Score(num_classes=cat_num, threshold=0.5)
    return model, multi
'''

_VAE = '''
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import backend as K
from tensorflow.keras import layers


def sampling(args):
    z_mean, z_log_var = args
    epsilon = K.random_normal(shape=(K.shape(z_mean)[0], K.int_shape(z_mean)[1]))
    return z_mean + K.exp(0.5 * z_log_var) * epsilon


def build_{name}(original_dim={size}, latent_dim=2, intermediate_dim={size}):
    inputs = keras.Input(shape=(original_dim,), name="encoder_input")
    x = layers.Dense(intermediate_dim, activation="relu")(inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = layers.Lambda(sampling, output_shape=(latent_dim,), name="z")([z_mean, z_log_var])
    h = layers.Dense(intermediate_dim, activation="relu")(z)
    outputs = layers.Dense(original_dim, activation="sigmoid")(h)
    vae = keras.Model(inputs, outputs, name="vae_{name}")
    reconstruction_loss = keras.losses.binary_crossentropy(inputs, outputs) * original_dim
    kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    vae.add_loss(K.mean(reconstruction_loss + kl_loss))
    vae.add_metric(kl_loss, name="kl_loss", aggregation="mean")
    vae.add_metric(reconstruction_loss, name="reconstruction_loss", aggregation="mean")
    vae.compile(optimizer="adam")
    return vae
'''

_CLEAN = '''
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


def build_{name}(input_shape=({size}, {size}, 1), classes={classes}):
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(classes, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def train_{name}(x_train, y_train, batch_size={size}, epochs=15):
    y_train = keras.utils.to_categorical(y_train, {classes})
    model = build_{name}(x_train.shape[1:])
    callbacks = [keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True),
                 keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2)]
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
                        callbacks=callbacks)
    scores = tf.math.reduce_mean(model.predict(x_train), axis=0)
    return model, history.history, scores
'''

_UTILS = '''
import argparse
import json
import os

import numpy as np


def parse_args_{name}(argv=None):
    parser = argparse.ArgumentParser(description="{name} experiment")
    parser.add_argument("--data", default="data/{name}.tsv")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default={size})
    parser.add_argument("--out", default="runs/{name}")
    return parser.parse_args(argv)


def save_results_{name}(results, folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "results.json"), "w") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
'''

# kind -> (template, share of the files)
KINDS = {"tf1_session": (_TF1, 0.2), "keras_train_step": (_KERAS_MODEL, 0.15), "losses_metrics": (_LOSSES, 0.15),
         "vae_add_metric": (_VAE, 0.1), "clean_tf2": (_CLEAN, 0.2), "utilities": (_UTILS, 0.2)}


def _file(kind, index, rng):
    name = "{}{}".format(rng.choice(["mnist", "cifar", "seg", "ner", "price", "churn", "audio", "gan"]), index)
    fields = {"name": name, "Name": name.capitalize(), "size": rng.choice([16, 32, 64, 128]),
              "classes": rng.choice([2, 5, 10])}
    header = "# -*- coding: utf-8 -*-\n\"\"\"{} ({}).\"\"\"\n".format(name, kind.replace("_", " "))
    body = KINDS[kind][0].format(**fields)
    helpers = [h.format(name="{}_{}".format(name, i), Name="{}{}".format(fields["Name"], i), size=fields["size"])
               for i, h in enumerate(rng.sample(_HELPERS * 4, rng.randint(12, 26)))]
    imports = "" if "import numpy as np" in body else "import numpy as np\n"
    return header + imports + body + "".join(helpers) + '\n\nif __name__ == "__main__":\n    pass\n'


def generate(folder, count=600, seed=0):
    """Write ``count`` files under ``folder`` (in sub-folders of 50); returns their paths."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    weights = [KINDS[k][1] for k in kinds]
    paths = []
    for index in range(count):
        kind = rng.choices(kinds, weights)[0]
        sub = os.path.join(folder, "pkg{:02d}".format(index // 50))
        os.makedirs(sub, exist_ok=True)
        path = os.path.join(sub, "{}_{:04d}.py".format(kind, index))
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_file(kind, index, rng))
        paths.append(path)
    return paths


if __name__ == "__main__":
    written = generate(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 600)
    print("{} files, {} bytes".format(len(written), sum(os.path.getsize(p) for p in written)))
