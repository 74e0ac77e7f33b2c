# A loss factory closing over the model's keras.Input (the common real form of an input-dependent loss).
import json

import numpy as np
import tensorflow as tf
from tensorflow import keras


def scaled_mse(input_layer):
    # the prediction is scaled by the first input feature before the squared error
    def loss(y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - y_pred * input_layer[:, :1]), axis=-1)
    return loss


rng = np.random.RandomState(7)
x = rng.rand(40, 3).astype("float32")
y = rng.rand(40, 1).astype("float32")
inputs = keras.Input(shape=(3,))
outputs = keras.layers.Dense(1)(inputs)
model = keras.Model(inputs, outputs)
model.compile(optimizer="sgd", loss=scaled_mse(inputs))
model.fit(x, y, batch_size=10, epochs=1, verbose=0)
evaluated = model.evaluate(x, y, batch_size=10, verbose=0)
predicted = model.predict(x, batch_size=10, verbose=0)
print("RESULT " + json.dumps({"loss": float(np.ravel(evaluated)[0]), "predicted": predicted.tolist(),
                              "x": x.tolist(), "y": y.tolist()}))
