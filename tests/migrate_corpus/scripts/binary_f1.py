# tensorflow_addons' binary F1 (one sigmoid output, num_classes=1 with a threshold), tiny generated data.
import json

import numpy as np
import tensorflow as tf
import tensorflow_addons as tfa

rng = np.random.RandomState(5)
x = rng.rand(80, 4).astype("float32")
y = (x[:, 0] + 0.4 * rng.rand(80) > 0.7).astype("float32")[:, None]
model = tf.keras.Sequential([tf.keras.Input(shape=(4,)), tf.keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy",
              metrics=[tfa.metrics.F1Score(num_classes=1, threshold=0.5, average="micro", name="f1")])
model.fit(x, y, batch_size=20, epochs=1, verbose=0)
evaluated = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
predicted = model.predict(x, verbose=0)
print("RESULT " + json.dumps({"f1": float(np.ravel(evaluated["f1"])[0]), "predicted": predicted.ravel().tolist(),
                              "labels": y.ravel().tolist()}))
