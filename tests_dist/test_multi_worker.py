"""MultiWorkerMirroredStrategy with two workers on 127.0.0.1 vs a single-process run.

Tracked loss components, streaming metrics and the gradient norm must read
the same under two workers as in one process on the same data (global batch
16, split 8 + 8), in ``fit`` and in a ``strategy.run`` loop; ``evaluate`` must
match NumPy and scikit-learn on the final weights; a worker that dies
mid-epoch must make the other fail with a clear error, within a bound,
instead of hanging.

Keras 3's ``fit`` does not run under MultiWorkerMirroredStrategy (it fails
converting ``PerReplica`` inputs: keras-team/keras#20585, tensorflow#72388),
so ``fit`` is tested with tf_keras (``TF_USE_LEGACY_KERAS=1``) and the
``strategy.run`` loop with both.
"""

import importlib.util
import os
import time

import conftest
import dist_worker
import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score

RTOL, ATOL = 1e-4, 1e-5
HAS_TF_KERAS = importlib.util.find_spec("tf_keras") is not None
CASES = [
    pytest.param(("keras3", "custom"), id="keras3-custom"),
    pytest.param(("tf_keras", "custom"), id="tf_keras-custom",
                 marks=pytest.mark.skipif(not HAS_TF_KERAS, reason="tf_keras not installed")),
    pytest.param(("tf_keras", "fit"), id="tf_keras-fit",
                 marks=pytest.mark.skipif(not HAS_TF_KERAS, reason="tf_keras not installed")),
]


def _start_and_collect(tmp_path, flavour, scenario):
    runner = conftest.Run(tmp_path, flavour)
    try:
        reference = runner.start("single", ["--scenario", scenario])
        workers = runner.start_workers(2, lambda index: ["--scenario", scenario, "--timeout", "60"])
        deadline = time.monotonic() + conftest.RUN_TIMEOUT
        for proc in [reference] + workers:
            runner.wait(proc, deadline)
        return runner.result(reference), [runner.result(proc) for proc in workers]
    finally:
        runner.kill_all()


@pytest.fixture(scope="module", params=CASES)
def runs(request, tmp_path_factory):
    flavour, scenario = request.param
    single, workers = _start_and_collect(tmp_path_factory.mktemp(f"{flavour}_{scenario}"),
                                         flavour, scenario)
    return scenario, single, workers


def numpy_reference(weights):
    """Components and scores of ``weights`` on the whole data set, in NumPy and scikit-learn."""
    x, y = dist_worker.data()
    w1, b1, w2, b2 = [np.asarray(w, dtype="float64") for w in weights]
    logits = np.tanh(x @ w1 + b1) @ w2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    pred = logits.argmax(axis=1)
    return {"ce": -log_probs[np.arange(len(y)), y].mean(), "reg": 0.01 * np.mean(np.square(logits)),
            "f1": f1_score(y, pred, average="macro", zero_division=0),
            "precision": precision_score(y, pred, average="macro", zero_division=0)}


def per_epoch(result, key):
    if "history" in result:
        return result["history"][key]
    return [epoch[key] for epoch in result["epochs"]]


def test_two_workers_two_replicas(runs):
    _, single, workers = runs
    assert single["replicas"] == 1
    assert [w["replicas"] for w in workers] == [2, 2]
    assert {w["stack"]["keras_flavour"] for w in workers} == {single["stack"]["keras_flavour"]}


@pytest.mark.parametrize("key", ["ce", "reg"])
def test_tracked_components_match_single_process(runs, key):
    _, single, workers = runs
    assert all(value > 0 for value in per_epoch(single, key))
    for worker in workers:
        np.testing.assert_allclose(per_epoch(worker, key), per_epoch(single, key), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("key", ["f1", "precision"])
def test_streaming_metrics_match_single_process(runs, key):
    scenario, single, workers = runs
    if key == "precision" and scenario == "custom":
        pytest.skip("the custom loop has F1 only")
    for worker in workers:
        np.testing.assert_allclose(per_epoch(worker, key), per_epoch(single, key), rtol=RTOL, atol=ATOL)


def test_gradient_norm_and_step_losses_match_single_process(runs):
    scenario, single, workers = runs
    if scenario == "fit":
        pytest.skip("the gradient norm is recorded in the custom loop")
    assert all(norm > 0 for norm in per_epoch(single, "grad_norm"))
    for worker in workers:
        np.testing.assert_allclose(per_epoch(worker, "grad_norm"), per_epoch(single, "grad_norm"),
                                   rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(per_epoch(worker, "loss"), per_epoch(single, "loss"), rtol=RTOL, atol=ATOL)


def test_weights_match_single_process(runs):
    _, single, workers = runs
    for worker in workers:
        for got, want in zip(worker["weights"], single["weights"]):
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_fit_evaluate_matches_numpy(runs):
    scenario, single, workers = runs
    if scenario != "fit":
        pytest.skip("evaluate is part of the fit scenario")
    for result in [single] + workers:
        reference = numpy_reference(result["weights"])
        for key, value in reference.items():
            np.testing.assert_allclose(result["evaluate"][key], value, rtol=1e-4, atol=1e-5, err_msg=key)


def test_fit_components_add_up_to_the_loss(runs):
    scenario, single, workers = runs
    if scenario != "fit":
        pytest.skip("Keras reports the loss in fit")
    for result in [single] + workers:
        history = result["history"]
        np.testing.assert_allclose(np.add(history["ce"], history["reg"]), history["loss"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("failure", ["exit", "freeze"])
def test_worker_failing_mid_epoch_fails_the_other_with_a_clear_error(tmp_path, failure):
    """``exit``: the process dies (its sockets close); ``freeze``: it stops answering (SIGSTOP)."""
    timeout = 15
    run = conftest.Run(tmp_path)
    failing_args = ["--die-at", "2"] + (["--freeze"] if failure == "freeze" else [])
    try:
        survivor, failing = run.start_workers(2, lambda index: ["--scenario", "custom", "--timeout", str(timeout)] +
                                              (failing_args if index == 1 else []))
        deadline = time.monotonic() + conftest.RUN_TIMEOUT
        if failure == "exit":
            assert run.wait(failing, deadline) == 17, run.log(failing)[-3000:]
        else:
            while "freezing at batch" not in run.log(failing):
                assert failing.poll() is None and time.monotonic() < deadline, run.log(failing)[-3000:]
                time.sleep(0.2)
        failed = time.monotonic()
        code = run.wait(survivor, deadline)
        waited = time.monotonic() - failed
    finally:
        run.kill_all()
    log = run.log(survivor)
    assert code != 0, log[-3000:]
    assert not os.path.exists(survivor.out)
    assert waited < 4 * timeout, f"the surviving worker took {waited:.0f} s to fail"
    # A dead peer resets the connection; a silent one is reported by the coordination service's
    # heartbeat check ("tasks are unhealthy") or by the collective timeout, whichever comes first.
    if failure == "exit":
        # gRPC words the dead peer either way, depending on which side notices first
        assert "UnavailableError" in log and ("Connection reset" in log or "Socket closed" in log), log[-3000:]
    else:
        assert "DeadlineExceededError" in log or ("UnavailableError" in log and "unhealthy" in log), log[-3000:]
    assert "task:1" in log or "task 1" in log, log[-3000:]
