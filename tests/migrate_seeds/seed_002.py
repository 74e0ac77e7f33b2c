# Seed 002: a regularised MSE loss and a Keras 2 metric (`reset_states`), tiny generated data.
import json

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


def get_uncompiled_model():
    inputs = keras.Input(shape=(12,), name="digits")
    x = layers.Dense(8, activation="relu", name="dense_1")(inputs)
    outputs = layers.Dense(4, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = tf.math.reduce_mean(tf.square(y_true - y_pred))
        reg = tf.math.reduce_mean(tf.square(0.5 - y_pred))
        return mse + reg * self.regularization_factor


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super(CategoricalTruePositives, self).__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")
        self.b = self.add_weight(name="b",initializer="random_uniform")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.argmax(y_pred, axis=1), shape=(-1, 1))
        values = tf.cast(tf.reshape(tf.argmax(y_true, axis=1), shape=(-1, 1)), "int32") == tf.cast(y_pred, "int32")
        values = tf.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = tf.cast(sample_weight, "float32")
            values = tf.multiply(values, sample_weight)
        self.true_positives.assign_add(tf.reduce_sum(values))

    def result(self):
        return self.true_positives

    def reset_states(self):
        self.true_positives.assign(0.0)


rng = np.random.RandomState(2)
x_train = rng.rand(40, 12).astype("float32")
y_train = rng.randint(0, 4, 40)
y_train_one_hot = tf.one_hot(tf.cast(y_train, dtype=tf.int32), depth=4).numpy()
model = get_uncompiled_model()
model.compile(keras.optimizers.Adam(), CustomMSE(0.4), [CategoricalTruePositives()])
model.fit(x_train, y_train_one_hot, batch_size=8, epochs=1, verbose=0)
evaluated = model.evaluate(x_train, y_train_one_hot, batch_size=40, verbose=0, return_dict=True)
predicted = model.predict(x_train, verbose=0)
print("RESULT " + json.dumps({"loss": float(evaluated["loss"]),
                              "ctp": float(evaluated["categorical_true_positives"]),
                              "predicted": predicted.tolist(), "labels": y_train.tolist()}))
