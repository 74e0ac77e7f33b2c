# keras.io's "customizing what happens in fit": the canonical train_step and test_step bodies.
import json

import numpy as np
import tensorflow as tf
from tensorflow import keras


class CustomModel(keras.Model):
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
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


rng = np.random.RandomState(8)
x = rng.rand(60, 4).astype("float32")
y = (x.sum(axis=1, keepdims=True) + rng.rand(60, 1)).astype("float32")
inputs = keras.Input(shape=(4,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
history = model.fit(x, y, batch_size=20, epochs=2, verbose=0)
evaluated = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
predicted = model.predict(x, verbose=0)
print("RESULT " + json.dumps({"loss": float(evaluated["loss"]), "mae": float(evaluated["mae"]),
                              "history_loss": [float(v) for v in history.history["loss"]],
                              "predicted": predicted.tolist(), "y": y.tolist()}))
