"""Crafted files for the fuzz suite (tests/spec/fuzz_files.json), shared by pytest and testthat.

``make(kind, folder)`` writes one crafted file (or folder, link, pipe) named after its kind and
returns ``{"path": ..., "reference": ...}``; ``reference`` is the image a correct reader must give
(float32 ``(h, w, 3)`` in [0, 1]) for the files that are images, else ``None``. Every file is
generated here, from bytes or from small models, so nothing is downloaded or kept in the repository.
The bombs are real: decoded, the 21 KB PNG is 13,000 x 13,000 pixels; the zip bomb inflates to
200 MB; the HDF5 and config bombs declare gigabytes.

pytest imports this module; testthat loads it with ``reticulate::import_from_path()``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

SIDE = (12, 16)  # (height, width) of the small reference images


# --- images ------------------------------------------------------------------------------------

def reference_rgb() -> np.ndarray:
    """A 12 x 16 RGB image of 8 colours (uint8): palettes, GIF and BMP keep it exactly."""
    y, x = np.mgrid[0:SIDE[0], 0:SIDE[1]]
    return np.stack([(x // 4 % 2) * 255, (y // 4 % 2) * 200, ((x + y) // 6 % 2) * 120], -1).astype(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A real 1-bit grayscale PNG of ``width`` x ``height`` black pixels, compressed ~1000:1."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * 1000) for _ in range(height // 1000))
    idat += z.compress(row * (height % 1000)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _pil_bytes(img, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A small baseline JPEG whose frame header (SOF0) is patched to declare ``width`` x ``height``."""
    from PIL import Image

    data = bytearray(_pil_bytes(Image.fromarray(reference_rgb()), "JPEG"))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _bmp_declaring(width: int, height: int) -> bytes:
    """A 24-bit BMP header declaring ``width`` x ``height`` followed by 64 bytes of pixels."""
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 64, 0, 0, 54) + header + b"\x00" * 64


def _gif_frame_declaring(width: int, height: int) -> bytes:
    """A GIF with a 10 x 10 screen whose first frame declares ``width`` x ``height``."""
    out = b"GIF89a" + struct.pack("<HH", 10, 10) + bytes([0x80, 0, 0]) + b"\x00\x00\x00\xff\xff\xff"
    out += b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00" + b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"


def _image_bytes(kind: str) -> tuple[bytes, np.ndarray | None]:
    """The bytes of an image kind and the RGB image a correct reader gives (None: not an image)."""
    from PIL import Image

    rgb = reference_rgb()
    img = Image.fromarray(rgb)
    gray = np.asarray(img.convert("L"))
    as3 = lambda a: np.repeat(a[..., None], 3, axis=-1)  # noqa: E731
    frames = [img, Image.fromarray(255 - rgb), Image.fromarray(np.roll(rgb, 3, axis=1))]
    table = {
        "png_rgb": lambda: (_pil_bytes(img, "PNG"), rgb),
        "png_16bit": lambda: (_pil_bytes(Image.fromarray(gray.astype(np.uint16) * 257), "PNG"), as3(gray)),
        "png_palette": lambda: (_pil_bytes(img.convert("P", palette=Image.ADAPTIVE, colors=8), "PNG"), rgb),
        "png_gray_alpha": lambda: (_pil_bytes(img.convert("LA"), "PNG"), as3(gray)),
        "png_as_jpg": lambda: (_pil_bytes(img, "PNG"), rgb),
        "jpeg_progressive": lambda: (_pil_bytes(img, "JPEG", quality=95, progressive=True), rgb),
        "jpeg_cmyk": lambda: (_pil_bytes(img.convert("CMYK"), "JPEG", quality=95), rgb),
        "gif_animated": lambda: (_pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:]), rgb),
        "bmp_rgb": lambda: (_pil_bytes(img, "BMP"), rgb),
        "bmp_gray": lambda: (_pil_bytes(img.convert("L"), "BMP"), as3(gray)),
        "bmp_palette": lambda: (_pil_bytes(img.convert("P", palette=Image.ADAPTIVE, colors=8), "BMP"), rgb),
        "bmp_1bit": lambda: (_pil_bytes(img.convert("1"), "BMP"), np.asarray(img.convert("1").convert("RGB"))),
        "tiff_float": lambda: (_pil_bytes(Image.fromarray(gray.astype(np.float32) / 255), "TIFF"), None),
        "webp_as_png": lambda: (_pil_bytes(img, "WEBP", lossless=True), rgb),
        "png_truncated": lambda: (_pil_bytes(img, "PNG")[:60], None),
        "jpeg_truncated": lambda: (_pil_bytes(img, "JPEG")[:-200], None),
        "text_as_png": lambda: (b"name,label\nshoe.png,Sneaker\n", None),
        "text_as_jpg": lambda: (b"<html><body>404 Not Found</body></html>\n", None),
        "zero_png": lambda: (b"", None),
        "png_13000": lambda: (png_declaring(13000, 13000), None),
        "png_bomb": lambda: (png_declaring(30000, 30000), None),
        "jpeg_declaring_9000": lambda: (_jpeg_declaring(9000, 9000), None),
        "bmp_declaring_10000": lambda: (_bmp_declaring(10000, 10000), None),
        "gif_frame_9000": lambda: (_gif_frame_declaring(9000, 9000), None),
        "png_trailing_data": lambda: (_pil_bytes(img, "PNG") + b"\x00" * 200_000, rgb),
    }
    data, ref = table[kind]()
    if kind.startswith("jpeg_") and ref is not None:  # lossy: the reference is Pillow's decoding (libjpeg)
        ref = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return data, None if ref is None else ref.astype(np.float32) / 255


IMAGE_NAMES = {"png_as_jpg": "photo.jpg", "jpeg_progressive": "progressive.jpg", "jpeg_cmyk": "cmyk.jpg",
               "jpeg_truncated": "truncated.jpg", "text_as_jpg": "page.jpg", "jpeg_declaring_9000": "huge.jpg",
               "gif_animated": "animated.gif", "gif_frame_9000": "huge.gif", "bmp_palette": "palette.bmp",
               "bmp_rgb": "rgb.bmp", "bmp_gray": "gray.bmp",
               "bmp_1bit": "onebit.bmp", "bmp_declaring_10000": "huge.bmp",
               "tiff_float": "float.tif"}


# --- models and weights ------------------------------------------------------------------------

def good_model(folder: str | os.PathLike) -> Path:
    """A small saved classifier (16 x 16 x 3 in, 2 classes, class names stored); made once per folder."""
    path = Path(folder) / "good.keras"
    Path(folder).mkdir(parents=True, exist_ok=True)
    if not path.exists():
        import cnnkit

        model = cnnkit.simple_cnn((16, 16, 3), blocks=1, filters=4, units=None, num_classes=2)
        cnnkit.save_model(model, path, class_names=["cat", "dog"])
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _h5_fill_bomb(path: Path | io.BytesIO, dataset: str, nbytes: int) -> None:
    """An HDF5 file with one float32 dataset declaring ``nbytes`` but storing nothing (a fill value)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset(dataset, shape=(nbytes // 4,), dtype="float32", chunks=(1 << 20,), fillvalue=0.0)


def _config_bomb(config: dict, units: int) -> dict:
    """The config with its output layer widened to ``units`` (its kernel: inputs x units floats)."""
    layers = config["config"]["layers"]
    last = next(layer for layer in reversed(layers) if layer["class_name"] == "Dense")
    last["config"]["units"] = units
    return config


def _keras_declaring(path: Path, good: Path, sizes: dict[str, int]) -> None:
    """The good model's zip with its central directory forged: members declare ``sizes``, stored and
    uncompressed alike (a believable ratio; only their sum gives them away)."""
    data = bytearray(good.read_bytes())
    i = data.find(b"PK\x01\x02")  # central directory entries
    while i >= 0:
        name_len = struct.unpack("<H", data[i + 28:i + 30])[0]
        name = data[i + 46:i + 46 + name_len].decode()
        if name in sizes:
            data[i + 20:i + 28] = struct.pack("<II", sizes[name], sizes[name])  # compressed, uncompressed
        i = data.find(b"PK\x01\x02", i + 4)
    path.write_bytes(bytes(data))


def _model_file(kind: str, folder: Path) -> Path:
    good = good_model(folder)
    path = folder / f"{kind}.keras"
    members = _members(good)
    if kind == "keras_truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "keras_corrupt":  # bytes flipped inside the weights, the zip directory intact
        data = bytearray(good.read_bytes())
        start = data.index(b"\x89HDF")
        data[start + 512:start + 4096] = bytes(3584)
        path.write_bytes(bytes(data))
    elif kind == "keras_text":
        path.write_text("this is not a model\n")
    elif kind == "keras_zero":
        path.write_bytes(b"")
    elif kind == "keras_png":
        path.write_bytes(_image_bytes("png_rgb")[0])
    elif kind == "keras_not_model":
        _zip(path, {"readme.txt": b"holiday photos", "photo.png": _image_bytes("png_rgb")[0]})
    elif kind == "keras_unknown_class":
        config = json.loads(members["config.json"])
        next(lay for lay in config["config"]["layers"] if lay["class_name"] == "Dense")["class_name"] = "NoSuchLayer"
        _zip(path, dict(members, **{"config.json": json.dumps(config).encode()}))
    elif kind == "keras_lambda":
        import keras

        inputs = keras.Input((16, 16, 3))
        model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
        model.save(path)
    elif kind == "keras_zip_bomb":  # 200 MB of zeros deflated to ~200 KB as the weights member
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.writestr("config.json", members["config.json"])
            z.writestr("metadata.json", members["metadata.json"])
            with z.open("model.weights.h5", "w", force_zip64=True) as f:
                for _ in range(200):
                    f.write(bytes(1 << 20))
    elif kind == "keras_declaring_huge":  # a forged directory: 4.2 GB of weights, 0.2 GB of metadata
        _keras_declaring(path, good, {"model.weights.h5": 4_200_000_000, "metadata.json": 200_000_000})
    elif kind == "keras_h5_bomb":  # weights whose first kernel declares 2 GiB (a fill value, nothing stored)
        h5 = io.BytesIO()
        _h5_fill_bomb(h5, "layers/conv2d/vars/0", 2 << 30)
        _zip(path, dict(members, **{"model.weights.h5": h5.getvalue()}))
    elif kind == "keras_config_bomb":  # the output layer widened to 10^9 units: 20 GB of variables
        config = _config_bomb(json.loads(members["config.json"]), 1_000_000_000)
        _zip(path, dict(members, **{"config.json": json.dumps(config).encode()}))
    elif kind == "keras_folder":
        path.mkdir()
    elif kind == "keras_good":
        shutil.copy(good, path)
    elif kind == "keras_deflated":  # the good model re-zipped with DEFLATE (as zip tools do): it must load
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
    else:
        raise KeyError(kind)
    return path


def _weights_file(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.weights.h5"
    if kind in ("h5_truncated", "h5_corrupt"):
        import cnnkit

        good = folder / "good.weights.h5"
        if not good.exists():
            cnnkit.simple_cnn((16, 16, 3), blocks=1, filters=4, units=None, num_classes=2).save_weights(good)
        data = bytearray(good.read_bytes())
        if kind == "h5_truncated":
            data = data[: len(data) // 2]
        else:
            data[96:2048] = b"\xff" * (2048 - 96)
        path.write_bytes(bytes(data))
    elif kind == "h5_text":
        path.write_text("weights: none\n")
    elif kind == "h5_zero":
        path.write_bytes(b"")
    elif kind == "h5_png":
        path.write_bytes(_image_bytes("png_rgb")[0])
    elif kind == "h5_fill_bomb":
        _h5_fill_bomb(path, "vars/0", 2 << 30)
    elif kind == "h5_folder":
        path.mkdir()
    elif kind == "h5_mobilenet_v2":  # real weights of the backbone the cases ask for: they must load
        import cnnkit

        cnnkit.backbone("mobilenet_v2", (32, 32, 3), weights=None).save_weights(path)
    else:
        raise KeyError(kind)
    return path


def _pth_file(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.pth"
    if kind == "pth_text":
        path.write_text("not a state dict\n")
    elif kind == "pth_zero":
        path.write_bytes(b"")
    elif kind == "pth_zip_bomb":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            with z.open("archive/data.pkl", "w", force_zip64=True) as f:
                for _ in range(50):
                    f.write(bytes(1 << 20))
    else:
        raise KeyError(kind)
    return path


# --- Fashion-MNIST files -----------------------------------------------------------------------

IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _idx_folder(kind: str, folder: Path) -> Path:
    """A folder of the four Fashion-MNIST files, three fine and the training images crafted."""
    import gzip

    path = folder / kind
    path.mkdir()
    for split in ("train", "t10k"):
        images = np.zeros((5, 28, 28), np.uint8)
        (path / f"{split}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in images.shape) + images.tobytes()))
        (path / f"{split}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes(range(5))))
    target = path / IDX_FILES[0]
    if kind == "idx_bomb":  # declares 100,000 x 100,000 x 100 bytes; 1 MB of zeros follow
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        body = z.compress(bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (100_000, 100_000, 100)))
        target.write_bytes(body + z.compress(bytes(1 << 20)) + z.flush())
    elif kind == "idx_text":
        target.write_text("not gzip\n")
    elif kind == "idx_truncated":
        target.write_bytes(target.read_bytes()[:40])
    else:
        raise KeyError(kind)
    return path


# --- everything --------------------------------------------------------------------------------

def make(kind: str, folder: str | os.PathLike) -> dict:
    """Write the crafted ``kind`` into ``folder``; return ``{"path", "reference"}`` (see the module)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if kind.startswith("keras_"):
        return {"path": str(_model_file(kind, folder)), "reference": None}
    if kind.startswith("h5_"):
        return {"path": str(_weights_file(kind, folder)), "reference": None}
    if kind.startswith("pth_"):
        return {"path": str(_pth_file(kind, folder)), "reference": None}
    if kind.startswith("idx_"):
        return {"path": str(_idx_folder(kind, folder)), "reference": None}
    path = folder / IMAGE_NAMES.get(kind, f"{kind}.png")
    if kind == "folder_png":
        path.mkdir()
        (path / "inside.png").write_bytes(_image_bytes("png_rgb")[0])
        return {"path": str(path), "reference": None}
    if kind == "symlink_loop_png":
        path.symlink_to(path.name)
        return {"path": str(path), "reference": None}
    if kind == "dangling_link_png":
        path.symlink_to(folder / "nowhere.png")
        return {"path": str(path), "reference": None}
    if kind == "fifo_png":  # a named pipe: opening it to read would wait for a writer forever
        os.mkfifo(path)
        return {"path": str(path), "reference": None}
    data, reference = _image_bytes(kind)
    path.write_bytes(data)
    return {"path": str(path), "reference": reference}


def good_images(folder: str | os.PathLike, classes=("a", "b"), per_class: int = 2) -> list[str]:
    """``folder/<class>/good<i>.png``: small real PNGs, for image_folder() next to a crafted file."""
    from PIL import Image

    rgb = reference_rgb()
    paths = []
    for c, name in enumerate(classes):
        (Path(folder) / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            p = Path(folder) / name / f"good{i}.png"
            Image.fromarray(np.roll(rgb, c * 5 + i, axis=1)).save(p)
            paths.append(str(p))
    return paths


def remove(path: str | os.PathLike) -> None:
    """Remove a crafted file, link, pipe or folder."""
    p = Path(path)
    if p.is_symlink() or not p.is_dir():
        p.unlink(missing_ok=True)
    else:
        shutil.rmtree(p)
