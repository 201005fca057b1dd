"""predict_classes() on image files streams them (issue 24): folders, the file column, the order, batch
by batch with one traced function, bad files (checked first; or skipped), the progress bar; `cnnkit
predict --output` writes a CSV atomically; top_losses() on an image_folder() dataset names its files
and ranks the same images each call. Memory itself is measured by bench/acceptance/predict_files.py, not here:
the tests check that decoding happens per batch."""

from __future__ import annotations

import csv
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import cnnkit
import cnnkit.evaluate as evaluate

SIZE = (16, 16)


def write_images(folder: Path, names: list[str], seed: int = 0) -> list[str]:
    """Small RGB images (PNG or JPEG by suffix) at ``folder/name``, in the order given."""
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype="uint8")).save(path)
        out.append(str(path))
    return out


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return cnnkit.simple_cnn((*SIZE, 3), blocks=1, filters=4, units=8, num_classes=3)


@pytest.fixture
def photos(tmp_path):
    """11 images in nested folders, plus hidden files and a hidden folder that must be left out."""
    root = tmp_path / "photos"
    files = write_images(root, [f"b/{i:02d}.png" for i in range(5)] + [f"a/{i:02d}.jpg" for i in range(4)]
                         + ["c/deep/x.png", "top.png"])
    write_images(root, [".hidden.png", ".cache/y.png"])
    return root, sorted(files, key=Path)


def recorder(monkeypatch):
    """Record the number of files each read_images() call decodes (the reader runs per batch)."""
    calls = []
    real = evaluate.read_images

    def read(files, *args, **kwargs):
        calls.append(len(files))
        return real(files, *args, **kwargs)

    monkeypatch.setattr(evaluate, "read_images", read)
    return calls


def test_a_folder_gives_its_images_sorted_with_their_paths(model, photos):
    root, files = photos
    p = cnnkit.predict_classes(model, str(root), verbose=0)
    assert p["file"] == files and p["skipped"] == []  # recursive, sorted, hidden files and folders left out
    x = cnnkit.load_images(files, SIZE)  # the same decoding as before, all at once
    np.testing.assert_allclose(p["probabilities"], cnnkit.predict_classes(model, x)["probabilities"], atol=1e-6)
    assert list(p["class_id"]) == list(p["probabilities"].argmax(1)) and len(p["label"]) == len(files)
    assert cnnkit.predict_classes(model, root / "top.png")["file"] == [str(root / "top.png")]  # one path
    arrays = cnnkit.predict_classes(model, x)
    assert "file" not in arrays and "skipped" not in arrays  # arrays: no file column


def test_a_list_keeps_its_order_and_expands_folders_in_place(model, photos):
    root, files = photos
    mixed = [files[3], str(root / "a"), files[0]]
    p = cnnkit.predict_classes(model, mixed, verbose=0)
    a = [f for f in files if Path(f).parent.name == "a"]
    assert p["file"] == [files[3], *a, files[0]]
    empty = root / "empty"
    (empty / ".git").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"predict_classes\(\): `x` entry .*empty' is a folder with no files"):
        cnnkit.predict_classes(model, [str(empty)])


def test_files_are_decoded_batch_by_batch_through_one_traced_function(model, photos, monkeypatch):
    root, files = photos
    whole = cnnkit.predict_classes(model, str(root), verbose=0)
    reads = recorder(monkeypatch)
    traced, shapes = [], []
    real = evaluate.predictor

    def predictor(*args, **kwargs):
        f = real(*args, **kwargs)
        traced.append(f)
        return lambda x: (shapes.append(len(x)), f(x))[1]

    monkeypatch.setattr(evaluate, "predictor", predictor)
    p = cnnkit.predict_classes(model, str(root), batch_size=4, verbose=0)
    assert reads == [4, 4, 3]  # 11 files, 4 at a time: never all of them at once
    assert shapes == [4, 4, 3]  # the last, smaller batch through the same function
    assert len(traced) == 1 and type(traced[0]).__name__ == "ConcreteFunction"  # one trace, any batch size
    assert p["file"] == whole["file"]
    np.testing.assert_allclose(p["probabilities"], whole["probabilities"], atol=1e-6)


def test_large_images_go_through_the_model_in_bounded_chunks(monkeypatch):
    m = cnnkit.simple_cnn((64, 64, 3), blocks=1, filters=2, units=4, num_classes=2)
    monkeypatch.setattr(evaluate, "FILE_CHUNK_VALUES", 64 * 64 * 3 * 2)  # two images per call
    shapes = []
    real = evaluate.predictor
    monkeypatch.setattr(evaluate, "predictor",
                        lambda *a, **k: (lambda f: lambda x: (shapes.append(len(x)), f(x))[1])(real(*a, **k)))
    x = np.random.default_rng(0).random((5, 64, 64, 3)).astype("float32")
    monkeypatch.setattr(evaluate, "read_images", lambda files, *a: x[:len(files)])
    monkeypatch.setattr(evaluate, "check_image_file", lambda *a, **k: None)
    p = evaluate.predict_files(m, [f"{i}.png" for i in range(5)], 256, "float32", 0, False)
    assert shapes == [2, 2, 1] and p[1].shape == (5, 2)


def test_bad_files_are_listed_before_anything_is_decoded(model, photos, monkeypatch):
    root, files = photos
    (root / "b" / "notes.txt").write_text("not an image")
    reads = recorder(monkeypatch)
    with pytest.raises(ValueError, match=r"`x` entry .*notes.txt' is not a readable image .*Nothing was predicted.*"
                                         r"skip_unreadable=True to predict the other 11 file"):
        cnnkit.predict_classes(model, str(root))
    (root / "a" / "fake.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(ValueError, match=r"predict_classes\(\): 2 of 13 files in `x` are not images cnnkit reads: "
                                         r".*fake.jpg.*notes.txt.*skip_unreadable=True"):
        cnnkit.predict_classes(model, str(root))
    assert reads == []  # the headers only: nothing was decoded
    with pytest.warns(UserWarning, match=r"skipped 2 of 13 file\(s\) that are not readable images \(fake.jpg, notes.txt\)"):
        p = cnnkit.predict_classes(model, str(root), skip_unreadable=True, verbose=0)
    assert p["file"] == files and p["skipped"] == [str(root / "a" / "fake.jpg"), str(root / "b" / "notes.txt")]


def test_a_file_that_fails_to_decode_stops_the_run_or_is_skipped(model, photos):
    root, files = photos
    good = Path(files[5]).read_bytes()
    (root / "b" / "02.png").write_bytes(good[:len(good) // 2])  # the header is fine, the data truncated
    with pytest.raises(ValueError, match=r"predict_classes\(\): `x` entry .*02.png'.* Pass skip_unreadable=True"):
        cnnkit.predict_classes(model, str(root), batch_size=4, verbose=0)
    with pytest.warns(UserWarning, match=r"skipped 1 of 11"):
        p = cnnkit.predict_classes(model, str(root), batch_size=4, skip_unreadable=True, verbose=0)
    assert p["skipped"] == [str(root / "b" / "02.png")] and p["file"] == [f for f in files if not f.endswith("b/02.png")]
    (root / "top.png").write_text("x")
    for f in files:
        Path(f).write_text("x")
    with pytest.raises(ValueError, match=r"none of the 11 files in `x` is a readable image"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cnnkit.predict_classes(model, str(root), skip_unreadable=True)


def test_the_progress_bar_shows_when_asked_or_on_a_terminal_for_long_work(model, photos, capsys, monkeypatch):
    root, _ = photos

    def shown(batch_size=4, **kwargs):
        cnnkit.predict_classes(model, str(root), batch_size=batch_size, **kwargs)
        return capsys.readouterr().out

    assert "11/11" in shown(verbose=1) and "file" in shown(verbose=1)
    assert shown(verbose=2).strip().startswith("11/11") and "\r" not in shown(verbose=2)
    assert shown(verbose=0) == "" and shown() == ""  # "auto" under pytest: not a terminal
    monkeypatch.setattr("cnnkit.engine.progress_verbosity", lambda verbose="auto": 1)  # a terminal
    assert "11/11" in shown()
    assert shown(batch_size=256) == ""  # one batch: no bar
    with pytest.raises(ValueError, match=r"predict_classes\(\): `verbose` must be one of"):
        cnnkit.predict_classes(model, str(root), verbose=True)
    with pytest.raises(TypeError, match=r"`skip_unreadable`"):
        cnnkit.predict_classes(model, str(root), skip_unreadable=1)


# --- the command line ----------------------------------------------------------------------------

def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cnnkit", "predict", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    keras.utils.set_random_seed(0)
    m = cnnkit.simple_cnn((*SIZE, 3), blocks=1, filters=4, units=8, num_classes=3)
    path = tmp_path_factory.mktemp("model") / "m.keras"
    cnnkit.save_model(m, path, class_names=["cat", "dog", "owl"])
    return path


def test_cli_writes_a_csv_of_a_folder(saved, photos, tmp_path):
    root, files = photos
    out = tmp_path / "predictions.csv"
    p = cli(saved, root, "--output", out, "--batch-size", "4")
    assert p.returncode == 0, p.stderr
    assert f"11 file(s) predicted -> {out}" in p.stdout
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "class_id", "label", "probability", "p_cat", "p_dog", "p_owl"]
    assert [r["file"] for r in rows] == files
    for r in rows:
        probs = [float(r[c]) for c in ("p_cat", "p_dog", "p_owl")]
        assert abs(sum(probs) - 1) < 1e-5 and int(r["class_id"]) == int(np.argmax(probs))
        assert r["label"] == ["cat", "dog", "owl"][int(r["class_id"])] and float(r["probability"]) == max(probs)
    printed = cli(saved, root / "a", files[-1])  # without --output: one line per file
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == [f for f in files if "/a/" in f] + [files[-1]]


def test_cli_writes_no_partial_csv_on_an_error_or_an_interrupt(saved, photos, tmp_path, monkeypatch, capsys):
    root, files = photos
    out = tmp_path / "predictions.csv"
    out.write_text("an older file\n")
    (root / "b" / "notes.txt").write_text("not an image")
    p = cli(saved, root, "--output", out)
    assert p.returncode == 2 and "notes.txt" in p.stderr and "--skip-unreadable" in p.stderr, p.stderr
    assert "skip_unreadable=True" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert out.read_text() == "an older file\n" and sorted(x.name for x in tmp_path.iterdir()) == ["photos", "predictions.csv"]
    p = cli(saved, root, "--output", tmp_path / "out.txt")
    assert p.returncode == 2 and "predict(): `--output` must end in .csv" in p.stderr, p.stderr
    p = cli(saved, root, "--output", out, "--skip-unreadable")
    assert p.returncode == 0 and "(1 skipped)" in p.stdout and "skipped 1 of 12" in p.stderr, p.stderr
    assert len(out.read_text().splitlines()) == 12

    from cnnkit.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "predict_classes", interrupted)
    assert main(["predict", str(saved), str(root), "--output", str(tmp_path / "new.csv")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "new.csv was not written" in err and "--run-dir" not in err
    assert not (tmp_path / "new.csv").exists()


# --- top_losses on an image folder's dataset ----------------------------------------------------

def test_top_losses_on_an_image_folder_names_files_and_is_stable(model, tmp_path):
    root = tmp_path / "classes"
    write_images(root, [f"{c}/{i}.png" for c in ("a", "b", "c") for i in range(6)])
    d = cnnkit.image_folder(root, image_size=SIZE, batch_size=4, validation_split=0.25, seed=3)
    train = d["train"]
    assert getattr(train, "files", None) is not None and getattr(train, "labels", None) is not None
    first = cnnkit.top_losses(model, train, k=5)
    assert cnnkit.top_losses(model, train, k=5) == first  # the dataset shuffles; top_losses does not
    files = sorted(train.files, key=Path)
    assert all(r["file"] in files and r["index"] == files.index(r["file"]) for r in first)
    labels = dict(zip(map(str, train.files), np.asarray(train.labels).tolist()))
    p = cnnkit.predict_classes(model, cnnkit.load_images(files, SIZE), precision="float32")["probabilities"]
    y = np.array([labels[f] for f in files])
    loss = -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1))
    assert [r["index"] for r in first] == list(np.argsort(-loss, kind="stable")[:5])
    assert all(r["true_id"] == labels[r["file"]] for r in first)
    np.testing.assert_allclose([r["loss"] for r in first], loss[[r["index"] for r in first]], rtol=1e-4)
    fig = cnnkit.plot_top_losses(model, train, k=3)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.splitlines()[0] for t in titles] == [Path(r["file"]).name for r in first[:3]]
