"""Data: Fashion-MNIST (Debian files -> Keras cache -> Keras download, tested on local files) and
image folders built from real Fashion-MNIST images (PNG and JPEG, a corrupt file, a non-image)."""

from __future__ import annotations

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cnnkit
import cnnkit.data as data_mod
from conftest import load_spec

FM = load_spec("training")["fashion_mnist"]


def test_fashion_mnist_full_from_debian_files():
    d = cnnkit.load_fashion_mnist()
    assert d["source"].startswith("debian:")
    assert d["x_train"].shape == (FM["train_size"], *FM["image_shape"])
    assert d["x_test"].shape == (FM["test_size"], *FM["image_shape"])
    assert d["x_train"].dtype == np.float32 and 0 <= d["x_train"].min() and d["x_train"].max() <= 1
    assert d["y_train"][:10].tolist() == FM["first_train_labels"]
    assert d["class_names"] == FM["class_names"]
    assert sorted(set(d["y_test"].tolist())) == list(range(10))


def test_fashion_mnist_options():
    d = cnnkit.load_fashion_mnist(pad=True, channels=3, n=100, n_test=50, seed=1)
    assert d["x_train"].shape == (100, 32, 32, 3) and d["x_test"].shape == (50, 32, 32, 3)
    assert (d["x_train"][:, :2] == 0).all() and (d["x_train"][..., 0] == d["x_train"][..., 2]).all()
    two = cnnkit.load_fashion_mnist(classes=("Ankle boot", 0), n=200)
    assert two["class_names"] == ["Ankle boot", "T-shirt/top"]
    assert set(two["y_train"].tolist()) == {0, 1}
    full = cnnkit.load_fashion_mnist(classes=(9, 0))
    assert len(full["y_train"]) == 12000 and (full["y_train"] == 0).sum() == 6000
    raw = cnnkit.load_fashion_mnist(normalize=False, n=10)
    assert raw["x_train"].dtype == np.uint8 and raw["x_train"].max() > 1
    # same seed, same subset
    assert (cnnkit.load_fashion_mnist(n=20, seed=3)["y_train"] == cnnkit.load_fashion_mnist(n=20, seed=3)["y_train"]).all()


def _write_fake_idx(folder: Path, n: int = 5) -> None:
    """A tiny but valid set of the four IDX files (label i in image i's first pixel)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "t10k"):
        images = np.zeros((n, 28, 28), np.uint8)
        images[:, 0, 0] = np.arange(n)
        header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in images.shape)
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))
        labels = np.arange(n, dtype=np.uint8) % 10
        (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + labels.tobytes()))


def test_fallback_order_debian_then_keras_cache_then_download(tmp_path, monkeypatch):
    data_mod._read_folder.cache_clear()
    debian, home = tmp_path / "debian", tmp_path / "keras-home"
    monkeypatch.setattr(data_mod, "DEBIAN_DIR", str(debian))
    monkeypatch.setenv("KERAS_HOME", str(home))
    cache = home / "datasets" / "fashion-mnist"
    downloads = []

    def fake_get_file(fname, origin, cache_subdir, **kw):  # Keras' downloader, served from local files
        downloads.append(origin)
        target = home / cache_subdir / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "served" / fname, target)
        return str(target)

    _write_fake_idx(tmp_path / "served", n=7)
    import keras.src.datasets.fashion_mnist as kfm
    monkeypatch.setattr(kfm, "get_file", fake_get_file)
    # 3. nothing local: the real keras.datasets code path downloads (here: from the served files)
    d = cnnkit.load_fashion_mnist()
    assert d["source"] == "download" and len(d["y_train"]) == 7
    assert len(downloads) == 4 and all(o.startswith("https://") for o in downloads)
    # 2. the download filled the Keras cache: now read from there, no download
    data_mod._read_folder.cache_clear()
    assert cnnkit.load_fashion_mnist()["source"] == f"keras-cache:{cache}"
    assert len(downloads) == 4
    # 1. Debian files win over the cache
    _write_fake_idx(debian, n=3)
    d = cnnkit.load_fashion_mnist()
    assert d["source"] == f"debian:{debian}" and len(d["y_train"]) == 3
    assert d["x_train"][2, 0, 0, 0] == pytest.approx(2 / 255)
    # an incomplete folder is passed over
    (debian / "t10k-labels-idx1-ubyte.gz").unlink()
    assert cnnkit.load_fashion_mnist()["source"].startswith("keras-cache:")
    data_mod._read_folder.cache_clear()


def test_truncated_idx_file_is_a_clear_error(tmp_path, monkeypatch):
    data_mod._read_folder.cache_clear()
    _write_fake_idx(tmp_path / "d", n=4)
    f = tmp_path / "d" / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(gzip.decompress(f.read_bytes())[:-100]))
    monkeypatch.setattr(data_mod, "DEBIAN_DIR", str(tmp_path / "d"))
    with pytest.raises(ValueError, match="truncated"):
        cnnkit.load_fashion_mnist()
    data_mod._read_folder.cache_clear()


@pytest.mark.parametrize("kwargs,arg", [({"channels": 2}, "channels"), ({"classes": [3]}, "classes"),
                                        ({"classes": ["Hat", "Bag"]}, "classes"), ({"classes": [0, 10]}, "classes"),
                                        ({"n": 0}, "n"), ({"n_test": 2.5}, "n_test")])
def test_fashion_mnist_bad_input(kwargs, arg):
    with pytest.raises((TypeError, ValueError), match=f"load_fashion_mnist\\(\\): `{arg}`"):
        cnnkit.load_fashion_mnist(**kwargs)


# --- image folders --------------------------------------------------------------------------------

def make_image_folder(root: Path, per_class: int = 6, classes=(0, 9)) -> dict:
    """Real Fashion-MNIST images as files: PNG and JPEG, plus a corrupt JPEG and a text file."""
    d = cnnkit.load_fashion_mnist(normalize=False, classes=classes, n=200, seed=0)
    names = [n.replace("/", "-") for n in d["class_names"]]
    for label, name in enumerate(names):
        (root / name).mkdir(parents=True)
        imgs = d["x_train"][d["y_train"] == label][:per_class, ..., 0]
        for i, img in enumerate(imgs):
            ext = "png" if i % 2 == 0 else "jpg"
            Image.fromarray(img).save(root / name / f"{i}.{ext}")
    good = root / names[0] / "0.png"
    (root / names[0] / "broken.jpg").write_bytes((root / names[0] / "1.jpg").read_bytes()[:150])  # truncated
    (root / names[1] / "notes.txt").write_text("not an image")
    return {"names": names, "good": good, "images": d}


def test_image_folder_pipeline_skips_corrupt_and_non_image_files(tmp_path):
    info = make_image_folder(tmp_path / "photos")
    with pytest.warns(UserWarning, match=r"skipped 2 file\(s\)"):
        d = cnnkit.image_folder(tmp_path / "photos", image_size=28, color_mode="grayscale", batch_size=5,
                                validation_split=0.25, seed=1)
    assert d["class_names"] == sorted(info["names"])
    assert d["num_train"] + d["num_validation"] == 12 and d["num_validation"] == 3
    assert sorted(Path(p).name for p in d["skipped"]) == ["broken.jpg", "notes.txt"]
    x, y = next(iter(d["train"]))
    assert tuple(x.shape) == (5, 28, 28, 1) and x.dtype.name == "float32"
    assert 0 <= float(np.min(x)) and float(np.max(x)) <= 1
    labels = np.concatenate([b[1].numpy() for b in d["train"]] + [b[1].numpy() for b in d["validation"]])
    assert sorted(labels.tolist()) == [0] * 6 + [1] * 6
    # the PNG decodes to the original pixels
    img = cnnkit.load_images(info["good"], 28, "grayscale")
    assert img.shape == (1, 28, 28, 1)
    np.testing.assert_allclose(img[0, ..., 0] * 255, np.asarray(Image.open(info["good"])), atol=0.51)


def test_image_folder_trains_a_model(tmp_path):
    make_image_folder(tmp_path / "photos")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = cnnkit.image_folder(tmp_path / "photos", image_size=(16, 16), color_mode="rgb", batch_size=4)
    model = cnnkit.simple_cnn((16, 16, 3), blocks=1, filters=4, units=8, num_classes=2)
    assert d["train"].class_names == d["class_names"]  # as Keras' image_dataset_from_directory
    h = cnnkit.fit_classifier(model, d["train"], epochs=2, verbose=0)
    assert h["epoch"] == [1, 2] and all(np.isfinite(h["loss"]))
    # the folders' names are remembered on the model: predictions and saved models use them
    assert cnnkit.saving.class_names_of(model) == d["class_names"]
    assert set(cnnkit.predict_classes(model, next(iter(d["train"]))[0].numpy())["label"]) <= set(d["class_names"])
    assert cnnkit.evaluate_classifier(model, d["train"])["class_names"] == d["class_names"]


def test_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="`path` .* does not exist"):
        cnnkit.image_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no readable images"):
        cnnkit.image_folder(tmp_path / "empty")
    (tmp_path / "empty" / "cats").mkdir()
    (tmp_path / "empty" / "cats" / "a.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ValueError, match=r"no readable images \(1 file"):
        cnnkit.image_folder(tmp_path / "empty")
    one = tmp_path / "one" / "cats"
    one.mkdir(parents=True)
    Image.new("L", (8, 8), 3).save(one / "a.png")
    with pytest.raises(ValueError, match="one class only"):
        cnnkit.image_folder(tmp_path / "one")
    with pytest.raises(ValueError, match="is a file"):
        cnnkit.image_folder(one / "a.png")
    with pytest.raises(ValueError, match="`color_mode`"):
        cnnkit.image_folder(tmp_path / "one", color_mode="cmyk")
    with pytest.raises(ValueError, match="`validation_split`"):
        cnnkit.image_folder(tmp_path / "one", validation_split=1)
    with pytest.raises(ValueError, match="`files` entry"):
        cnnkit.load_images([str(tmp_path / "empty" / "cats" / "a.png")], 8)


def test_image_folder_decodes_each_file_once_within_the_cache_limit(tmp_path, monkeypatch):
    """The check that every file decodes decodes it at the pipeline's size and keeps it (uint8): no
    epoch decodes anything; past the image_cache limit every epoch decodes again. Same images."""
    import cnnkit._images as images_module
    import cnnkit.data as data_module

    photos = cnnkit.example_image_folder(tmp_path / "p", classes=["Sneaker", "Bag"], n=10)
    calls = []
    real = images_module.decode_file
    for module in (data_module, images_module):  # the check's decoding, and read_images()' in the pipeline
        monkeypatch.setattr(module, "decode_file", lambda *a, **k: calls.append(a[0]) or real(*a, **k))

    def epochs(d):
        return [np.concatenate([b[0].numpy() for b in d["train"]]) for _ in range(3)]

    cached = epochs(cnnkit.image_folder(photos, image_size=16, batch_size=8))
    assert len(calls) == 20  # 20 files, decoded once (by the check), 3 epochs
    calls.clear()
    monkeypatch.setenv("CNNKIT_MAX_IMAGE_CACHE", "1")
    uncached = epochs(cnnkit.image_folder(photos, image_size=16, batch_size=8))
    assert len(calls) == 20 + 60  # the check, then every epoch
    by_sum = lambda x: np.sort(x.reshape(len(x), -1).sum(1))  # noqa: E731 - the same images, in any order
    np.testing.assert_allclose(by_sum(cached[2]), by_sum(uncached[2]), rtol=1e-6)
