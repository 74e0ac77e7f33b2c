# tensorflow_addons F1Score (an F1 that Keras 2 lacked), tiny generated data.
import json

import numpy as np
import tensorflow as tf
import tensorflow_addons as tfa

rng = np.random.RandomState(4)
x = rng.rand(60, 5).astype("float32")
labels = rng.randint(0, 3, 60)
y = tf.keras.utils.to_categorical(labels, 3)
model = tf.keras.Sequential([tf.keras.Input(shape=(5,)), tf.keras.layers.Dense(3, activation="softmax")])
model.compile("adam", "categorical_crossentropy",
              metrics=[tfa.metrics.F1Score(3, "macro", name="f1")])
model.fit(x, y, batch_size=20, epochs=1, verbose=0)
evaluated = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
predicted = model.predict(x, verbose=0)
print("RESULT " + json.dumps({"f1": float(evaluated["f1"]), "predicted": predicted.tolist(),
                              "labels": labels.tolist()}))
