"""Weight averaging (cnnkit.ema): fit_classifier(ema=) ends with Keras' exponential moving average of
the weights, through every entry point (compile_classifier, fit_classifier, fine_tune,
train_classifier, the CLI), resumed runs included; wrong settings fail with the argument named."""

import json

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.ema import check_ema, momentum_for

# These tests train for a few steps with a high momentum on purpose; the warning it gives is tested below.
pytestmark = pytest.mark.filterwarnings("ignore:.*the weight average still keeps")


@pytest.fixture(scope="module")
def data():
    d = cnnkit.load_fashion_mnist(n=256, n_test=10)
    return d["x_train"], d["y_train"]


def small():
    return cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)


def test_the_model_ends_with_the_average_not_the_last_step(data):
    keras.utils.set_random_seed(1)
    m = small()
    cnnkit.fit_classifier(m, data, epochs=2, batch_size=32, verbose=0, ema=0.9, recalibrate_bn=False)
    opt = m.optimizer
    assert opt.use_ema and opt.ema_momentum == pytest.approx(0.9)
    average = [np.asarray(a) for a in opt._model_variables_moving_average]
    for var, avg in zip(m.trainable_variables, average):
        np.testing.assert_array_equal(np.asarray(var), avg, err_msg=var.path)

    # The same run without averaging ends elsewhere: the average is not the last step.
    keras.utils.set_random_seed(1)
    plain = small()
    cnnkit.fit_classifier(plain, data, epochs=2, batch_size=32, verbose=0, recalibrate_bn=False)
    assert not plain.optimizer.use_ema
    diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(m.trainable_variables, plain.trainable_variables))
    assert diff > 1e-4


def test_values_the_argument_takes():
    assert check_ema(0) == 0.0 and check_ema(None) == 0.0 and check_ema(False) == 0.0
    assert check_ema(True) == 0.99 and check_ema(0.999) == 0.999 and check_ema(np.float64(0.5)) == 0.5
    assert check_ema([0.99]) == 0.99  # an R vector of length one
    assert check_ema("auto") == "auto"


def test_auto_picks_the_momentum_from_the_steps():
    assert momentum_for("auto", 1876) == 0.99  # the main job: 4 epochs of 469 steps
    assert momentum_for("auto", 1000) == 0.99
    assert momentum_for("auto", 100) == pytest.approx(0.9)  # the start then weighs 0.9**100 ~ e**-10
    assert momentum_for("auto", 20) == pytest.approx(0.5)
    assert momentum_for("auto", 19) == 0.0 and momentum_for("auto", None) == 0.0  # too short; unknown length
    assert 0.9 ** 100 < 1e-4


def test_auto_trains_a_short_run_without_an_average_and_a_long_one_with(data):
    m = small()
    cnnkit.fit_classifier(m, data, epochs=1, batch_size=32, verbose=0, ema="auto")  # 8 steps: none
    assert not m.optimizer.use_ema
    m = small()
    cnnkit.fit_classifier(m, data, epochs=5, batch_size=8, verbose=0, ema="auto")  # 160 steps
    assert m.optimizer.use_ema and m.optimizer.ema_momentum == pytest.approx(1 - 10 / 160)


def test_a_momentum_that_keeps_the_start_warns_with_the_fix(data):
    with pytest.warns(UserWarning, match=r"fit_classifier\(\): `ema`=0.99 over 8 training steps: the weight "
                                         r"average still keeps 92 % of the weights the run started from.*ema='auto'"):
        cnnkit.fit_classifier(small(), data, epochs=1, batch_size=32, verbose=0, ema=0.99)


def test_compile_classifier_needs_a_number_not_auto():
    with pytest.raises(ValueError, match=r"compile_classifier\(\): `ema`='auto' picks the momentum from the run's "
                                         r"steps"):
        cnnkit.compile_classifier(small(), ema="auto")


@pytest.mark.parametrize("bad", [0.1, 1, 1.5, -0.9, float("nan"), float("inf")])
def test_a_momentum_out_of_range_is_refused_naming_ema(data, bad):
    with pytest.raises(ValueError, match=r"fit_classifier\(\): `ema` must be a momentum in \[0.5, 1\)"):
        cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, ema=bad)


def test_a_string_is_refused_naming_ema(data):
    with pytest.raises(TypeError, match=r"fit_classifier\(\): `ema` must be a momentum .*got 'fast'"):
        cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, ema="fast")


def test_ema_with_early_stopping_is_refused(data):
    with pytest.raises(ValueError, match=r"`ema`=0.99 and `early_stopping`=2 cannot be used together"):
        cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, ema=0.99, early_stopping=2)


def test_a_compiled_model_keeps_its_optimizer_and_says_how(data):
    m = cnnkit.compile_classifier(small())
    with pytest.raises(ValueError, match=r"`ema`=0.99 is used when cnnkit compiles.*"
                                         r"compile_classifier\(model, ema=0.99\)"):
        cnnkit.fit_classifier(m, data, epochs=1, verbose=0, ema=0.99)
    m = cnnkit.compile_classifier(small(), ema=True)
    assert m.optimizer.use_ema and m.optimizer.ema_momentum == 0.99
    cnnkit.fit_classifier(m, data, epochs=1, verbose=0, ema=0.99)  # the same average: fine
    cnnkit.fit_classifier(m, data, epochs=1, verbose=0)  # and without ema=: the compiled one trains


def test_an_optimizer_object_must_average_already(data):
    with pytest.raises(ValueError, match=r"`optimizer` is Adam\(use_ema=False.*keras.optimizers.Adam\(use_ema=True, "
                                         r"ema_momentum=0.99\)"):
        cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, ema=0.99, optimizer=keras.optimizers.Adam())
    m = small()
    cnnkit.fit_classifier(m, data, epochs=1, verbose=0, ema=0.95,
                          optimizer=keras.optimizers.Adam(use_ema=True, ema_momentum=0.95))
    assert m.optimizer.ema_momentum == 0.95


def test_a_run_directory_records_ema_and_a_resume_must_share_it(data, tmp_path):
    run = tmp_path / "run"
    cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, ema=0.9, run_dir=run)
    assert json.loads((run / "run.json").read_text())["fit"]["settings"]["ema"] == 0.9
    with pytest.raises(ValueError, match="ema"):
        cnnkit.fit_classifier(small(), data, epochs=1, verbose=0, ema=0.95, run_dir=run)


def test_a_killed_run_resumes_with_its_average(data, tmp_path):
    """Two epochs in one go, or one epoch, a kill, and the resumed second: the same weights (the
    averages are part of the optimizer's state in the backup)."""

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise KeyboardInterrupt

    kw = dict(epochs=2, batch_size=64, verbose=0, ema=0.9, recalibrate_bn=False, steps_per_execution=1)
    keras.utils.set_random_seed(3)
    straight = small()
    cnnkit.fit_classifier(straight, data, run_dir=tmp_path / "a", **kw)

    keras.utils.set_random_seed(3)
    first = small()
    with pytest.raises(KeyboardInterrupt):
        cnnkit.fit_classifier(first, data, run_dir=tmp_path / "b", callbacks=[Kill()], **kw)
    keras.utils.set_random_seed(3)
    resumed = small()
    h = cnnkit.fit_classifier(resumed, data, run_dir=tmp_path / "b", **kw)
    assert h["epoch"] == [1, 2]
    for a, b in zip(straight.trainable_variables, resumed.trainable_variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, err_msg=a.path)


def test_fine_tune_averages_in_both_phases():
    x = np.random.default_rng(0).uniform(size=(8, 32, 32, 1)).astype("float32")
    y = np.arange(8) % 2
    m = cnnkit.domain_adapted_model("efficientnet_lite0", (32, 32, 1), num_classes=2)
    h = cnnkit.fine_tune(m, (x, y), head_epochs=1, epochs=1, batch_size=8, verbose=0, ema=0.9)
    assert h["phase"] == ["head", "fine_tune"]
    assert m.optimizer.use_ema and m.optimizer.ema_momentum == pytest.approx(0.9)  # the second phase's compile


def test_the_main_job_and_the_cli_take_ema(tmp_path):
    r = cnnkit.train_classifier(epochs=1, subset=200, run_dir=tmp_path / "job", verbose=0, ema=0.9)
    settings = json.loads((tmp_path / "job" / "run.json").read_text())["job"]["settings"]
    assert settings["ema"] == 0.9 and 0 <= r["accuracy"] <= 1

    from cnnkit.cli import build_parser

    args = build_parser().parse_args(["train", "--ema", "0.99"])
    assert args.ema == 0.99
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--ema", "0.2"])
