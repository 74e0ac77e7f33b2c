# TF1 API names that TensorFlow's own rename tables cover (tf.scatter_sub, tf.unsorted_segment_mean, ...).
import json

import numpy as np
import tensorflow as tf

data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 9.0], [0.5, 0.25]], dtype=np.float32)
ids = np.array([0, 0, 2, 2, 2])
means = tf.unsorted_segment_mean(data, ids, 3)
v = tf.get_variable("v", initializer=tf.constant([10.0, 10.0, 10.0, 10.0]))
updated = tf.scatter_sub(v, [1, 3], [1.5, 2.5])
logged = tf.log(tf.constant([1.0, 2.0, 4.0]))
config = tf.ConfigProto()
sess = tf.Session(config=config)
sess.run(tf.global_variables_initializer())
out_means, out_updated, out_logged = sess.run([means, updated, logged])
print("RESULT " + json.dumps({"means": np.asarray(out_means).tolist(), "updated": np.asarray(out_updated).tolist(),
                              "logged": np.asarray(out_logged).tolist(), "data": data.tolist(),
                              "ids": ids.tolist()}))
