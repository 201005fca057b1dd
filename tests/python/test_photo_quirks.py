"""Photos as they come from phones and editors (tests/spec/photo_quirks.py): every variant of one
picture -- EXIF-turned copies in all 8 orientations, 16-bit PNG and TIFF, palettes with and without
a transparent colour, RGBA hiding a colour under its transparent pixels, grey + alpha, CMYK JPEG,
WebP, TIFF, progressive JPEG, an animated GIF -- gives the pixels a viewer shows, on every path:
read_image, load_images, image_folder()'s pipeline, predict_classes, classify_image and the command
line in a new process. The last tests check that these checks fail for a reader that ignores the
EXIF orientation, clips 16-bit values or shows the hidden colour."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import cnnkit
from cnnkit import _images
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "spec"))
import photo_quirks as Q

SIZE = (24, 32)  # the size the pipeline, load_images and the small model read at (a resize)
CLASSIFIED = ("png", "jpeg_exif_6", "png16_rgb", "jpeg_cmyk", "webp_exif_8")  # at 224 x 224: a few only


@pytest.fixture(scope="module")
def quirks(tmp_path_factory):
    return Q.make(tmp_path_factory.mktemp("quirks"))


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A softmax classifier linear in the pixels of SIZE (random weights), and its saved file."""
    path = Q.linear_model(tmp_path_factory.mktemp("model") / "quirks.keras", SIZE)
    return cnnkit.load_model(path), path


def grey_of(reference: np.ndarray) -> np.ndarray:
    return Q.luma(reference * 255)[..., None].astype(np.float32) / 255


# --- the reader -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", Q.NAMES)
def test_read_image_gives_what_a_viewer_shows(quirks, name):
    m = quirks[name]
    rgb = _images.read_image(m["path"], channels=3, scale=1)
    assert Q.within(rgb, m["reference"], m["lossy"]), f"{name}: {Q.difference(rgb, m['reference'])}"
    grey = _images.read_image(m["path"], channels=1, scale=1)  # the luma of that RGB
    assert Q.within(grey, grey_of(m["reference"]), m["lossy"]), f"{name}: {Q.difference(grey, grey_of(m['reference']))}"


def test_load_images_reads_every_variant_as_its_viewer_image(quirks):
    """At a size (a resize), each variant within its tolerance of what a viewer shows of it,
    written as a plain RGB PNG and resized the same way."""
    files = [quirks[n]["path"] for n in Q.NAMES]
    for color_mode in ("rgb", "grayscale"):
        x = cnnkit.load_images(files, SIZE, color_mode)
        ref = cnnkit.load_images(Q.shown(quirks), SIZE, color_mode)
        bad = {n: Q.difference(x[i], ref[i]) for i, n in enumerate(Q.NAMES) if not Q.within(x[i], ref[i], quirks[n]["lossy"])}
        assert not bad, (color_mode, bad)


def test_jpeg_draft_decoding_stays_close_to_the_full_decoding(tmp_path):
    """A photo much larger than the size asked for is decoded at a reduced DCT scale (JPEG draft
    mode); the result stays within a level of decoding every pixel, turned photos included."""
    from PIL import Image

    big = np.asarray(Image.fromarray(Q.picture()).resize((1024, 768), Image.Resampling.BICUBIC))
    made = Q.make(tmp_path, names=["jpeg", "jpeg_exif_6"], base=big)
    for name, m in made.items():
        fast = _images.decode_file(m["path"], 3, (48, 64)).astype(float)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_images, "JPEG_DRAFT", False)
            full = _images.decode_file(m["path"], 3, (48, 64)).astype(float)
        assert np.abs(fast - full).mean() < 1.0, (name, np.abs(fast - full).mean())
        with Image.open(m["path"]) as img:  # draft mode was taken: 1/4 scale still leaves 2 x the size
            assert img.draft(None, (256, 192)) is not None


# --- image_folder(): the pipeline and its decoding check ---------------------------------------------

def test_image_folder_pipeline_gives_the_pixels_load_images_gives(quirks, tmp_path):
    root = tmp_path / "photos"
    for split in ("train", "test"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
            shutil.copy(quirks["png"]["path"], root / split / cls / "base.png")
    for n in Q.NAMES:  # every variant in test/a, which the pipeline reads in order (no shuffle)
        shutil.copy(quirks[n]["path"], root / "test" / "a" / os.path.basename(quirks[n]["path"]))
    for color_mode in ("rgb", "grayscale"):
        d = cnnkit.image_folder(root, image_size=SIZE, color_mode=color_mode, batch_size=8)
        assert d["skipped"] == [] and d["num_test"] == len(Q.NAMES) + 2  # WebP, TIFF, 16-bit: all kept
        x = np.concatenate([b[0].numpy() for b in d["test"]])
        assert x.dtype == np.float32 and x.shape == (len(Q.NAMES) + 2, *SIZE, 1 if color_mode == "grayscale" else 3)
        loaded = cnnkit.load_images(d["test"].files, SIZE, color_mode)
        assert np.abs(x - loaded).max() < 1e-6  # the same decoder: the same pixels
        names = {os.path.basename(quirks[n]["path"]): n for n in Q.NAMES}
        kept = [(names[os.path.basename(f)], xi) for f, xi in zip(d["test"].files, x) if os.path.basename(f) in names]
        ref = cnnkit.load_images(Q.shown(quirks, [n for n, _ in kept]), SIZE, color_mode)
        bad = {n: Q.difference(xi, r) for (n, xi), r in zip(kept, ref) if not Q.within(xi, r, quirks[n]["lossy"])}
        assert len(kept) == len(Q.NAMES) and not bad, bad


def test_image_folder_skips_what_does_not_decode_with_the_same_decoder(quirks, tmp_path):
    """The scan-time check decodes with decode_file: a truncated WebP or TIFF is skipped, counted."""
    root = tmp_path / "photos"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        shutil.copy(quirks["webp"]["path"], root / cls / "good.webp")
        shutil.copy(quirks["tiff"]["path"], root / cls / "good.tif")
    data = open(quirks["tiff"]["path"], "rb").read()
    (root / "a" / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\).*unreadable"):
        d = cnnkit.image_folder(root, image_size=SIZE, batch_size=8)
    assert d["num_train"] == 4 and [os.path.basename(p) for p in d["skipped"]] == ["cut.tif"]


# --- predictions: predict_classes, classify_image, the command line -----------------------------

def test_predict_classes_gives_every_variant_the_probabilities_of_the_png(quirks, small_model):
    model, _ = small_model
    p = cnnkit.predict_classes(model, [quirks[n]["path"] for n in Q.NAMES], verbose=0)["probabilities"]
    ref = cnnkit.predict_classes(model, Q.shown(quirks), verbose=0)["probabilities"]
    far = {n: round(float(np.abs(p[i] - ref[i]).max()), 4) for i, n in enumerate(Q.NAMES)
           if np.abs(p[i] - ref[i]).max() > (0.03 if quirks[n]["lossy"] else 0.01)}
    assert not far, far
    base = ref[Q.NAMES.index("png")]
    flipped = cnnkit.predict_classes(model, np.asarray(cnnkit.load_images(quirks["png"]["path"], SIZE))[:, ::-1],
                                     verbose=0)["probabilities"][0]
    assert np.abs(flipped - base).max() > 0.1  # the model does tell a mirrored picture apart


@pytest.fixture(scope="module")
def classified(tmp_path_factory):
    """The CLASSIFIED variants of a real photo (an espresso cup), 96 x 128, and classify_image()'s
    top 3 of each: ``(variants, {path: rows})``."""
    made = Q.make(tmp_path_factory.mktemp("photo"), names=CLASSIFIED, base=Q.photo())
    files = [made[n]["path"] for n in CLASSIFIED]
    rows = cnnkit.classify_image(files, top=3)
    return made, {f: [r for r in rows if r["image"] == f] for f in files}


def test_classify_image_gives_every_variant_the_class_of_the_png(classified):
    made, by_file = classified
    base = by_file[made["png"]["path"]]
    assert base[0]["class_name"] == "espresso"
    for name in CLASSIFIED:
        top = by_file[made[name]["path"]][0]
        assert top["class_id"] == base[0]["class_id"], (name, top)
        # JPEG's losses move a probability by up to ~0.04 on this photo; lossless copies by < 0.002
        assert abs(top["probability"] - base[0]["probability"]) < (0.06 if made[name]["lossy"] else 0.01), (name, top)


def _cli(*argv: str, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cnnkit", *argv], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_classify_in_a_new_process(classified, tmp_path):
    """`cnnkit classify` prints, for each variant, the class and probability classify_image() gave here."""
    made, by_file = classified
    files = [made[n]["path"] for n in CLASSIFIED]
    out = _cli("classify", "--top", "1", *files, cwd=tmp_path).stdout
    tops = [line.split() for line in out.splitlines() if line.split()[:1] == ["1"]]
    assert len(tops) == len(files), out
    for f, t in zip(files, tops):
        assert int(t[1]) == by_file[f][0]["class_id"] and " ".join(t[3:-1]) == by_file[f][0]["class_name"], out
        assert abs(float(t[-1].rstrip("%")) / 100 - by_file[f][0]["probability"]) < 0.0006, out


def test_cli_predict_in_a_new_process(quirks, small_model, tmp_path):
    model, path = small_model
    names = ["png", "jpeg_exif_3", "jpeg_exif_8", "png16_grey", "tiff", "webp", "gif_animated"]
    files = [quirks[n]["path"] for n in names]
    _cli("predict", path, *files, "--output", str(tmp_path / "p.csv"), cwd=tmp_path)
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == files
    got = np.asarray([[float(r[f"p_{c}"]) for c in "abc"] for r in rows])
    here = cnnkit.predict_classes(model, files, verbose=0)["probabilities"]
    assert np.abs(got - here).max() < 1e-4  # the new process reads the files as this one does
    assert np.abs(got[names.index("png16_grey")] - here[names.index("png16_grey")]).max() < 1e-4


# --- the checks can fail ----------------------------------------------------------------------------

def test_the_checks_fail_for_the_old_mistakes(quirks, monkeypatch):
    """A reader that ignores the EXIF orientation, clips 16-bit values (Pillow's convert) or shows
    the colour hidden under transparent pixels fails the checks above."""
    def read(name):
        return _images.read_image(quirks[name]["path"], channels=3, scale=1)

    def fails(name):
        return not Q.within(read(name), quirks[name]["reference"], quirks[name]["lossy"])

    with monkeypatch.context() as mp:  # no EXIF orientation (Pillow itself turns a TIFF as it loads it)
        mp.setattr(_images, "_upright", lambda img, orientation: img)
        assert all(fails(n) for n in [f"jpeg_exif_{o}" for o in range(2, 9)] + ["png_exif_6", "webp_exif_8", "mpo_exif_6"])
        assert not fails("jpeg_exif_1")
    with monkeypatch.context() as mp:  # Pillow's own conversion: 16 bits clipped, alpha dropped
        mp.setattr(_images, "_flattened", lambda img: img.convert("RGB"))
        assert fails("png16_grey") and fails("tiff16_grey") and fails("rgba") and fails("palette_transparent")
        assert fails("grey_alpha") and fails("png16_rgba")
    with monkeypatch.context() as mp:  # a black background
        mp.setattr(_images, "BACKGROUND", (0, 0, 0))
        assert fails("rgba") and fails("grey_alpha")


def test_tensorflow_decoder_would_fail_them(quirks):
    """Why there is one decoder: TensorFlow's reads a turned JPEG as stored and shows the hidden colour."""
    import tensorflow as tf

    def tf_read(name):
        data = open(quirks[name]["path"], "rb").read()
        return tf.io.decode_image(data, channels=3, expand_animations=False).numpy().astype(np.float32) / 255

    assert not Q.within(tf_read("jpeg_exif_6"), quirks["jpeg_exif_6"]["reference"], True)
    assert not Q.within(tf_read("rgba"), quirks["rgba"]["reference"], False)
