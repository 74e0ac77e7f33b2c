"""One process of a tf.distribute run; started by the tests with or without ``TF_CONFIG``.

With ``TF_CONFIG`` it trains under ``tf.distribute.MultiWorkerMirroredStrategy``
(collectives time out after ``--timeout`` seconds, so a dead peer gives an
error rather than a hang); without, it is the single-process reference run on
the same data. It writes what it saw to ``--out`` as JSON: for ``--scenario fit``
the History (tracked components, streaming metrics), ``evaluate`` logs and the
final weights; for ``--scenario custom`` (a ``strategy.run`` loop) the
per-epoch metric results, including the gradient norm recorded with
``ComponentTracker.track``, and the final weights.
"""

import argparse
import json
import os
import signal
import sys

import numpy as np
import tensorflow as tf

import compat_metrics

keras = compat_metrics.keras
N, FEATURES, CLASSES, GLOBAL_BATCH, EPOCHS = 64, 6, 3, 16, 2


def data():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    y = (x[:, :CLASSES] + 0.5 * rng.normal(size=(N, CLASSES))).argmax(axis=1).astype("int64")
    return x, y


def initial_weights():
    rng = np.random.RandomState(1)
    return [rng.normal(scale=0.5, size=(FEATURES, 8)).astype("float32"), np.zeros(8, "float32"),
            rng.normal(scale=0.5, size=(8, CLASSES)).astype("float32"), np.zeros(CLASSES, "float32")]


def build_model():
    inputs = keras.Input((FEATURES,))
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(CLASSES)(hidden))
    model.set_weights(initial_weights())
    return model


class DistLoss(compat_metrics.ComponentLoss):
    """Softmax cross-entropy plus an L2 term on the logits, both tracked."""

    components = ("ce", "reg")

    def call(self, y_true, y_pred):
        labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=y_pred))
        reg = 0.01 * tf.reduce_mean(tf.square(y_pred))
        return self.track("ce", ce) + self.track("reg", reg)


def dataset(x, y):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


class DieAt(keras.callbacks.Callback):
    """At ``batch`` of the first epoch, exit (no clean-up) or, with ``freeze``, stop the process.

    A stopped process keeps its sockets open, as a machine that stops
    answering does: its peers see no error, only silence, until a timeout.
    """

    def __init__(self, batch, freeze=False):
        super().__init__()
        self.batch = batch
        self.freeze = freeze

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.batch:
            sys.stderr.write("dist_worker: {} at batch {}\n".format("freezing" if self.freeze else "dying", batch))
            sys.stderr.flush()
            if self.freeze:
                os.kill(os.getpid(), signal.SIGSTOP)
            os._exit(17)


def fit_and_evaluate(strategy, x, y, die_at):
    with strategy.scope():
        model = build_model()
        loss = DistLoss(name="dist_loss")
        cm = compat_metrics.ConfusionMatrix(CLASSES, name="cm")
        metrics = loss.metrics() + [
            compat_metrics.F1Score(CLASSES, average="macro", name="f1", confusion_matrix=cm),
            compat_metrics.Precision(CLASSES, average="macro", name="precision", confusion_matrix=cm)]
        compat_metrics.compile(model, optimizer=keras.optimizers.SGD(0.1), loss=loss, metrics=metrics)
    callbacks = [DieAt(die_at)] if die_at is not None else []
    history = model.fit(dataset(x, y), epochs=EPOCHS, verbose=0, callbacks=callbacks)
    evaluation = model.evaluate(dataset(x, y), verbose=0, return_dict=True)
    return ({k: [float(v) for v in values] for k, values in history.history.items()},
            {k: float(v) for k, v in evaluation.items()},
            [w.tolist() for w in model.get_weights()])


def custom_loop(strategy, x, y, die_at=None, freeze=False):
    """A custom loop: components, streaming metrics and the gradient norm, per epoch.

    The gradient norm is that of the all-reduced gradients, recorded with
    ``ComponentTracker.track``; loss components come from ``ComponentLoss``
    and are read by its metrics, updated in each replica.
    """
    with strategy.scope():
        model = build_model()
        optimizer = keras.optimizers.SGD(0.1)
        tracker = compat_metrics.ComponentTracker(("grad_norm",), name="custom_loop")
        loss = DistLoss(name="custom_loss")
        metrics = loss.metrics() + tracker.metrics() + [
            compat_metrics.F1Score(CLASSES, average="macro", name="f1")]

    @tf.function
    def step(batch_x, batch_y):
        def replica_step(bx, by):
            replicas = tf.distribute.get_replica_context().num_replicas_in_sync
            with tf.GradientTape() as tape:
                logits = model(bx, training=True)
                scaled = loss.call(by, logits) / replicas  # equal local batches
            grads = tape.gradient(scaled, model.trainable_variables)
            summed = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
            tracker.track("grad_norm", tf.linalg.global_norm(summed))
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            for metric in metrics:
                metric.update_state(by, logits)
            return scaled
        per_replica = strategy.run(replica_step, args=(batch_x, batch_y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    epochs = []
    for _ in range(EPOCHS):
        for metric in metrics:
            metric.reset_state()
        losses = []
        for index, (bx, by) in enumerate(strategy.experimental_distribute_dataset(dataset(x, y))):
            if index == die_at:
                DieAt(die_at, freeze).on_train_batch_begin(index)
            losses.append(float(step(bx, by)))
        logs = {metric.name: float(metric.result()) for metric in metrics}
        logs["loss"] = losses
        epochs.append(logs)
    return epochs, [w.tolist() for w in model.get_weights()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--scenario", choices=("fit", "custom"), required=True)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds a collective waits for its peers before failing")
    parser.add_argument("--die-at", type=int, default=None, help="kill this worker at this batch of the first epoch")
    parser.add_argument("--freeze", action="store_true", help="with --die-at: stop the process instead")
    args = parser.parse_args()
    if os.environ.get("TF_CONFIG"):
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=args.timeout)
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    else:
        strategy = tf.distribute.get_strategy()
    x, y = data()
    result = {"replicas": strategy.num_replicas_in_sync, "stack": compat_metrics.runtime.describe()}
    if args.scenario == "fit":
        result["history"], result["evaluate"], result["weights"] = fit_and_evaluate(strategy, x, y, args.die_at)
    else:
        result["epochs"], result["weights"] = custom_loop(strategy, x, y, args.die_at, args.freeze)
    with open(args.out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
