"""``compat_metrics.Session`` / ``set_session`` in TF1 graph mode: a real session Keras uses."""

import numpy as np
import tensorflow as tf

import compat_metrics


def test_session_is_real_and_becomes_the_keras_session():
    config = tf.compat.v1.ConfigProto()
    config.gpu_options.allow_growth = True
    sess = compat_metrics.Session(config=config)
    assert isinstance(sess, tf.compat.v1.Session)
    compat_metrics.set_session(sess)
    assert tf.compat.v1.keras.backend.get_session() is sess
    variable = tf.compat.v1.get_variable("v", (2,), tf.float32, tf.ones_initializer)
    sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
    np.testing.assert_allclose(sess.run(variable * 3.0), [3.0, 3.0])
