"""Labels from a table (issue 24, item 6): image_table() -- a CSV file, a dict of columns, a list of
rows or a pandas-like data frame of files and labels -- gives what image_folder() gives, through the
same engine (checks, subset, split, skip warning, fingerprint); and `cnnkit train --labels` / `--data`
on split folders, through the command line."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import cnnkit
from conftest import ROOT


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """``photos/<class>/img_<i>.png``: real Fashion-MNIST images (5 bags, 5 sneakers, 2 dresses)."""
    base = tmp_path_factory.mktemp("table")
    cnnkit.example_image_folder(base / "photos", classes=["Bag", "Sneaker"], n=5)
    cnnkit.example_image_folder(base / "more", classes=["Dress", "Bag"], n=2)
    shutil.move(base / "more" / "dress", base / "photos" / "dress")
    return base / "photos"


def rows_of(root: Path) -> list[tuple[str, str]]:
    return sorted((str(p.relative_to(root)), p.parent.name) for p in root.glob("*/*.png"))


def table(source, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = cnnkit.image_table(source, image_size=16, color_mode="grayscale", batch_size=4, **kw)
    msgs = [str(w.message) for w in caught if "skipped" in str(w.message)]
    return d, (msgs[0] if msgs else "")


def write_csv(file: Path, rows, header=("file", "label"), bom=False) -> Path:
    with open(file, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return file


def test_a_table_reads_as_its_folder_does(photos):
    rows = rows_of(photos)
    d, msg = table({"file": [f for f, _ in rows], "label": [y for _, y in rows]}, path=photos)
    f = cnnkit.image_folder(photos, image_size=16, color_mode="grayscale", batch_size=4)
    assert msg == "" and d["class_names"] == f["class_names"] == ["bag", "dress", "sneaker"]
    assert d["num_train"] == f["num_train"] == 12 and d["test"] is None and d["num_test"] == 0
    # one engine: the same files with the same labels, the same fingerprint
    assert sorted(zip(d["train"].files, d["train"].labels)) == sorted(zip(f["train"].files, f["train"].labels))
    assert d["train"].fingerprint == f["train"].fingerprint
    x, y = next(iter(d["train"]))
    assert tuple(x.shape) == (4, 16, 16, 1) and d["train"].class_names == d["class_names"]


def test_a_csv_file_relative_to_its_folder_or_to_path(photos, tmp_path):
    rows = rows_of(photos)
    beside = write_csv(photos.parent / "labels.csv", [(f"photos/{f}", y) for f, y in rows], bom=True)
    d, _ = table(beside)  # relative to the CSV's folder (a BOM from Excel is fine)
    assert d["num_train"] == 12 and d["class_names"] == ["bag", "dress", "sneaker"]
    elsewhere = write_csv(tmp_path / "labels.csv", rows)
    d, _ = table(elsewhere, path=photos)  # relative to path
    assert d["num_train"] == 12
    absolute = write_csv(tmp_path / "abs.csv", [(str(photos / f), y) for f, y in rows])
    assert table(absolute, path=tmp_path)[0]["num_train"] == 12
    with pytest.raises(ValueError, match=r"image_table\(\): `table` '.*nowhere.csv' is not a CSV file"):
        table(tmp_path / "nowhere.csv")


def test_rows_that_cannot_be_used_are_counted(photos, tmp_path):
    rows = rows_of(photos)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes((photos / rows[0][0]).read_bytes()[:60])
    extra = [("gone.png", "bag"), ("", "bag"), (rows[1][0], ""), (rows[2][0], rows[2][1]),
             (str(tmp_path / "notes.txt"), "bag"), (str(tmp_path / "broken.png"), "bag")]
    d, msg = table(write_csv(tmp_path / "t.csv", rows[1:] + extra), path=photos)
    assert d["num_train"] == 11  # the 11 good rows
    assert "skipped 6 file(s)" in msg
    for part in ("1 not an image: notes.txt", "1 unreadable: broken.png", "1 listed but not found: gone.png",
                 "1 without a label", "1 without a file name: row 13", "1 listed more than once"):
        assert part in msg, (part, msg)
    with pytest.raises(ValueError, match=r"lists the file .* twice, with labels 'bag' and 'dress'"):
        table({"file": [rows[0][0], rows[0][0]], "label": ["bag", "dress"]}, path=photos)


def test_columns_by_name_with_an_error_that_lists_them(photos):
    rows = rows_of(photos)
    t = {"path": [f for f, _ in rows], "y": [c for _, c in rows]}
    with pytest.raises(ValueError, match=r"`file_column` 'file' is not a column of `table`; its columns are "
                                         r"\['path', 'y'\]"):
        table(t, path=photos)
    assert table(t, path=photos, file_column="path", label_column="y")[0]["num_train"] == 12
    with pytest.raises(TypeError, match="`table` must be a CSV file"):
        table(42)
    with pytest.raises(ValueError, match="columns of `table` have different lengths"):
        table({"file": ["a.png"], "label": ["x", "y"]})


def test_class_order_sorted_numbers_and_given(photos):
    rows = rows_of(photos)
    files = [f for f, _ in rows]
    ids = {"bag": 10, "dress": 2, "sneaker": 1}
    d, _ = table({"file": files, "label": [ids[c] for _, c in rows]}, path=photos)
    assert d["class_names"] == ["1", "2", "10"]  # whole numbers sort as numbers
    d, _ = table({"file": files, "label": [c for _, c in rows]}, path=photos,
                 class_names=["sneaker", "bag", "dress"])
    assert d["class_names"] == ["sneaker", "bag", "dress"]
    counts = np.bincount(np.concatenate([y.numpy() for _, y in d["train"]]))
    assert counts.tolist() == [5, 5, 2]  # ids follow the order given
    with pytest.raises(ValueError, match=r"label\(s\) \['dress'\] of `label_column` 'label' are not in `class_names`"):
        table({"file": files, "label": [c for _, c in rows]}, path=photos, class_names=["bag", "sneaker"])
    with pytest.raises(ValueError, match=r"class\(es\) \['boot'\] of `table` hold no readable images"):
        table({"file": files, "label": [c for _, c in rows]}, path=photos, class_names=["bag", "boot", "dress", "sneaker"])
    with pytest.raises(ValueError, match=r"one class only \('bag'\)"):
        table({"file": files[:5], "label": ["bag"] * 5}, path=photos)
    with pytest.raises(TypeError, match="must be text or whole numbers"):
        table({"file": files, "label": [True] * len(files)}, path=photos)


class FakeFrame:
    """What image_table() uses of a pandas DataFrame (pandas is not a cnnkit dependency)."""

    class Column(list):
        def __init__(self, values, categories=None):
            super().__init__(values)
            if categories is not None:
                self.cat = type("Cat", (), {"categories": categories})()

        def tolist(self):
            return list(self)

    def __init__(self, **columns):
        self._columns = columns
        self.columns = list(columns)

    def __getitem__(self, key):
        return self._columns[key]


def test_a_list_of_rows_and_a_data_frame(photos):
    rows = rows_of(photos)
    d, _ = table([{"file": f, "label": c} for f, c in rows], path=photos)
    assert d["num_train"] == 12
    frame = FakeFrame(file=FakeFrame.Column([f for f, _ in rows]),
                      label=FakeFrame.Column([c for _, c in rows], categories=["sneaker", "dress", "bag"]))
    d, _ = table(frame, path=photos)
    assert d["class_names"] == ["sneaker", "dress", "bag"]  # a categorical's categories are the class order


def test_subset_and_validation_split_of_a_table(photos):
    rows = rows_of(photos)
    t = {"file": [f for f, _ in rows], "label": [c for _, c in rows]}
    d, _ = table(t, path=photos, subset=6, validation_split=0.5, seed=2)
    assert (d["num_train"], d["num_validation"]) == (3, 3)
    labels = sorted(d["train"].labels + d["validation"].labels)
    assert labels == [0, 0, 0, 1, 2, 2]  # 5:2:5 of 12 -> 3:1:2 of 6 (largest remainders), every class kept


# --- through the command line ------------------------------------------------------------------------

def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnkit", *args], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)


def test_cli_trains_from_a_csv_relative_to_it_or_to_data(photos, tmp_path):
    rows = rows_of(photos)
    csv_file = write_csv(tmp_path / "labels.csv", [(str(Path("photos") / f), c) for f, c in rows[:10]])
    shutil.copytree(photos, tmp_path / "photos")
    p = cli("train", "--labels", str(csv_file), "--model", "simple_cnn", "--epochs", "1", "--image-size", "16",
            "--run-dir", str(tmp_path / "run"), "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(2 images)" in p.stdout  # 20 % of the 10 rows held out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_test"] == 2 and metrics["data"].startswith("image table")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["job"]["settings"]["labels"] == str(csv_file)
    # --data: the root of the CSV's relative names (these are relative to photos/, not to the CSV)
    bare = write_csv(tmp_path / "bare.csv", rows)
    p = cli("train", "--labels", str(bare), "--data", str(photos), "--model", "simple_cnn", "--epochs", "1",
            "--image-size", "16", "--subset", "10", "--run-dir", str(tmp_path / "run2"), "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(2 images)" in p.stdout  # --subset 10 of the 12 rows, then 20 % held out
    p = cli("train", "--labels", str(tmp_path / "none.csv"), "--model", "simple_cnn", "--epochs", "1")
    assert p.returncode == 2 and "`labels`" in p.stderr and "Traceback" not in p.stderr


def test_cli_tests_on_the_test_folder(photos, tmp_path):
    split = tmp_path / "split"
    for name, part in (("train", slice(0, 3)), ("test", slice(3, 5))):
        for cls in ("bag", "sneaker"):
            (split / name / cls).mkdir(parents=True)
            for f in sorted((photos / cls).glob("*.png"))[part]:
                shutil.copy(f, split / name / cls / f.name)
    p = cli("train", "--data", str(split), "--model", "simple_cnn", "--epochs", "1", "--image-size", "16",
            "--run-dir", str(tmp_path / "run"), "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(4 images)" in p.stdout  # the 4 images of test/, not 20 % of train/
    p = cli("evaluate", str(tmp_path / "run" / "model.keras"), "--data", str(split))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(4 images)" in p.stdout  # evaluate: test/ as well
