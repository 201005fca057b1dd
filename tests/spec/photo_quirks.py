"""Photo quirks: one picture written the many ways cameras, phones and editors write it.

``make(folder)`` writes every variant of one picture into ``folder`` and returns ``{name: {"path",
"reference", "lossy"}}``; ``reference`` is the image a viewer shows (float32 ``(h, w, 3)`` in [0, 1]),
which every cnnkit reader must give: the picture itself, or -- for files with transparency -- the
picture composited onto white; for palette files (PNG, GIF: at most 256 colours) the picture in
those colours. ``lossy`` variants (JPEG, lossy WebP) are within a small mean difference of it
(:data:`LOSSY_MEAN`), the others within a level (:data:`EXACT_MAX`).

The quirks: JPEG (baseline, progressive, CMYK), PNG (8-bit, 16-bit RGB, 16-bit RGBA, 16-bit grey,
palette, palette with a transparent colour, RGBA with a colour hidden under its transparent pixels,
grey + alpha), WebP, TIFF (8-bit RGB, 16-bit grey), BMP, an animated GIF (its first frame counts),
and copies stored turned or mirrored with the EXIF orientation tag (274) saying how to show them:
all 8 orientations as JPEG, and one each as PNG (an eXIf chunk), WebP, TIFF (its own tag) and
a multi-picture JPEG (MPO, as some phones write: two images, the first counts). The
pixels of those copies are turned here with NumPy from the EXIF specification's table, not with
the Pillow function the reader uses.

pytest imports this module; testthat loads it with ``reticulate::import_from_path()``.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIZE = (48, 64)  # (height, width) of the synthetic picture: landscape, so a turn changes the shape
HIDDEN = (255, 0, 255)  # the colour stored under transparent pixels: magenta, which a viewer never shows
LOSSY_MEAN = 3 / 255  # the largest mean difference allowed for lossy variants
EXACT_MAX = 1.01 / 255  # the largest difference allowed for the others (a rounding of one level)


# --- the picture --------------------------------------------------------------------------------

def _soft(d: np.ndarray) -> np.ndarray:
    """A mask with a 4-pixel soft edge from a signed distance (negative inside): JPEG's halved
    chroma (4:2:0) then stays within about 2 levels on average."""
    return np.clip(0.5 - d / 4, 0, 1)


def picture(size: tuple[int, int] = SIZE) -> np.ndarray:
    """A colourful synthetic picture (uint8 ``(h, w, 3)``) with structure that tells every turn and
    mirror apart: colour ramps across and down, a red disc top left, a blue block bottom right and
    a dark bar along the top; soft edges (see :func:`_soft`)."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([40 + 180 * x / (w - 1), 30 + 170 * y / (h - 1), 120 + 60 * np.sin(x / w * 6 + y / h * 2)], -1)
    layers = [((230, 40, 40), _soft(np.hypot(x - 0.28 * w, y - 0.3 * h) - 0.19 * h)),
              ((20, 40, 160), _soft(np.maximum(np.abs(x - 0.77 * w) - 0.14 * w, np.abs(y - 0.73 * h) - 0.15 * h))),
              ((25, 25, 25), _soft(np.maximum(np.abs(x - 0.35 * w) - 0.3 * w, np.abs(y - 0.06 * h) - 0.04 * h)))]
    for colour, m in layers:
        img = img * (1 - m[..., None]) + np.asarray(colour, np.float32) * m[..., None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def photo(name: str = "coffee.png", size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A real photo from scikit-image's data (``coffee.png``: an espresso cup), resized to ``size``."""
    import skimage.data
    from PIL import Image

    img = Image.open(Path(skimage.data.__file__).parent / name).convert("RGB")
    return np.asarray(img.resize((size[1], size[0]), Image.Resampling.LANCZOS))


def alpha_mask(size: tuple[int, int], semi: bool = True) -> np.ndarray:
    """uint8 alpha: 0 (transparent) in the top-right quarter, 128 in a band along the bottom
    (``semi``), 255 elsewhere."""
    h, w = size
    a = np.full((h, w), 255, np.uint8)
    a[: h // 3, w * 5 // 8:] = 0
    if semi:
        a[h - h // 6:, :] = 128
    return a


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, rounded to uint8 (``0.299 R + 0.587 G + 0.114 B``)."""
    return np.clip(np.rint(rgb.astype(np.float64) @ [0.299, 0.587, 0.114]), 0, 255).astype(np.uint8)


def on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What a viewer shows of ``rgb`` with ``alpha`` on a white page."""
    a = alpha.astype(np.float64)[..., None] / 255
    return np.clip(np.rint(rgb * a + 255 * (1 - a)), 0, 255).astype(np.uint8)


def stored_for(view: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores for an image a viewer shows as ``view`` when the EXIF orientation
    is ``orientation``. From the EXIF table (where the stored 0th row and 0th column are shown):
    1 top/left, 2 top/right, 3 bottom/right, 4 bottom/left, 5 left/top, 6 right/top, 7 right/bottom,
    8 left/bottom."""
    t = np.swapaxes(view, 0, 1)  # stored[i, j] = view[j, i]
    return {1: view, 2: view[:, ::-1], 3: view[::-1, ::-1], 4: view[::-1, :],
            5: t, 6: t[::-1, :], 7: t[::-1, ::-1], 8: t[:, ::-1]}[orientation].copy()


# --- writers ------------------------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16(values: np.ndarray) -> bytes:
    """A 16-bit PNG of ``values`` (uint16 ``(h, w)`` grey, ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA),
    written here (Pillow writes 16-bit grey PNGs only)."""
    v = values if values.ndim == 3 else values[..., None]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[v.shape[-1]]
    rows = v.astype(">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    ihdr = struct.pack(">IIBBBBB", v.shape[1], v.shape[0], 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def _widened(x8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """8-bit values as 16-bit ones that are not exact multiples of 257 (x * 257 plus up to +-100)."""
    return np.clip(x8.astype(np.int64) * 257 + rng.integers(-100, 101, x8.shape), 0, 65535).astype(np.uint16)


def _exif(orientation: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[274] = orientation
    return exif.tobytes()


def _variants(rgb: np.ndarray) -> dict:
    """``{name: (file name, write(path), viewer's image uint8, lossy)}`` for the picture ``rgb``."""
    from PIL import Image

    rng = np.random.default_rng(0)
    size = rgb.shape[:2]
    img = Image.fromarray(rgb)
    grey = luma(rgb)
    grey3 = np.repeat(grey[..., None], 3, -1)
    alpha, binary = alpha_mask(size), alpha_mask(size, semi=False)
    hidden = np.where(alpha[..., None] == 0, np.asarray(HIDDEN, np.uint8), rgb)
    quantized = img.quantize(255, dither=Image.Dither.NONE)  # index 255 is left for the transparent colour
    quantized_rgb = np.asarray(quantized.convert("RGB"))

    def save(image, fmt, **kw):
        return lambda path: image.save(path, fmt, **kw)

    def palette_with_transparency(path):
        idx = np.where(binary == 0, 255, np.asarray(quantized)).astype(np.uint8)
        p = Image.fromarray(idx, "P")
        pal = quantized.getpalette()[:255 * 3]
        p.putpalette(pal + [0] * (255 * 3 - len(pal)) + list(HIDDEN))
        p.save(path, "PNG", transparency=255)

    def animated_gif(path):
        frames = [Image.fromarray(255 - rgb), Image.fromarray(np.roll(rgb, size[1] // 3, axis=1))]
        quantized.save(path, "GIF", save_all=True, append_images=[f.quantize(255) for f in frames], duration=100, loop=0)

    def bytes_to(data):
        return lambda path: Path(path).write_bytes(data)

    def turned(orientation, fmt, **kw):
        stored = Image.fromarray(stored_for(rgb, orientation))
        if fmt == "TIFF":
            return lambda path: stored.save(path, "TIFF", tiffinfo={274: orientation})
        return lambda path: stored.save(path, fmt, exif=_exif(orientation), **kw)

    table = {
        "png": ("picture.png", save(img, "PNG"), rgb, False),
        "jpeg": ("picture.jpg", save(img, "JPEG", quality=95), rgb, True),
        "jpeg_progressive": ("progressive.jpg", save(img, "JPEG", quality=95, progressive=True), rgb, True),
        "jpeg_cmyk": ("cmyk.jpg", save(img.convert("CMYK"), "JPEG", quality=95), rgb, True),
        "png16_rgb": ("rgb16.png", bytes_to(png16(_widened(rgb, rng))), rgb, False),
        "png16_rgba": ("rgba16.png", bytes_to(png16(np.concatenate([_widened(hidden, rng),
                                                                     alpha[..., None].astype(np.uint16) * 257], -1))),
                       on_white(rgb, alpha), False),
        "png16_grey": ("grey16.png", save(Image.fromarray(_widened(grey, rng)), "PNG"), grey3, False),
        "tiff16_grey": ("grey16.tif", save(Image.fromarray(_widened(grey, rng)), "TIFF"), grey3, False),
        "palette": ("palette.png", save(quantized, "PNG"), quantized_rgb, False),
        "palette_transparent": ("palette_transparent.png", palette_with_transparency,
                                on_white(quantized_rgb, binary), False),
        "rgba": ("rgba.png", save(Image.fromarray(np.dstack([hidden, alpha]), "RGBA"), "PNG"), on_white(rgb, alpha), False),
        "grey_alpha": ("grey_alpha.png", save(Image.fromarray(np.dstack([np.where(alpha == 0, 0, grey), alpha]), "LA"),
                                              "PNG"), np.repeat(on_white(grey[..., None], alpha), 3, -1), False),
        "webp": ("picture.webp", save(img, "WEBP", quality=95), rgb, True),
        "webp_lossless": ("lossless.webp", save(img, "WEBP", lossless=True), rgb, False),
        "tiff": ("picture.tif", save(img, "TIFF", compression="tiff_lzw"), rgb, False),
        "bmp": ("picture.bmp", save(img, "BMP"), rgb, False),
        "gif_animated": ("animated.gif", animated_gif, quantized_rgb, False),
    }
    for o in range(1, 9):
        table[f"jpeg_exif_{o}"] = (f"exif_{o}.jpg", turned(o, "JPEG", quality=95), rgb, True)
    table["png_exif_6"] = ("exif_6.png", turned(6, "PNG"), rgb, False)
    table["webp_exif_8"] = ("exif_8.webp", turned(8, "WEBP", lossless=True), rgb, False)
    table["tiff_orientation_3"] = ("orientation_3.tif", turned(3, "TIFF"), rgb, False)
    second = Image.fromarray(255 - stored_for(rgb, 6))  # a multi-picture JPEG's second image (a phone's depth map...)
    table["mpo_exif_6"] = ("multi_picture.jpg", turned(6, "MPO", quality=95, save_all=True, append_images=[second]),
                           rgb, True)
    return table


NAMES = tuple(_variants(picture((6, 8))))  # every variant, in a fixed order


def make(folder, names=None, base=None) -> dict:
    """Write the variants ``names`` (default: all) of ``base`` (a uint8 RGB array; default:
    :func:`picture`) into ``folder``; return ``{name: {"path", "reference", "lossy"}}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rgb = picture() if base is None else np.asarray(base, dtype=np.uint8)
    out = {}
    for name, (file, write, view, lossy) in _variants(rgb).items():
        if names is not None and name not in names:
            continue
        path = folder / file
        write(str(path))
        out[name] = {"path": str(path), "reference": view.astype(np.float32) / 255, "lossy": lossy}
    return out


def within(x: np.ndarray, reference: np.ndarray, lossy: bool) -> bool:
    """``x`` is ``reference`` within the variant's tolerance (values in [0, 1])."""
    if np.shape(x) != np.shape(reference):
        return False
    d = np.abs(np.asarray(x, np.float64) - np.asarray(reference, np.float64))
    return bool(d.mean() < LOSSY_MEAN if lossy else d.max() <= EXACT_MAX)


def difference(x: np.ndarray, reference: np.ndarray) -> str:
    """The mean and largest difference, in levels of 255, for messages."""
    if np.shape(x) != np.shape(reference):
        return f"shape {np.shape(x)} instead of {np.shape(reference)}"
    d = np.abs(np.asarray(x, np.float64) - np.asarray(reference, np.float64)) * 255
    return f"mean {d.mean():.2f}, max {d.max():.1f} levels"


def shown(made: dict, names=None) -> list:
    """Each variant's viewer image (its reference) written as a plain RGB PNG beside it; the paths,
    in the order of ``names`` (default: all of ``made``)."""
    from PIL import Image

    out = []
    for name in names or list(made):
        path = Path(made[name]["path"]).with_name(Path(made[name]["path"]).stem + "_as_shown.png")
        if not path.exists():
            Image.fromarray(np.rint(np.asarray(made[name]["reference"]) * 255).astype(np.uint8)).save(path)
        out.append(str(path))
    return out


def linear_model(path, size=(24, 32), seed: int = 3) -> str:
    """Save a softmax classifier of 3 classes ("a", "b", "c") that is linear in the pixels of ``size``,
    with random weights whose logits spread by about 1: its probabilities follow the pixels (a turned
    or mirrored picture moves them) and are not saturated. Returns the path."""
    import keras

    import cnnkit

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((int(size[0]), int(size[1]), 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax",
                                                 kernel_initializer=keras.initializers.RandomNormal(stddev=0.03))])
    cnnkit.save_model(model, path, class_names=["a", "b", "c"])
    return str(path)
