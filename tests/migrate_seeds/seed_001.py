# Seed 001: streaming metrics written against Keras 2 (`reset_states`), tiny generated data.
import json

import numpy as np
import tensorflow as tf
from tensorflow import keras


class BinaryTruePositives(tf.keras.metrics.Metric):

  def __init__(self, name='binary_true_positives', **kwargs):
    super(BinaryTruePositives, self).__init__(name=name, **kwargs)
    self.true_positives = self.add_weight(name='tp', initializer='zeros')

  def update_state(self, y_true, y_pred, sample_weight=None):
    y_true = tf.cast(y_true, tf.bool)
    y_pred = tf.cast(y_pred, tf.bool)

    values = tf.logical_and(tf.equal(y_true, True), tf.equal(y_pred, True))
    values = tf.cast(values, self.dtype)
    if sample_weight is not None:
      sample_weight = tf.cast(sample_weight, self.dtype)
      values = tf.multiply(values, sample_weight)
    self.true_positives.assign_add(tf.reduce_sum(values))

  def result(self):
    return self.true_positives

  def reset_states(self):
    self.true_positives.assign(0)


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super(CategoricalTruePositives, self).__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.reshape(tf.argmax(y_pred, axis=1), shape=(-1, 1))
        values = tf.cast(y_true, "int32") == tf.cast(y_pred, "int32")
        values = tf.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = tf.cast(sample_weight, "float32")
            values = tf.multiply(values, sample_weight)
        self.true_positives.assign_add(tf.reduce_sum(values))

    def result(self):
        return self.true_positives

    def reset_states(self):
        # The state of the metric will be reset at the start of each epoch.
        self.true_positives.assign(0.0)


m = BinaryTruePositives()
m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
intermediate = float(m.result())
m.update_state([1, 1, 1, 1], [0, 1, 1, 0])
final = float(m.result())
m.reset_states()
after_reset = float(m.result())

rng = np.random.RandomState(1)
x_train = rng.rand(64, 8).astype("float32")
y_train = rng.randint(0, 3, (64, 1)).astype("float32")
inputs = keras.Input(shape=(8,))
outputs = keras.layers.Dense(3, activation="softmax")(inputs)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[CategoricalTruePositives()],
)
model.fit(x_train, y_train, batch_size=16, epochs=2, verbose=0)
evaluated = model.evaluate(x_train, y_train, batch_size=16, verbose=0, return_dict=True)
predicted = model.predict(x_train, verbose=0)
print("RESULT " + json.dumps({
    "intermediate": intermediate, "final": final, "after_reset": after_reset,
    "evaluated_ctp": float(evaluated["categorical_true_positives"]),
    "predicted": predicted.tolist(), "labels": y_train[:, 0].tolist()}))
