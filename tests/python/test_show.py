"""show_batch() (a labelled grid of images) and example_image_folder() (a small real image folder),
in Python; R: tests/testthat/test-plot.R."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit.data import FASHION_MNIST_CLASSES, fashion_mnist_raw


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(n=40, seed=3)


def titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.images]


def test_show_batch_titles_images_with_their_class_names(fm):
    fig = cnnkit.show_batch(fm["x_train"], fm["y_train"], fm["class_names"], n=10)
    assert titles(fig) == [fm["class_names"][i] for i in fm["y_train"][:10]]
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert np.allclose(shown[3], fm["x_train"][3, ..., 0])  # the image itself, in [0, 1], in order
    assert len(fig.axes) == 12 and sum(ax.axison for ax in fig.axes) == 0  # 10 images: a 4 x 3 grid, no axes drawn
    # ids without names; names as labels; no labels; 0-255 images; columns
    assert titles(cnnkit.show_batch(fm["x_train"], fm["y_train"], n=3)) == [str(i) for i in fm["y_train"][:3]]
    assert titles(cnnkit.show_batch(fm["x_train"][:2], ["cat", "dog"])) == ["cat", "dog"]
    assert titles(cnnkit.show_batch(fm["x_train"], n=4)) == [""] * 4  # no labels: no titles
    raw = cnnkit.load_fashion_mnist(n=40, seed=3, normalize=False)["x_train"]
    fig255 = cnnkit.show_batch(raw, n=2)
    assert np.allclose(fig255.axes[0].images[0].get_array(), fm["x_train"][0, ..., 0], atol=1e-6)
    assert len(cnnkit.show_batch(fm["x_train"], n=6, cols=6).axes) == 6
    plt.close("all")


def test_show_batch_from_an_image_folder(tmp_path):
    photos = cnnkit.example_image_folder(tmp_path / "photos", classes=["Sneaker", "Bag", "Dress"], n=4)
    folder = cnnkit.image_folder(photos, image_size=28, batch_size=5)
    for data in (folder, folder["train"]):  # the dict image_folder() returns, or its dataset
        got = titles(cnnkit.show_batch(data, n=9))
        assert len(got) == 9 and set(got) <= {"bag", "dress", "sneaker"}
    plt.close("all")


def test_show_batch_explains_wrong_arguments(fm, tmp_path):
    x, y = fm["x_train"], fm["y_train"]
    cases = [
        (lambda: cnnkit.show_batch(x, y[:3]), "`labels` must hold one label per image (40)"),
        (lambda: cnnkit.show_batch(x, y, ["a", "b"]), "`labels` has class id"),
        (lambda: cnnkit.show_batch(x, ["a"] * 40, class_names=["a"]), "`class_names`"),
        (lambda: cnnkit.show_batch(x, y + 0.5), "`labels` must be class ids"),
        (lambda: cnnkit.show_batch(x, n=33), "`n` = 33 is more than the limit of 32"),
        (lambda: cnnkit.show_batch("photos"), "`data`"),
        (lambda: cnnkit.show_batch(x, y, file=tmp_path / "a.txt"), "`file`"),
        (lambda: cnnkit.show_batch({"x": x, "y": y}, y), "`labels` must be None"),
    ]
    for call, says in cases:
        with pytest.raises((TypeError, ValueError)) as err:
            call()
        assert str(err.value).startswith("show_batch(): ") and says in str(err.value), str(err.value)


def test_example_image_folder_writes_real_fashion_mnist_pngs_by_class(tmp_path):
    root = tmp_path / "photos"
    assert cnnkit.example_image_folder(root, classes=[9, "Sneaker"], n=3, seed=1) == str(root)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png")) == [
        "ankle_boot/img_001.png", "ankle_boot/img_002.png", "ankle_boot/img_003.png",
        "sneaker/img_001.png", "sneaker/img_002.png", "sneaker/img_003.png"]
    raw = fashion_mnist_raw()[0]
    for cls, c in (("ankle_boot", 9), ("sneaker", 7)):
        for png in (root / cls).iterdir():
            img = np.asarray(Image.open(png))
            assert img.shape == (28, 28) and img.dtype == np.uint8
            match = np.flatnonzero((raw["x_train"] == img).all(axis=(1, 2)))
            assert match.size and (raw["y_train"][match] == c).all()  # a real training image of that class
    # the same seed, the same images; a folder that is not empty needs overwrite
    again = tmp_path / "again"
    cnnkit.example_image_folder(again, classes=[9, "Sneaker"], n=3, seed=1)
    assert (again / "sneaker" / "img_002.png").read_bytes() == (root / "sneaker" / "img_002.png").read_bytes()
    with pytest.raises(ValueError, match=r"example_image_folder\(\): `path` .* is not empty.*overwrite=True"):
        cnnkit.example_image_folder(root)
    (root / "notes.txt").write_text("mine")
    cnnkit.example_image_folder(root, classes=["Sneaker", "Bag"], n=2, overwrite=True)
    assert sorted(p.name for p in (root / "sneaker").iterdir()) == ["img_001.png", "img_002.png"]
    assert (root / "notes.txt").read_text() == "mine" and len(list((root / "ankle_boot").iterdir())) == 3
    assert [folder for folder in map(cnnkit.data.folder_name, FASHION_MNIST_CLASSES)][:2] == ["t_shirt_top", "trouser"]
    for bad, says in (({"n": 0}, "`n`"), ({"n": 6001}, "`n`"), ({"classes": ["Sneker", "Bag"]}, "`classes`"),
                      ({"overwrite": "yes"}, "`overwrite`")):
        with pytest.raises((TypeError, ValueError), match=says):
            cnnkit.example_image_folder(tmp_path / "new", **bad)
    with pytest.raises(TypeError, match=r"`path`"):
        cnnkit.example_image_folder(None)
    assert not Path(tmp_path / "new").exists()
