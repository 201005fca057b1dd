"""TensorFlow's retracing warning stays out of a session that trains several models in a loop
(cnnkit._quiet.RetracingNoise); TensorFlow's other warnings still come through."""

import logging
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOOP = """
import logging, numpy as np, cnnkit
x = np.random.default_rng(0).random((16, 28, 28, 1)).astype("float32"); y = np.arange(16) % 2
for i in range(8):
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=2)
    cnnkit.fit_classifier(m, (x, y), epochs=1, batch_size=8, verbose=0)
    cnnkit.predict_classes(m, x[:4], verbose=0)
logging.getLogger("tensorflow").warning("another TensorFlow warning")
"""


def test_a_loop_of_models_prints_no_retracing_warning_but_other_warnings_pass():
    p = subprocess.run([sys.executable, "-c", LOOP], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "retracing" not in p.stderr + p.stdout, p.stderr[-3000:]
    assert "another TensorFlow warning" in p.stderr


def test_the_filter_drops_only_the_retracing_message():
    from cnnkit._quiet import RetracingNoise

    noise = logging.LogRecord("tensorflow", logging.WARNING, "", 0, "5 out of the last 8 calls to <function f> "
                              "triggered tf.function retracing. Tracing is expensive", None, None)
    other = logging.LogRecord("tensorflow", logging.WARNING, "", 0, "something else", None, None)
    assert not RetracingNoise().filter(noise) and RetracingNoise().filter(other)
