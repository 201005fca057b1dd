"""Class imbalance (issue 28.1): ``class_weight`` through the one training engine, balanced accuracy
and per-class ROC AUC / PR AUC in evaluate_classifier(), a binary model's decision threshold, and
plot_roc_curves(); the R side is tests/testthat/test-imbalance.R."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit.evaluate import as_evaluation, average_precision, roc_auc
from cnnkit.rundir import RunFinishedWarning

PNG = b"\x89PNG\r\n\x1a\n"


def dense_model(k: int, shape=(4, 4, 1), seed: int = 1) -> keras.Model:
    """The smallest classifier: Flatten -> Dense (1 sigmoid unit for k = 2, else k softmax units)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape)
    out = keras.layers.Dense(1 if k == 2 else k, activation="sigmoid" if k == 2 else "softmax")(
        keras.layers.Flatten()(inp))
    return keras.Model(inp, out)


def softmax2_model(shape=(4, 4, 1), seed: int = 1) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape)
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inp)))


def arrays(labels, shape=(4, 4, 1), seed: int = 0):
    x = np.random.default_rng(seed).random((len(labels),) + shape).astype("float32")
    return x, np.asarray(labels, dtype="int64")


def fit_weights(model, data, tmp_path: Path, **kw) -> list[float]:
    """Train one epoch in a run directory and return the class weights it recorded (one per class id)."""
    run = tmp_path / "run"
    cnnkit.fit_classifier(model, data, epochs=1, verbose=0, run_dir=run, overwrite=True, **kw)
    return json.loads((run / "run.json").read_text())["fit"]["settings"]["class_weight"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Class folders a (3 images), b (2), c (1) of 4x4 grey images."""
    root = tmp_path_factory.mktemp("imbalanced")
    rng = np.random.default_rng(0)
    for name, n in (("a", 3), ("b", 2), ("c", 1)):
        (root / name).mkdir()
        for i in range(n):
            Image.fromarray((rng.random((4, 4)) * 255).astype("uint8")).save(root / name / f"{i}.png")
    return root


# --- class_weight -------------------------------------------------------------------------------------

def test_balanced_is_n_over_k_count(tmp_path):
    # 6, 3 and 1 images of classes 0, 1, 2: n / (k * count) by hand
    assert fit_weights(dense_model(3), arrays([0] * 6 + [1] * 3 + [2]), tmp_path, class_weight="balanced") == \
        pytest.approx([10 / 18, 10 / 9, 10 / 3])


def test_balanced_counts_only_what_keras_trains_on(tmp_path):
    # validation_split=0.25 of 10: Keras trains on the first floor(10 * 0.75) = 7 -> counts 4, 2, 1
    data = arrays([0, 0, 0, 0, 1, 1, 2, 2, 2, 0])
    assert fit_weights(dense_model(3), data, tmp_path, class_weight="balanced", validation_split=0.25) == \
        pytest.approx([7 / 12, 7 / 6, 7 / 3])


def test_balanced_counts_a_dataset_by_its_labels_or_in_one_pass(tmp_path, folder):
    import tensorflow as tf

    d = cnnkit.image_folder(folder, image_size=(4, 4), color_mode="grayscale", batch_size=2)
    assert fit_weights(dense_model(3), d["train"], tmp_path, class_weight="balanced") == \
        pytest.approx([6 / 9, 6 / 6, 6 / 3])
    x, y = arrays([0, 1, 1, 2, 2, 2, 2])  # a dataset without `labels`: counted in one pass
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(3)
    assert fit_weights(dense_model(3), ds, tmp_path, class_weight="balanced") == \
        pytest.approx([7 / 3, 7 / 6, 7 / 12])


def test_weights_by_class_id_by_class_name_and_as_a_list(tmp_path, folder):
    data = arrays([0, 1, 2, 0, 1, 2])
    assert fit_weights(dense_model(3), data, tmp_path, class_weight={2: 5, 0: 0.5}) == [0.5, 1.0, 5.0]
    assert fit_weights(dense_model(3), data, tmp_path, class_weight=[1, 2, 0.25]) == [1.0, 2.0, 0.25]
    assert fit_weights(dense_model(3), data, tmp_path, class_weight=np.array([3.0, 1.0, 1.0])) == [3.0, 1.0, 1.0]
    d = cnnkit.image_folder(folder, image_size=(4, 4), color_mode="grayscale", batch_size=2)
    assert fit_weights(dense_model(3), d["train"], tmp_path, class_weight={"c": 4, "a": 0}) == [0.0, 1.0, 4.0]
    # the model now carries the folder's class names: arrays can name classes too
    model = dense_model(3)
    cnnkit.fit_classifier(model, d["train"], epochs=1, verbose=0)
    assert fit_weights(model, data, tmp_path, class_weight={"b": 2}) == [1.0, 2.0, 1.0]


def test_class_weight_weighs_the_loss_keras_minimises():
    x, y = arrays([0] * 6 + [1] * 3 + [2] * 3)
    model = dense_model(3)
    p = np.asarray(model.predict(x, verbose=0), dtype="float64")
    loss = -np.log(p[np.arange(len(y)), y])
    w = np.array([1.0, 3.0, 0.5])[y]
    # one batch: the epoch's loss is that batch's, before the update; Keras' mean of weight * loss
    h = cnnkit.fit_classifier(model, (x, y), epochs=1, batch_size=len(y), verbose=0, class_weight={1: 3, 2: 0.5})
    assert h["loss"][0] == pytest.approx(np.mean(w * loss), rel=1e-5)
    assert not np.isclose(np.mean(w * loss), loss.mean(), rtol=1e-3)  # so the weights are what made it differ


def test_balanced_weights_find_more_of_the_rare_class():
    def data(n, rare, seed):  # one grey level per image: 0.45 (class 0) or 0.55 (class 1), noise 0.1
        rng = np.random.default_rng(seed)
        y = (np.arange(n) < rare).astype("int64")
        v = 0.45 + 0.1 * y + rng.normal(0, 0.1, n)
        return np.broadcast_to(v[:, None, None, None], (n, 4, 4, 1)).astype("float32").copy(), y

    train, test = data(400, 40, 1), data(400, 200, 2)  # 1 in 10 of class 1 in training; half in the test
    recall, balanced = {}, {}
    for cw in (None, "balanced"):
        model = dense_model(2, seed=0)
        cnnkit.fit_classifier(model, train, epochs=30, batch_size=40, learning_rate=0.05, schedule="constant",
                              verbose=0, class_weight=cw)
        ev = cnnkit.evaluate_classifier(model, test)
        recall[cw], balanced[cw] = ev["per_class"]["recall"][1], ev["balanced_accuracy"]
    # unweighted, the prior wins (class 1 is almost never predicted); balanced, the middle of the classes
    assert recall[None] < 0.2 and recall["balanced"] > 0.5, recall
    assert balanced["balanced"] > balanced[None] + 0.1, balanced


@pytest.mark.parametrize("value, error, match", [
    ("bal", ValueError, r"`class_weight` must be None, 'balanced' .*got 'bal'"),
    (True, TypeError, r"`class_weight` must be None, 'balanced' .*got True \(bool\)"),
    (2.0, TypeError, r"`class_weight` must be None, 'balanced'"),
    ([1, 2], ValueError, r"`class_weight` has 2 weights but the model has 3 classes"),
    ([[1, 2, 3]], ValueError, r"`class_weight` must be None"),
    ([1, -1, 1], ValueError, r"`class_weight` entry 1 must be a finite number >= 0, got -1"),
    ([1, float("nan"), 1], ValueError, r"`class_weight` entry 1 must be a finite number >= 0"),
    ([1, "2", 1], TypeError, r"`class_weight` entry 1 must be a number >= 0, got '2'"),
    ([0, 0, 0], ValueError, r"`class_weight` is 0 for every class: nothing would be learned"),
    ({0: 0, 1: 0, 2: 0}, ValueError, r"`class_weight` is 0 for every class"),
    ({5: 1}, ValueError, r"`class_weight` has class id 5, but the model's classes are 0 to 2"),
    ({1.5: 1}, TypeError, r"`class_weight` keys must be class ids \(0, 1, \.\.\.\) or class names"),
    ({"a": 1}, ValueError, r"`class_weight` names class 'a', but neither the data nor the model carries class names"),
])
def test_class_weight_errors_name_the_argument(value, error, match):
    model = dense_model(3)
    data = arrays([0, 1, 2, 0])
    with pytest.raises(error, match=match):
        cnnkit.fit_classifier(model, data, epochs=1, verbose=0, class_weight=value)


def test_class_weight_errors_that_need_the_data(folder):
    import tensorflow as tf

    d = cnnkit.image_folder(folder, image_size=(4, 4), color_mode="grayscale", batch_size=2)
    with pytest.raises(ValueError, match=r"names class 'zebra', which is not one of the classes \(a, b, c\)"):
        cnnkit.fit_classifier(dense_model(3), d["train"], epochs=1, verbose=0, class_weight={"zebra": 2})
    with pytest.raises(ValueError, match=r"gives class 2 twice \(2 and 'c'\)"):
        cnnkit.fit_classifier(dense_model(3), d["train"], epochs=1, verbose=0, class_weight={2: 1, "c": 2})
    with pytest.raises(ValueError, match=r"fit_classifier\(\): `class_weight`='balanced' .* class 2 has none"):
        cnnkit.fit_classifier(dense_model(3), arrays([0, 1, 1, 0]), epochs=1, verbose=0, class_weight="balanced")
    named = dense_model(3)
    cnnkit.fit_classifier(named, d["train"], epochs=1, verbose=0)  # the model carries the class names a, b, c
    with pytest.raises(ValueError, match=r"but class 2 \('c'\) has none"):
        cnnkit.fit_classifier(named, arrays([0, 1, 1, 0]), epochs=1, verbose=0, class_weight="balanced")
    one_pass = tf.data.Dataset.from_tensor_slices(arrays([0, 2, 2, 0])).batch(2)
    with pytest.raises(ValueError, match=r"but class 1 has none"):
        cnnkit.fit_classifier(dense_model(3), one_pass, epochs=1, verbose=0, class_weight="balanced")
    x, y = arrays([0, 1, 2, 2])
    endless = tf.data.Dataset.from_tensor_slices((x, y)).batch(2).repeat()
    with pytest.raises(ValueError, match=r"`data` is an endless dataset \(repeat\(\)\); give the weights per class"):
        cnnkit.fit_classifier(dense_model(3), endless, epochs=1, verbose=0, class_weight="balanced")


def test_fine_tune_passes_class_weight_to_both_phases(tmp_path):
    backbone = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="block1_conv"),
                                 keras.layers.GlobalAveragePooling2D()], name="tiny")
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(backbone(inp)))
    x, y = arrays([0, 0, 0, 1, 2, 2], shape=(8, 8, 3))
    cnnkit.fine_tune(model, (x, y), head_epochs=1, epochs=1, verbose=0, run_dir=tmp_path / "ft",
                     unfreeze="block1", class_weight="balanced")
    for phase in ("head", "fine_tune"):
        record = json.loads((tmp_path / "ft" / phase / "run.json").read_text())
        assert record["fit"]["settings"]["class_weight"] == pytest.approx([6 / 9, 6 / 3, 6 / 6])


def test_run_json_records_class_weight_and_a_resume_with_another_is_refused(tmp_path):
    data = arrays([0, 0, 0, 1, 2, 2])
    run = tmp_path / "run"
    cnnkit.fit_classifier(dense_model(3), data, epochs=1, verbose=0, run_dir=run, class_weight="balanced")
    assert json.loads((run / "run.json").read_text())["fit"]["settings"]["class_weight"] == \
        pytest.approx([6 / 9, 6 / 3, 6 / 6])
    with pytest.warns(RunFinishedWarning):  # the same weights: the finished run is loaded
        cnnkit.fit_classifier(dense_model(3), data, epochs=1, verbose=0, run_dir=run, class_weight="balanced")
    for other in (None, [1, 1, 1], {0: 2}):
        with pytest.raises(ValueError, match=r"holds a run started with other settings: class_weight"):
            cnnkit.fit_classifier(dense_model(3), data, epochs=1, verbose=0, run_dir=run, class_weight=other)
    plain = tmp_path / "plain"  # a run without class weights records none (run.json from before resumes as before)
    cnnkit.fit_classifier(dense_model(3), data, epochs=1, verbose=0, run_dir=plain)
    assert "class_weight" not in json.loads((plain / "run.json").read_text())["fit"]["settings"]
    with pytest.raises(ValueError, match=r"other settings: class_weight differs\. Resume it"):
        cnnkit.fit_classifier(dense_model(3), data, epochs=1, verbose=0, run_dir=plain, class_weight={0: 2})


def test_train_classifier_records_class_weight_in_both_sections(tmp_path):
    r = cnnkit.train_classifier("lenet5", subset=30, epochs=1, batch_size=10, run_dir=tmp_path / "run", verbose=0,
                                class_weight="balanced")
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["job"]["settings"]["class_weight"] == "balanced"  # as given
    y = cnnkit.load_fashion_mnist(n=30, n_test=30, seed=0, pad=True)["y_train"]
    counts = np.bincount(y, minlength=10)
    assert record["fit"]["settings"]["class_weight"] == pytest.approx(list(30 / (10 * counts)))  # as trained
    assert "balanced accuracy: " in repr(r["evaluation"])
    with pytest.raises(ValueError, match=r"other settings: class_weight \"balanced\" \(now null\)"):
        cnnkit.train_classifier("lenet5", subset=30, epochs=1, batch_size=10, run_dir=tmp_path / "run", verbose=0)


# --- ranking metrics ----------------------------------------------------------------------------------

def brute_roc_auc(positive, score):
    """The chance that a positive scores above a negative, a tie counting 1/2: every pair."""
    pos, neg = score[positive], score[~positive]
    return np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg])


def brute_average_precision(positive, score):
    """sum over the distinct thresholds t, from the highest: (recall(t) - recall(previous t)) * precision(t)."""
    ap, previous = 0.0, 0.0
    for t in sorted(set(score.tolist()), reverse=True):
        predicted = score >= t
        tp = np.sum(predicted & positive)
        recall = tp / positive.sum()
        ap += (recall - previous) * tp / predicted.sum()
        previous = recall
    return ap


@pytest.mark.parametrize("seed", range(5))
def test_auc_and_average_precision_equal_their_definitions_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    positive = rng.random(n) < rng.uniform(0.1, 0.9)
    positive[:2] = [True, False]
    score = np.round(rng.random(n), 1)  # one decimal: many ties
    assert roc_auc(positive, score) == pytest.approx(brute_roc_auc(positive, score), abs=1e-12)
    assert average_precision(positive, score) == pytest.approx(brute_average_precision(positive, score), abs=1e-12)


def test_auc_known_values_ties_and_undefined():
    # scikit-learn's documented example (roc_auc_score / average_precision_score)
    y, s = np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(y, s) == pytest.approx(0.75) and average_precision(y, s) == pytest.approx(0.8333333333)
    tied = np.full(4, 0.3)  # every score tied: chance, and the share of positives
    assert roc_auc(y, tied) == 0.5 and average_precision(y, tied) == 0.5
    assert roc_auc(~y | y, s) != roc_auc(~y | y, s)  # only positives: NaN
    assert np.isnan(average_precision(y & ~y, s))  # no positives: NaN


def test_auc_equals_scikit_learn_if_installed():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    for _ in range(5):
        positive = rng.random(40) < 0.3
        positive[:2] = [True, False]
        score = np.round(rng.random(40), 1)
        assert roc_auc(positive, score) == pytest.approx(metrics.roc_auc_score(positive, score))
        assert average_precision(positive, score) == pytest.approx(metrics.average_precision_score(positive, score))


def test_evaluate_classifier_reports_balanced_accuracy_and_aucs():
    x, y = arrays([0] * 10 + [1] * 6 + [2] * 4 + [3] * 0, seed=3)
    model = dense_model(4)
    ev = cnnkit.evaluate_classifier(model, (x, y), class_names=["a", "b", "c", "d"])
    p, cm = ev["probabilities"], ev["confusion_matrix"]
    assert p.shape == (20, 4) and list(ev["y_true"]) == list(y)
    recalls = [cm[c, c] / cm[c].sum() for c in range(3)]  # class d has no images: not in the mean
    assert ev["balanced_accuracy"] == pytest.approx(np.mean(recalls))
    for c in range(3):
        assert ev["per_class"]["roc_auc"][c] == pytest.approx(brute_roc_auc(y == c, p[:, c]))
        assert ev["per_class"]["pr_auc"][c] == pytest.approx(brute_average_precision(y == c, p[:, c]))
    assert np.isnan(ev["per_class"]["roc_auc"][3]) and np.isnan(ev["per_class"]["pr_auc"][3])
    assert ev["averages"]["macro"]["roc_auc"] == pytest.approx(np.mean(ev["per_class"]["roc_auc"][:3]))
    assert ev["averages"]["macro"]["pr_auc"] == pytest.approx(np.mean(ev["per_class"]["pr_auc"][:3]))
    assert "roc_auc" not in ev["averages"]["weighted"]
    lines = repr(ev).splitlines()
    assert lines[0] == f"accuracy: {ev['accuracy']:.4f} (20 images), balanced accuracy: {ev['balanced_accuracy']:.4f}"
    assert lines[2].split() == ["class", "precision", "recall", "f1", "roc", "auc", "pr", "auc", "support"]
    d_row = next(line.split() for line in lines if line.startswith("d "))
    assert d_row[4:6] == ["n/a", "n/a"] and d_row[-1] == "0"
    macro = next(line.split() for line in lines if line.startswith("macro avg"))
    assert float(macro[5]) == pytest.approx(ev["averages"]["macro"]["roc_auc"], abs=5e-4)
    weighted = next(line for line in lines if line.startswith("weighted avg"))
    assert len(weighted.split()) == 2 + 3 + 1  # no AUCs in the weighted row
    assert "<td>n/a</td>" in ev._repr_html_() and "balanced accuracy" in ev._repr_html_()


def test_an_undefined_auc_is_null_in_metrics_json_and_n_a_when_read_back(tmp_path):
    r = cnnkit.train_classifier("lenet5", subset=10, epochs=1, batch_size=10, run_dir=tmp_path / "run", verbose=0)
    text = (tmp_path / "run" / "metrics.json").read_text()

    def no_nan(token):
        raise AssertionError(f"metrics.json holds {token}, which strict JSON readers reject")

    metrics = json.loads(text, parse_constant=no_nan)
    absent = [i for i, s in enumerate(metrics["per_class"]["support"]) if s == 0]
    assert absent, "10 test images of 10 classes: some class is absent"
    assert all(metrics["per_class"]["roc_auc"][i] is None and metrics["per_class"]["pr_auc"][i] is None
               for i in absent)
    assert metrics["balanced_accuracy"] == pytest.approx(r["evaluation"]["balanced_accuracy"])
    assert "probabilities" not in metrics["evaluation"] and "y_true" not in metrics["evaluation"]
    back = as_evaluation(metrics["evaluation"])
    assert repr(back) == repr(r["evaluation"]) and " n/a " in repr(back)


# --- a binary model's threshold -----------------------------------------------------------------------

@pytest.mark.parametrize("make", [dense_model, softmax2_model], ids=["1 sigmoid", "2 softmax"])
def test_threshold_moves_a_binary_models_decision(make):
    x, y = arrays([0] * 12 + [1] * 8, seed=5)
    model = make(2) if make is dense_model else make()
    ev = cnnkit.evaluate_classifier(model, (x, y))
    p1 = ev["probabilities"][:, 1]
    assert ev["threshold"] == 0.5
    middle = float(np.median(p1))
    for t in (0.0, middle, 1.0):
        want = (p1 >= t).astype(int)
        got = cnnkit.predict_classes(model, x, threshold=t)
        assert list(got["class_id"]) == list(want)
        assert np.allclose(got["probability"], np.where(want == 1, p1, 1 - p1))
        e = cnnkit.evaluate_classifier(model, (x, y), threshold=t)
        assert e["confusion_matrix"][:, 1].sum() == want.sum() and e["threshold"] == t
        assert e["per_class"]["roc_auc"] == ev["per_class"]["roc_auc"]  # the AUCs do not depend on it
    assert list(cnnkit.predict_classes(model, x, threshold=0.0)["class_id"]) == [1] * 20
    assert list(cnnkit.predict_classes(model, x, threshold=0.5)["class_id"]) == list(ev["probabilities"].argmax(1))
    assert repr(cnnkit.evaluate_classifier(model, (x, y), threshold=0.25)).splitlines()[0].endswith(", threshold: 0.25")
    assert "threshold" not in repr(ev).splitlines()[0]


def test_threshold_is_refused_for_more_than_two_classes_and_checked():
    x, y = arrays([0, 1, 2, 1])
    model = dense_model(3)
    for call in (lambda t: cnnkit.evaluate_classifier(model, (x, y), threshold=t),
                 lambda t: cnnkit.predict_classes(model, x, threshold=t)):
        with pytest.raises(ValueError, match=r"`threshold`=0\.3 is for a binary model .* this model has 3 classes "
                                             r"and predicts the most probable one"):
            call(0.3)
        with pytest.raises(ValueError, match=r"`threshold` must be a number from 0 to 1 \(a probability\), got 1\.5"):
            call(1.5)
        with pytest.raises(TypeError, match=r"`threshold` must be a number from 0 to 1 .*got '0\.5' \(str\)"):
            call("0.5")
        with pytest.raises(TypeError, match=r"`threshold` must be a number"):
            call(True)
    assert cnnkit.evaluate_classifier(model, (x, y), threshold=0.5)["threshold"] is None  # the default: fine


# --- plot_roc_curves ----------------------------------------------------------------------------------

def test_plot_roc_curves_writes_a_png_and_draws_one_line_per_class(tmp_path):
    x, y = arrays([0] * 5 + [1] * 5 + [2] * 5, seed=2)
    ev = cnnkit.evaluate_classifier(dense_model(3), (x, y), class_names=["cat", "dog", "owl"])
    out = cnnkit.plot_roc_curves(ev, file=tmp_path / "roc.png")
    assert out == str(tmp_path / "roc.png") and Path(out).read_bytes().startswith(PNG)
    fig = cnnkit.plot_roc_curves(ev)
    roc_ax, pr_ax = fig.axes
    assert [t.get_text() for t in roc_ax.get_legend().get_texts()] == \
        [f"{n} ({a:.3f})" for n, a in zip(["cat", "dog", "owl"], ev["per_class"]["roc_auc"])]
    assert roc_ax.get_title() == f"ROC curve (macro AUC {ev['averages']['macro']['roc_auc']:.3f})"
    xb, yb = arrays([0, 1, 0, 1, 1])
    binary = cnnkit.plot_roc_curves(cnnkit.evaluate_classifier(dense_model(2), (xb, yb)))
    assert len(binary.axes[0].get_legend().get_texts()) == 1  # class 1 against class 0


def test_plot_roc_curves_rejects_an_evaluation_without_probabilities(tmp_path):
    ev = cnnkit.evaluate_classifier(dense_model(3), arrays([0, 1, 2, 1]))
    stored = json.loads(json.dumps({k: v for k, v in ev.items() if k not in ("y_true", "probabilities")},
                                   default=lambda a: a.tolist()))
    for evaluation in (as_evaluation(stored), cnnkit.evaluate.evaluation_from_counts([[2, 1], [0, 3]])):
        with pytest.raises(TypeError, match=r"plot_roc_curves\(\): `evaluation` must be what evaluate_classifier\(\) "
                                            r"returns.*read back from a run's metrics\.json"):
            cnnkit.plot_roc_curves(evaluation, file=tmp_path / "x.png")
    with pytest.raises(TypeError, match=r"`evaluation` must be what evaluate_classifier\(\) returns.*got list"):
        cnnkit.plot_roc_curves([1, 2])
    with pytest.raises(ValueError, match=r"labels must be class ids 0 to 1"):
        cnnkit.plot_roc_curves({"y_true": [0, 2], "probabilities": [[0.5, 0.5], [0.2, 0.8]]})
    assert not (tmp_path / "x.png").exists()


# --- the command line ---------------------------------------------------------------------------------

def run_main(capsys, monkeypatch, *args: str) -> subprocess.CompletedProcess:
    """The command line in this process: status, stdout, stderr (as tests/python/test_cli.py does)."""
    from cnnkit.cli import main

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() sets its own
    capsys.readouterr()
    try:
        status = main(list(args))
    except SystemExit as e:  # argparse's usage errors
        status = e.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out.out, out.err)


def test_cli_train_class_weight_balanced(capsys, monkeypatch, tmp_path):
    p = run_main(capsys, monkeypatch, "train", "--model", "lenet5", "--subset", "30", "--epochs", "1",
                 "--batch-size", "10", "--run-dir", str(tmp_path / "run"), "--class-weight", "balanced")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "balanced accuracy: " in p.stdout and "roc auc" in p.stdout
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["job"]["settings"]["class_weight"] == "balanced" and len(record["fit"]["settings"]["class_weight"]) == 10
    p = run_main(capsys, monkeypatch, "train", "--class-weight", "equal")
    assert p.returncode == 2 and "--class-weight: invalid choice: 'equal'" in p.stderr


@pytest.fixture(scope="module")
def binary_model_file(tmp_path_factory):
    """A saved binary model (1 sigmoid unit, classes a and b) and a folder of its images."""
    root = tmp_path_factory.mktemp("binary")
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / "images" / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray((rng.random((8, 8, 3)) * 255).astype("uint8")).save(root / "images" / name / f"{i}.png")
    d = cnnkit.image_folder(root / "images", image_size=(8, 8), batch_size=4)
    model = dense_model(2, shape=(8, 8, 3))
    cnnkit.fit_classifier(model, d["train"], epochs=1, verbose=0)
    cnnkit.save_model(model, root / "binary.keras")
    return root / "binary.keras", root / "images"


def test_cli_evaluate_and_predict_threshold(capsys, monkeypatch, binary_model_file):
    model_file, images = binary_model_file
    files = sorted(str(f) for f in images.rglob("*.png"))
    p = run_main(capsys, monkeypatch, "evaluate", str(model_file), "--data", str(images), "--threshold", "0")
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].endswith(", threshold: 0")
    assert next(line for line in lines if line.startswith("b ")).split()[2] == "1.000"  # every image: class b
    assert next(line for line in lines if line.startswith("a ")).split()[2] == "0.000"
    model = cnnkit.load_model(model_file)
    for t in ("0", "0.5", "1"):
        p = run_main(capsys, monkeypatch, "predict", str(model_file), *files, "--threshold", t)
        assert p.returncode == 0, p.stdout + p.stderr
        want = cnnkit.predict_classes(model, files, threshold=float(t))["label"]
        assert [line.split()[1] for line in p.stdout.splitlines()] == want
    assert set(want) == {"a"}  # threshold 1: class b only at probability 1
    p = run_main(capsys, monkeypatch, "predict", str(model_file), files[0], "--threshold", "1.5")
    assert p.returncode == 2 and "--threshold: must be a number from 0 to 1" in p.stderr


def test_cli_threshold_of_a_ten_class_model_is_refused(capsys, monkeypatch, tmp_path):
    model = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=10)
    cnnkit.save_model(model, tmp_path / "ten.keras")
    p = run_main(capsys, monkeypatch, "evaluate", str(tmp_path / "ten.keras"), "--subset", "20", "--threshold", "0.3")
    assert p.returncode != 0 and "`threshold`=0.3 is for a binary model" in p.stderr, p.stdout + p.stderr
