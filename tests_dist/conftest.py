"""Two-worker ``MultiWorkerMirroredStrategy`` runs on 127.0.0.1, each bounded by a timeout.

Workers are separate processes (``dist_worker.py``) with their own ``TF_CONFIG``;
the test process never builds a strategy itself.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "dist_worker.py")
RUN_TIMEOUT = 150  # seconds for one run of the workers, well above a normal run


def free_ports(count):
    """``count`` distinct free TCP ports on 127.0.0.1 (held open until all are picked)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _env(tf_config=None, flavour="keras3"):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("TF_CONFIG", None)
    env.pop("TF_USE_LEGACY_KERAS", None)
    if flavour == "tf_keras":
        env["TF_USE_LEGACY_KERAS"] = "1"
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


class Run:
    """Processes started by one test; ``wait`` bounds them all by ``RUN_TIMEOUT``."""

    def __init__(self, tmp_path, flavour="keras3"):
        self.tmp_path = tmp_path
        self.flavour = flavour
        self.procs = []

    def start(self, name, args, tf_config=None):
        out = str(self.tmp_path / (name + ".json"))
        log = open(str(self.tmp_path / (name + ".log")), "w")
        proc = subprocess.Popen([sys.executable, WORKER, "--out", out] + list(args), env=_env(tf_config, self.flavour),
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        proc.name, proc.out, proc.log_path = name, out, log.name
        log.close()
        self.procs.append(proc)
        return proc

    def start_workers(self, count=2, args_for=lambda index: []):
        ports = free_ports(count)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        return [self.start(f"worker{index}", args_for(index),
                           {"cluster": cluster, "task": {"type": "worker", "index": index}})
                for index in range(count)]

    def wait(self, proc, deadline):
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill_all()
            pytest.fail(f"{proc.name} still running after {RUN_TIMEOUT} s (hang); log:\n{self.log(proc)[-3000:]}")
        return proc.returncode

    def log(self, proc):
        with open(proc.log_path) as handle:
            return handle.read()

    def result(self, proc):
        assert proc.returncode == 0, f"{proc.name} failed ({proc.returncode}):\n{self.log(proc)[-5000:]}"
        with open(proc.out) as handle:
            return json.load(handle)

    def kill_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def run(tmp_path):
    runner = Run(tmp_path)
    yield runner
    runner.kill_all()
