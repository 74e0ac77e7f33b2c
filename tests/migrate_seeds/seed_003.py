# Seed 003: a loss constructed with the model's symbolic inputs and experimental_run_tf_function=False.
import json

import numpy as np
import tensorflow as tf
from tensorflow import keras


# custom loss function with extra arguments
class LocLoss(keras.losses.Loss):
    def __init__(self, kg_raw, model_size, nobs, batch_size, name="custom_loss"):
        super().__init__(name=name)
        # these are some extra arguments:
        self.kg_raw = kg_raw
        self.model_size = model_size
        self.nobs = nobs
        self.batch_size =  batch_size

    def call(self, kg_true, loc_f):
        k = tf.constant([1, 1, self.nobs, 1], tf.int32)
        kg_pred = tf.math.multiply(self.kg_raw, tf.tile(tf.reshape(loc_f, [self.batch_size,self.model_size,1,1]), k))
        mse = tf.math.reduce_mean(tf.square(kg_true - kg_pred))
        return mse


model_size, nobs, batch_size = 4, 3, 8
rng = np.random.RandomState(3)
kg_raw = rng.rand(32, model_size, nobs, 1).astype("float32")
kg_true = rng.rand(32, model_size, nobs, 1).astype("float32")

inputs = keras.Input(shape=(model_size, nobs, 1))
outputs = keras.layers.Dense(model_size)(keras.layers.Flatten()(inputs))
model = keras.Model(inputs=inputs, outputs=outputs)

# compile the model
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.0001),
    loss=LocLoss(inputs,model_size,nobs,batch_size), # model inputs as extra args
    experimental_run_tf_function=False, # neccecarry !
)

history = model.fit(kg_raw, kg_true, batch_size=batch_size, epochs=1, verbose=0)
evaluated = model.evaluate(kg_raw, kg_true, batch_size=batch_size, verbose=0)
loc_f = model.predict(kg_raw, batch_size=batch_size, verbose=0)
print("RESULT " + json.dumps({"loss": float(evaluated), "loc_f": loc_f.tolist(),
                              "kg_raw": kg_raw.tolist(), "kg_true": kg_true.tolist()}))
