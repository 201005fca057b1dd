"""One resolver for data kinds (issue 25): a kind one function takes, all take -- (x, y), PyDataset,
tables of image files -- and anything else gets one message listing what is accepted."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest

import cnnkit

X = np.random.default_rng(0).uniform(0, 1, (12, 28, 28, 1)).astype("float32")
Y = np.arange(12) % 2


class Batches(keras.utils.PyDataset):
    def __len__(self):
        return 3

    def __getitem__(self, i):
        return X[4 * i:4 * i + 4], Y[4 * i:4 * i + 4]


def _tiny():
    return cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=2, units=4, num_classes=2)


def test_a_py_dataset_is_taken_by_training_evaluation_top_losses_and_show_batch():
    m = _tiny()
    assert len(cnnkit.fit_classifier(m, Batches(), epochs=1, verbose=0)["loss"]) == 1
    assert cnnkit.evaluate_classifier(m, Batches())["n"] == 12
    assert len(cnnkit.top_losses(m, Batches(), k=3)) == 3
    assert len(cnnkit.show_batch(Batches(), n=4).axes) >= 4
    # and the same as the arrays give
    assert cnnkit.evaluate_classifier(m, (X, Y))["accuracy"] == cnnkit.evaluate_classifier(m, Batches())["accuracy"]


def test_show_batch_takes_the_x_y_pair_fit_classifier_takes():
    fig = cnnkit.show_batch((X, Y), class_names=["a", "b"], n=4)
    assert [ax.get_title() for ax in fig.axes[:4]] == ["a", "b", "a", "b"]


def test_a_table_of_files_trains_and_evaluates_at_the_models_size(tmp_path):
    photos = cnnkit.example_image_folder(tmp_path / "photos", classes=["Sneaker", "Bag"], n=4)
    rows = [{"file": str(f), "label": f.parent.name} for f in sorted((tmp_path / "photos").rglob("*.png"))]
    table = {"file": [r["file"] for r in rows], "label": [r["label"] for r in rows]}
    m = _tiny()
    cnnkit.fit_classifier(m, table, epochs=1, verbose=0)
    assert cnnkit.saving.class_names_of(m) == ["bag", "sneaker"]  # the table's classes, remembered
    ev = cnnkit.evaluate_classifier(m, table)
    assert ev["n"] == 8 and ev["class_names"] == ["bag", "sneaker"]
    assert photos


@pytest.mark.parametrize("data, words", [
    ((b for b in [(X, Y)]), r"generator, which can be read once only.*from_generator"),
    ({"train": None, "class_names": ["a", "b"]}, r"what image_folder\(\) or image_table\(\) returns.*d\['train'\]"),
    (X, r"must be \(x, y\) arrays .*tf.data.Dataset.*PyDataset.*table of image files.*got ndarray of shape "
        r"\(12, 28, 28, 1\) \(images without labels\?\)"),
    ((X, Y, Y), r"must be \(x, y\) arrays .*got a tuple of 3 item"),
])
def test_anything_else_gets_one_message_listing_what_is_accepted(data, words):
    for call in (lambda d: cnnkit.fit_classifier(_tiny(), d, epochs=1, verbose=0),
                 lambda d: cnnkit.evaluate_classifier(_tiny(), d)):
        if isinstance(data, types.GeneratorType):
            data = (b for b in [(X, Y)])
        with pytest.raises(TypeError, match=words):
            call(data)
