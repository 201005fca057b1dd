"""Folder rules that neither add nor drop images silently (issue 24, item 3): hidden files and folders,
split folders (train/ test/ val/), loose files beside the class folders, linked folders, non-images,
a subset stratified by class, and the data fingerprint a resumed run compares. Real Fashion-MNIST
images written as PNG files."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cnnkit
from cnnkit.data import stratified_subset


@pytest.fixture(scope="module")
def pixels():
    d = cnnkit.load_fashion_mnist(normalize=False, classes=(0, 9), n=1000, seed=0)
    return {c: d["x_train"][d["y_train"] == c][..., 0] for c in (0, 1)}


def write(folder: Path, pixels, counts: dict[str, int], start: int = 0) -> None:
    """``folder/<class>/<i>.png`` with ``counts[class]`` real images each (class i % 2 of the pixels)."""
    for k, (name, n) in enumerate(counts.items()):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(pixels[k % 2][start + i]).save(folder / name / f"{i}.png")


def read(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = cnnkit.image_folder(path, image_size=16, color_mode="grayscale", batch_size=8, **kw)
    msgs = [str(w.message) for w in caught if "skipped" in str(w.message)]
    return d, (msgs[0] if msgs else "")


def labels_of(ds) -> list[int]:
    return sorted(np.concatenate([y.numpy() for _, y in ds]).tolist())


def test_hidden_files_and_folders_are_skipped_and_counted(tmp_path, pixels):
    write(tmp_path, pixels, {"boots": 3, "shirts": 3})
    ck = tmp_path / "boots" / ".ipynb_checkpoints"
    ck.mkdir()
    shutil.copy(tmp_path / "boots" / "0.png", ck / "0-checkpoint.png")  # an image: trained on before
    shutil.copy(tmp_path / "boots" / "1.png", tmp_path / "shirts" / "._1.png")  # macOS resource fork name
    (tmp_path / "__MACOSX" / "boots").mkdir(parents=True)
    shutil.copy(tmp_path / "boots" / "0.png", tmp_path / "__MACOSX" / "boots" / "0.png")
    d, msg = read(tmp_path)
    assert d["class_names"] == ["boots", "shirts"]  # __MACOSX is not a class
    assert d["num_train"] == 6 and labels_of(d["train"]) == [0, 0, 0, 1, 1, 1]
    assert "skipped 3 file(s) and folder(s)" in msg and "3 hidden" in msg
    assert "boots/.ipynb_checkpoints/" in msg and "shirts/._1.png" in msg
    assert sorted(Path(p).name for p in d["skipped"]) == ["._1.png", ".ipynb_checkpoints", "__MACOSX"]


def test_non_images_and_broken_images_are_told_apart(tmp_path, pixels):
    write(tmp_path, pixels, {"boots": 3, "shirts": 3})
    (tmp_path / "boots" / "notes.txt").write_text("not an image")
    (tmp_path / "boots" / "labels.csv").write_text("a,b\n")
    (tmp_path / "shirts" / "broken.png").write_bytes((tmp_path / "shirts" / "0.png").read_bytes()[:60])
    d, msg = read(tmp_path)
    assert d["num_train"] == 6
    assert "2 not images: boots/labels.csv, boots/notes.txt" in msg
    assert "1 unreadable: shirts/broken.png" in msg


def test_loose_files_beside_the_class_folders_are_counted(tmp_path, pixels):
    write(tmp_path, pixels, {"boots": 3, "shirts": 3})
    shutil.copy(tmp_path / "boots" / "0.png", tmp_path / "stray.png")
    d, msg = read(tmp_path)
    assert d["num_train"] == 6 and "1 beside the class folders, in no class: stray.png" in msg
    only_loose = tmp_path / "flat"
    only_loose.mkdir()
    for i in range(3):
        shutil.copy(tmp_path / "boots" / f"{i}.png", only_loose / f"{i}.png")
    with pytest.raises(ValueError, match=r"no readable images; 3 file\(s\) lie beside the class folders"):
        read(only_loose)


def test_linked_folders_are_followed_once(tmp_path, pixels):
    root, elsewhere = tmp_path / "photos", tmp_path / "elsewhere"
    write(root, pixels, {"boots": 3, "shirts": 3})
    write(elsewhere, pixels, {"more_boots": 2}, start=50)
    os.symlink(elsewhere / "more_boots", root / "boots" / "linked")  # a linked sub-folder: read
    os.symlink(root / "boots", root / "boots" / "loop")  # a loop: skipped and counted
    os.symlink(elsewhere / "more_boots", root / "shirts" / "again")  # a second link to a folder read
    d, msg = read(root)
    assert d["num_train"] == 8 and labels_of(d["train"]) == [0] * 5 + [1] * 3
    assert "2 linked folder(s) already read" in msg and "boots/loop/" in msg and "shirts/again/" in msg
    linked_class = tmp_path / "by_link"
    linked_class.mkdir()
    os.symlink(root / "shirts", linked_class / "shirts")  # a linked class folder is a class
    os.symlink(elsewhere / "more_boots", linked_class / "boots")
    d, msg = read(linked_class)
    assert d["class_names"] == ["boots", "shirts"] and d["num_train"] == 5


def test_split_folders_are_splits_not_classes(tmp_path, pixels):
    write(tmp_path / "Train", pixels, {"boots": 6, "shirts": 4})
    write(tmp_path / "TEST", pixels, {"boots": 2, "shirts": 3}, start=100)
    write(tmp_path / "validation", pixels, {"boots": 1, "shirts": 2}, start=200)
    (tmp_path / "README.txt").write_text("the data")
    d, msg = read(tmp_path)
    assert d["class_names"] == ["boots", "shirts"]  # not ["TEST", "Train", "validation"]
    assert (d["num_train"], d["num_validation"], d["num_test"]) == (10, 3, 5)
    assert labels_of(d["train"]) == [0] * 6 + [1] * 4
    assert labels_of(d["validation"]) == [0, 1, 1] and labels_of(d["test"]) == [0, 0, 1, 1, 1]
    assert all(Path(f).parts[-3] == "TEST" for f in d["test"].files)
    assert d["test"].class_names == ["boots", "shirts"]
    assert "1 beside the class folders, in no class: README.txt" in msg
    with pytest.raises(ValueError, match=r"has its own validation folder \(validation/\)"):
        read(tmp_path, validation_split=0.2)
    shutil.rmtree(tmp_path / "validation")  # train/ and test/ only: validation_split splits train/
    d, _ = read(tmp_path, validation_split=0.2)
    assert (d["num_train"], d["num_validation"], d["num_test"]) == (8, 2, 5)
    assert not set(d["validation"].files) & set(d["test"].files)


def test_split_folders_need_the_same_classes(tmp_path, pixels):
    write(tmp_path / "train", pixels, {"boots": 2, "shirts": 2})
    write(tmp_path / "test", pixels, {"boots": 2, "sandals": 2})
    with pytest.raises(ValueError, match=r"different class folders: test/ lacks \['shirts'\] and has \['sandals'\], "
                                         r"which train/ lacks"):
        read(tmp_path)
    write(tmp_path / "bags", pixels, {"x": 1})
    with pytest.raises(ValueError, match=r"split folders \(test, train\) beside other folders \(bags\)"):
        read(tmp_path)
    shutil.rmtree(tmp_path / "bags")
    write(tmp_path / "val", pixels, {"boots": 1})
    write(tmp_path / "Validation", pixels, {"boots": 1})
    with pytest.raises(ValueError, match="more than one folder for the validation split"):
        read(tmp_path)


def test_a_train_folder_without_a_test_folder_is_a_class(tmp_path, pixels):
    write(tmp_path, pixels, {"train": 2, "bus": 2})  # pictures of trains and buses
    d, _ = read(tmp_path)
    assert d["class_names"] == ["bus", "train"] and d["test"] is None and d["num_test"] == 0


def test_subset_is_stratified_by_class_and_seeded(tmp_path, pixels):
    write(tmp_path, pixels, {"boots": 30, "shirts": 10})
    d, _ = read(tmp_path, subset=8)
    assert d["num_train"] == 8 and labels_of(d["train"]) == [0] * 6 + [1] * 2
    again, _ = read(tmp_path, subset=8)
    other, _ = read(tmp_path, subset=8, seed=3)
    assert sorted(again["train"].files) == sorted(d["train"].files) != sorted(other["train"].files)
    d, _ = read(tmp_path, subset=10, validation_split=0.2)  # the subset first, then the split
    assert (d["num_train"], d["num_validation"]) == (8, 2)
    assert read(tmp_path, subset=1000)[0]["num_train"] == 40
    with pytest.raises(ValueError, match=r"`subset` 1 is less than the number of classes \(2\)"):
        read(tmp_path, subset=1)
    split = tmp_path / "split"
    write(split / "train", pixels, {"boots": 9, "shirts": 3})
    write(split / "test", pixels, {"boots": 6, "shirts": 6})
    d, _ = read(split, subset=4)  # at most 4 of each split
    assert labels_of(d["train"]) == [0, 0, 0, 1] and labels_of(d["test"]) == [0, 0, 1, 1]


def test_stratified_subset_keeps_every_class():
    labels = [0] * 97 + [1] * 2 + [2]
    picked = stratified_subset(labels, 10, seed=0)
    assert len(picked) == 10 and picked == sorted(picked)
    assert sorted({labels[i] for i in picked}) == [0, 1, 2]
    assert stratified_subset(labels, 100, seed=0) == list(range(100))


def test_the_fingerprint_follows_files_sizes_and_classes(tmp_path, pixels):
    write(tmp_path, pixels, {"boots": 3, "shirts": 3})
    before = read(tmp_path)[0]["train"].fingerprint
    assert read(tmp_path)[0]["train"].fingerprint == before  # the same images: the same fingerprint
    shutil.move(tmp_path / "boots" / "2.png", tmp_path / "shirts" / "2b.png")  # moved between classes
    moved = read(tmp_path)[0]["train"].fingerprint
    shutil.move(tmp_path / "shirts" / "2b.png", tmp_path / "boots" / "2.png")
    assert read(tmp_path)[0]["train"].fingerprint == before
    Image.fromarray(pixels[0][300]).save(tmp_path / "boots" / "2.png")  # another image, another size
    assert len({before, moved, read(tmp_path)[0]["train"].fingerprint}) == 3


def test_a_run_refuses_a_changed_folder(tmp_path, pixels):
    """fit_classifier() with a run_dir (what train_classifier resumes through): other images are other data."""
    photos, run = tmp_path / "photos", tmp_path / "run"
    write(photos, pixels, {"boots": 4, "shirts": 4})

    def fit():
        d = read(photos)[0]
        model = cnnkit.simple_cnn((16, 16, 1), blocks=1, filters=2, units=4, num_classes=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cnnkit.fit_classifier(model, d["train"], epochs=1, verbose=0, run_dir=run)

    fit()
    assert "files" in json.loads((run / "run.json").read_text())["fit"]["settings"]["data"]
    fit()  # the same folder: the finished run is read back
    shutil.move(photos / "boots" / "3.png", photos / "shirts" / "3b.png")
    with pytest.raises(ValueError, match=r"holds a run started with other settings: data differs"):
        fit()


def test_train_classifier_resumes_only_on_the_same_folder(tmp_path, pixels):
    photos, run = tmp_path / "photos", tmp_path / "run"
    write(photos / "train", pixels, {"boots": 4, "shirts": 4})
    write(photos / "test", pixels, {"boots": 2, "shirts": 1}, start=100)
    args = dict(model="simple_cnn", data=str(photos), epochs=1, image_size=16, run_dir=str(run), verbose=0)
    r = cnnkit.train_classifier(**args)
    assert r["evaluation"]["n"] == 3  # evaluated on test/
    record = json.loads((run / "run.json").read_text())
    record["job"]["status"] = "running"  # as if killed after its last epoch, before the report
    (run / "run.json").write_text(json.dumps(record))
    shutil.move(photos / "train" / "boots" / "3.png", photos / "train" / "shirts" / "3b.png")
    with pytest.raises(ValueError, match=r"train_classifier\(\): `run_dir` .* other settings: data differs"):
        cnnkit.train_classifier(**args)
    shutil.move(photos / "train" / "shirts" / "3b.png", photos / "train" / "boots" / "3.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cnnkit.train_classifier(**args)["evaluation"]["n"] == 3
