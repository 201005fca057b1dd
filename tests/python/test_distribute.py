"""strategy="mirrored" trains with tf.distribute.MirroredStrategy over two logical CPU devices. They
must be configured before TensorFlow initialises, so the training runs in a subprocess. Two replicas
each computing half of every batch must give the same training as one device computing all of it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = r"""
import json
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import cnnkit, keras, numpy as np
from cnnkit.distribute import distribution_strategy

seen = {}


class Spy(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        s = self.model.distribute_strategy
        seen["strategy"] = type(s).__name__
        seen["replicas"] = s.num_replicas_in_sync
        seen["devices"] = list(s.extended.worker_devices)


d = cnnkit.load_fashion_mnist(n=2048, n_test=512)
keras.utils.set_random_seed(0)
model = cnnkit.mlp_classifier((28, 28, 1), units=64, num_classes=10)
start = [w.copy() for w in model.get_weights()]
h = cnnkit.fit_classifier(model, (d["x_train"], d["y_train"]), epochs=3, batch_size=64, strategy="mirrored", learning_rate=3e-3,
                          callbacks=[Spy()], verbose=0)
changed = any(not np.array_equal(a, b) for a, b in zip(start, model.get_weights()))
ev = cnnkit.evaluate_classifier(model, (d["x_test"], d["y_test"]))
single = cnnkit.mlp_classifier((28, 28, 1), units=64, num_classes=10)
single.set_weights(start)
keras.utils.set_random_seed(0)
h1 = cnnkit.fit_classifier(single, (d["x_train"], d["y_train"]), epochs=3, batch_size=64, verbose=0, learning_rate=3e-3,
                           steps_per_execution=1)
print("RESULT", json.dumps({**seen, "epochs": h["epoch"], "loss": h["loss"], "changed": changed,
                            "logical_cpus": len(tf.config.list_logical_devices("CPU")),
                            "plain_replicas": distribution_strategy("mirrored").num_replicas_in_sync,
                            "accuracy": ev["accuracy"], "single_loss": h1["loss"],
                            "single_accuracy": cnnkit.evaluate_classifier(single, (d["x_test"], d["y_test"]))["accuracy"]}))
"""


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, proc.stdout + proc.stderr
    r = json.loads(line[0][len("RESULT "):])
    assert r["logical_cpus"] == 2
    assert r["strategy"] == "MirroredStrategy"
    assert r["replicas"] == 2 == r["plain_replicas"]
    assert len(r["devices"]) == 2 and all("CPU" in d for d in r["devices"])
    assert r["epochs"] == [1, 2, 3] and all(v == v for v in r["loss"])  # trained, no NaN
    assert r["changed"]  # the weights trained under the strategy are copied back into the model
    assert r["accuracy"] > 0.6  # learnt (10 classes: chance is 0.1), and evaluated with the copied-back weights
    # the same training as on one device: the gradient of each global batch is averaged over the replicas
    assert r["loss"] == pytest.approx(r["single_loss"], rel=2e-3)
    assert abs(r["accuracy"] - r["single_accuracy"]) < 0.02
