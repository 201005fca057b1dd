"""feature_maps() / plot_feature_maps() on a real Fashion-MNIST image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cnnkit
from conftest import fashion_test_images, load_spec

LENET = next(m for m in load_spec("models")["models"] if m["id"] == "lenet5_slides")


@pytest.fixture(scope="module")
def model():
    return cnnkit.lenet5()


@pytest.fixture(scope="module")
def image():
    return np.pad(fashion_test_images(1)[0], 2)[..., None].astype("float32") / 255


def test_feature_maps_shape_by_name_and_index(model, image):
    maps = cnnkit.feature_maps(model, image, "c1")
    assert maps.shape == tuple(LENET["layer_output_shapes"]["c1"][1:])
    np.testing.assert_allclose(cnnkit.feature_maps(model, image, 1), maps)  # 0-based: layers[1] is c1
    np.testing.assert_allclose(cnnkit.feature_maps(model, image[..., 0], "c1"), maps)  # (H, W) matrix
    assert maps.std() > 0  # a real image gives varied activations


def test_plot_feature_maps_writes_a_png(model, image, tmp_path):
    out = cnnkit.plot_feature_maps(model, image, "c3", file=tmp_path / "maps.png", max_maps=8)
    img = Image.open(out)
    assert img.format == "PNG" and img.size[0] > 400
    assert [p.name for p in tmp_path.iterdir()] == ["maps.png"]


def test_plot_feature_maps_from_an_image_file(model, image, tmp_path):
    src = tmp_path / "shoe.png"
    Image.fromarray((image[..., 0] * 255).astype("uint8")).save(src)
    maps = cnnkit.feature_maps(model, str(src), "c1")  # a file is read as stored: 0-255
    expected = cnnkit.feature_maps(model, np.round(image * 255), "c1")
    np.testing.assert_allclose(maps, expected, atol=1e-4)


@pytest.mark.parametrize("kwargs,match", [
    ({"layer": "f6"}, "4-D output"),
    ({"layer": "nope"}, "not in the model.*c1"),
    ({"layer": 99}, "out of range"),
    ({"image": np.zeros((28, 28, 1))}, "`image` must be one image of shape"),
    ({"image": np.full((32, 32, 1), np.nan)}, "NaN"),
    ({"image": "/no/such/file.png"}, "does not exist"),
])
def test_feature_maps_bad_input(model, image, kwargs, match):
    args = {"layer": "c1", "image": image, **kwargs}
    with pytest.raises(ValueError, match=match):
        cnnkit.feature_maps(model, args["image"], args["layer"])


def test_plot_feature_maps_leaves_no_file_on_failure(model, image, tmp_path):
    with pytest.raises(ValueError, match="`file`"):
        cnnkit.plot_feature_maps(model, image, "c1", file=tmp_path / "maps.txt")
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="not a readable image"):
        cnnkit.plot_feature_maps(model, str(bad), "c1", file=tmp_path / "maps.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.png"]
