"""Off the path, round 3 (issue 25): raw library errors replaced by messages that name the argument,
what was found and the fix -- models Keras gives no shapes, a model compiled with a loss that cannot
take class ids, ragged image lists, a damaged history.csv -- and plot_history() of a run directory."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import cnnkit

X = np.random.default_rng(0).uniform(0, 1, (8, 16, 16, 3)).astype("float32")
Y = np.arange(8) % 2


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.flat, self.out = keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")

    def call(self, x):
        return self.out(self.flat(x))


def _tiny():
    return cnnkit.simple_cnn((16, 16, 3), blocks=1, filters=4, units=8, num_classes=2)


@pytest.mark.parametrize("make, what", [
    (lambda: keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")]),
     "a Sequential model without an Input layer"),
    (Subclassed, "a subclassed keras.Model"),
])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_models_without_shapes_are_told_how_to_give_them_one(make, what, call):
    run = {"fit": lambda m: cnnkit.fit_classifier(m, (X, Y), epochs=1, verbose=0),
           "evaluate": lambda m: cnnkit.evaluate_classifier(m, (X, Y)),
           "predict": lambda m: cnnkit.predict_classes(m, X)}[call]
    with pytest.raises(ValueError, match=rf"`model` has no defined input and output shape \({what}.*keras.Input\(shape="):
        run(make())


@pytest.mark.parametrize("loss", ["mse", "poisson", keras.losses.MeanSquaredError()])  # a categorical loss
# is taken: cnnkit gives it one-hot labels (cnnkit.mixing; tests/python/test_mixing.py)
def test_a_model_compiled_with_a_loss_for_other_labels_is_refused_before_training(loss):
    m = _tiny()
    m.compile(loss=loss, optimizer="adam")
    with pytest.raises(ValueError, match=r"compiled with loss .* does not take class ids.*"
                                         r"loss='sparse_categorical_crossentropy'"):
        cnnkit.fit_classifier(m, (X, Y), epochs=1, verbose=0)


def test_a_model_compiled_with_a_class_id_loss_or_the_users_own_function_trains():
    for loss in ("sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy(),
                 lambda y, p: keras.losses.sparse_categorical_crossentropy(y, p)):
        m = _tiny()
        m.compile(loss=loss, optimizer="adam")
        assert len(cnnkit.fit_classifier(m, (X, Y), epochs=1, verbose=0)["loss"]) == 1


def test_images_of_different_sizes_are_named_not_numpy_text():
    with pytest.raises(ValueError, match=r"list of images of different sizes \(\(16, 16, 3\), \(8, 16, 3\)\).*resize"):
        cnnkit.predict_classes(_tiny(), [X[0], X[1, :8]])


def test_a_damaged_history_csv_is_named_with_row_column_and_the_way_out(tmp_path):
    m = _tiny()
    cnnkit.fit_classifier(m, (X, Y), epochs=2, verbose=0, run_dir=tmp_path / "run")
    assert cnnkit.plot_history(tmp_path / "run").axes  # a run directory plots as its history does
    path = tmp_path / "run" / "history.csv"
    rows = path.read_text().splitlines()
    cells = rows[2].split(",")
    cells[1] = "oops"
    rows[2] = ",".join(cells)
    path.write_text("\n".join(rows) + "\n")
    pattern = r"the run.s history file .*history.csv' has 'oops' in row 2, column 'accuracy'.*overwrite=True"
    with pytest.raises(ValueError, match=r"fit_classifier\(\): " + pattern):
        cnnkit.fit_classifier(m, (X, Y), epochs=2, verbose=0, run_dir=tmp_path / "run")
    with pytest.raises(ValueError, match=r"plot_history\(\): " + pattern):
        cnnkit.plot_history(path)


def _ten():
    return cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=10)


X28 = np.random.default_rng(0).uniform(0, 1, (6, 28, 28, 1)).astype("float32")


@pytest.mark.parametrize("x, words", [
    (X28.transpose(0, 3, 1, 2), r"channels first .* x\.transpose\(0, 2, 3, 1\)"),
    (X28.reshape(6, -1), r"flattened \(784 values each\).*x\.reshape\(-1, 28, 28, 1\)"),
    (X28.reshape(2, 3, 28, 28, 1), r"batches stacked on an extra axis.*x\.reshape\(-1, 28, 28, 1\)"),
    (X28[..., 0], r"channel axis is missing: x\[\.\.\., None\]"),
])
def test_array_shapes_get_the_fix_that_fits_them(x, words):
    with pytest.raises(ValueError, match=words):
        cnnkit.predict_classes(_ten(), x)


def test_evaluating_on_some_classes_is_told_to_name_the_models_classes_not_to_rebuild():
    y = np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"3 classes \(a, b, c\) but the model predicts 10 classes\. The labels must "
                                         r"name the model's classes") as e:
        cnnkit.evaluate_classifier(_ten(), {"x": X28, "y": y, "class_names": ["a", "b", "c"]})
    assert "num_classes" not in str(e.value)


def test_unused_class_names_at_training_are_said_as_such():
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=3)
    with pytest.raises(ValueError, match=r"7 of them have no images here"):
        cnnkit.fit_classifier(m, {"x": X28, "y": np.array([0, 1, 2, 0, 1, 2]), "class_names": list("abcdefghij")},
                              epochs=1, verbose=0)


def test_classes_named_alike_at_other_positions_are_refused_naming_which():
    m = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=3)
    cnnkit.saving._attach(m, ["cat", "dog", "fox"])
    with pytest.raises(ValueError, match=r"'fox' is data class 1 but model class 2, so its images would be scored as "
                                         r"'dog'\. Only in the data: wolf; only in the model: dog"):
        cnnkit.evaluate_classifier(m, {"x": X28, "y": np.array([0, 1, 2, 0, 1, 2]), "class_names": ["cat", "fox", "wolf"]})
