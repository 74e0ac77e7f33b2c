# Keras metrics reset with reset_states(): in a custom loop (a tracker per epoch) and in a train_step.
import json

import numpy as np
import tensorflow as tf
from tensorflow import keras

rng = np.random.RandomState(6)
x = rng.rand(60, 5).astype("float32")
labels = rng.randint(0, 3, 60)
model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(3)])
optimizer = keras.optimizers.SGD(0.1)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
loss_tracker = keras.metrics.Mean(name="loss")
accuracy = keras.metrics.SparseCategoricalAccuracy()
for epoch in range(2):
    for start in range(0, 60, 20):
        xb, yb = x[start:start + 20], labels[start:start + 20]
        with tf.GradientTape() as tape:
            logits = model(xb, training=True)
            loss = loss_fn(yb, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        loss_tracker.update_state(loss)
        accuracy.update_state(yb, logits)
    loss_tracker.reset_states()
    accuracy.reset_states()
accuracy.update_state(labels, model(x))  # only this update counts after the reset
logits = model(x).numpy()


class PrecisionModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, activation="sigmoid")
        self.precision = keras.metrics.Precision(name="precision")

    def call(self, inputs):
        return self.dense(inputs)

    def train_step(self, data):
        x, y = data
        self.precision.reset_states()  # precision of each batch
        with tf.GradientTape() as tape:
            p = self(x, training=True)
            loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, p))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.precision.update_state(y, p)
        return {"loss": loss, "precision": self.precision.result()}


binary = (x[:, 0] > 0.5).astype("float32")[:, None]
second = PrecisionModel()
second.compile(optimizer="adam")
second.fit(x, binary, batch_size=20, epochs=1, verbose=0)
second.precision.reset_states()
second.precision.update_state(binary, second(x))
print("RESULT " + json.dumps({"accuracy": float(accuracy.result()), "logits": logits.tolist(),
                              "labels": labels.tolist(), "precision": float(second.precision.result()),
                              "binary": binary.ravel().tolist(),
                              "probabilities": second(x).numpy().ravel().tolist()}))
