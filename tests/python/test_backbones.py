"""The backbone registry and offline-first weights (no downloads: weights=None or files the tests write)."""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit import backbones as bb
from cnnkit.freeze import select_layers
from conftest import load_spec

SPEC = load_spec("transfer")
UNREACHABLE = "http://127.0.0.1:9/keras-weights"  # the discard port: refused at once, no network needed


@pytest.fixture()
def offline(monkeypatch):
    """Downloads go to a local address that refuses connections: the network is absent, deterministically."""
    monkeypatch.setenv(bb.MIRROR_ENV, UNREACHABLE)


def test_registry_holds_the_spec_backbones_with_their_last_blocks():
    table = {row["name"]: row for row in cnnkit.list_backbones()}
    expected = {k: v for k, v in SPEC["backbones"].items() if not k.startswith("_")}
    assert set(expected) <= set(table)
    for name, exp in expected.items():
        spec = bb.get_spec(name)
        assert list(spec.last_block) == exp["last_block"]
        assert callable(spec.preprocess) and spec.min_size == 32 and spec.channels == 3
        assert table[name]["factory"].startswith("keras.applications.")
        assert table[name]["weights_file"] and isinstance(table[name]["cached"], bool)


@pytest.mark.parametrize("name", [k for k in SPEC["backbones"] if not k.startswith("_")])
def test_each_backbone_builds_without_top_and_its_last_block_exists(name):
    exp = SPEC["backbones"][name]
    model = cnnkit.backbone(name, (32, 32, 3), weights=None)
    assert model.count_params() == exp["params_notop_32"]
    assert len(model.layers) == exp["layers"]
    assert model.output_shape[-1] > 0 and len(model.output_shape) == 2
    selected = select_layers(model, block=exp["last_block"])
    assert 0 < len(selected) < len(model.layers)


@pytest.mark.parametrize("alias,name", SPEC["aliases"].items())
def test_aliases_resolve(alias, name):
    assert bb.get_spec(alias).name == name


def test_weight_hashes_match_keras_source():
    """The registry copies the hashes Keras publishes: each must appear in keras.applications' source."""
    import pkgutil

    import keras.src.applications as apps_pkg

    source = "".join(inspect.getsource(__import__(f"keras.src.applications.{m.name}", fromlist=["x"]))
                     for m in pkgutil.iter_modules(apps_pkg.__path__) if not m.name.endswith("_test"))
    keras_specs = [spec for spec in bb.REGISTRY.values() if spec.weights is not None]
    assert len(keras_specs) >= 9  # every keras.applications backbone carries its weight files
    for spec in keras_specs:  # entries without them (efficientnet_lite0) serve "imagenet" themselves
        top, notop = spec.weights.file(True, (224, 224, 3)), spec.weights.file(False, (224, 224, 3))
        assert top[0] != notop[0] and top[1].endswith(top[0]) and notop[1].startswith("https://")
        for _, _, file_hash in (top, notop):
            assert file_hash is None or file_hash in source, spec.name
    assert bb.get_spec("mobilenet_v2").weights.file(False, (96, 96, 3))[0].endswith("_1.0_96_no_top.h5")
    assert bb.get_spec("mobilenet_v2").weights.file(False, (32, 32, 3))[0].endswith("_1.0_224_no_top.h5")


def test_vgg16_with_top_matches_the_slides_summary():
    exp = SPEC["vgg16_slides"]
    model = cnnkit.backbone("vgg16", exp["input_shape"], weights=None, include_top=True)
    assert model.count_params() == exp["total_params"]
    assert len(model.layers) == exp["layers"]
    for layer, params in exp["layer_params"].items():
        assert model.get_layer(layer).count_params() == params
    assert "138,357,544" in cnnkit.summary_text(model)


def test_weights_from_a_path_written_by_the_test(tmp_path):
    source = cnnkit.backbone("vgg16", (32, 32, 3), weights=None)
    path = tmp_path / "vgg16.weights.h5"
    source.save_weights(str(path))
    loaded = cnnkit.backbone("vgg16", (32, 32, 3), weights=str(path))
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # weights do not depend on the input size: the same file fits 64x64 inputs
    assert cnnkit.backbone("vgg16", (64, 64, 3), weights=path).count_params() == source.count_params()


@pytest.mark.parametrize("other", ["resnet50", "vgg19"])
def test_weights_file_of_another_architecture_is_a_clear_error(tmp_path, other):
    path = tmp_path / f"{other}.weights.h5"
    cnnkit.backbone(other, (32, 32, 3), weights=None).save_weights(str(path))
    with pytest.raises(ValueError, match=r"backbone\(\): `weights` file .* does not fit 'vgg16'") as err:
        cnnkit.backbone("vgg16", (32, 32, 3), weights=str(path))
    assert "another architecture" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_imagenet_offline_is_one_paragraph_naming_file_cache_and_fixes(offline):
    with pytest.raises(bb.WeightsUnavailableError) as err:
        cnnkit.backbone("vgg16", (32, 32, 3), weights="imagenet")
    msg = str(err.value)
    assert "\n" not in msg
    for part in ("backbone():", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", bb.cache_dir(),
                 'prefetch_weights("vgg16")', "~/.keras/models", "weights=", "could not be downloaded"):
        assert part in msg, part
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no socket traceback
    assert "Traceback" not in msg


def test_prefetch_offline_and_transfer_model_offline(offline):
    with pytest.raises(bb.WeightsUnavailableError, match=r"prefetch_weights\(\).*convnext_tiny_notop\.h5"):
        cnnkit.prefetch_weights("convnext_tiny")
    with pytest.raises(bb.WeightsUnavailableError, match=r"transfer_model\(\).*vgg16"):
        cnnkit.transfer_model("vgg16", (32, 32, 3))


def test_prefetch_rejects_a_file_whose_hash_differs_from_keras(tmp_path, monkeypatch):
    """A mirror (file:// URL) serving a file that is not the published one: hash check fails, file removed."""
    fname = bb.get_spec("vgg16").weights.file(False)[0]
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    cnnkit.backbone("vgg16", (32, 32, 3), weights=None).save_weights(str(tmp_path / "x.weights.h5"))
    os.replace(tmp_path / "x.weights.h5", mirror / fname)
    monkeypatch.setenv(bb.MIRROR_ENV, mirror.as_uri())
    with pytest.raises(bb.WeightsUnavailableError, match="does not match the hash Keras publishes"):
        cnnkit.prefetch_weights("vgg16")
    assert not (Path(bb.cache_dir()) / fname).exists()


def _tiny_app(weights_files: bb.WeightsFiles):
    """A keras.applications-style factory (the convention register_backbone expects)."""

    def TinyNet(include_top=True, weights=None, input_shape=None, pooling=None, classes=1000):
        inputs = keras.Input(input_shape or (32, 32, 3))
        x = keras.layers.Conv2D(8, 3, name="block1_conv1")(inputs)
        x = keras.layers.Conv2D(8, 3, name="block2_conv1")(x)
        x = keras.layers.GlobalAveragePooling2D()(x) if pooling == "avg" else x
        model = keras.Model(inputs, x, name="tinynet")
        if weights == "imagenet":
            fname, url, file_hash = weights_files.file(include_top)
            model.load_weights(keras.utils.get_file(fname, url, cache_subdir="models", file_hash=file_hash))
        elif weights is not None:
            model.load_weights(weights)
        return model

    return TinyNet


def test_prefetch_verifies_then_imagenet_loads_from_the_cache_offline(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    fname = "cnnkit_test_tinynet_notop.weights.h5"
    files = bb.WeightsFiles(UNREACHABLE + "/", fname, None, "unused.h5", None)
    factory = _tiny_app(files)
    reference = factory(weights=None, input_shape=(32, 32, 3), pooling="avg")
    reference.save_weights(str(mirror / fname))
    digest = hashlib.sha256((mirror / fname).read_bytes()).hexdigest()
    files = bb.WeightsFiles(UNREACHABLE + "/", fname, digest, "unused.h5", None)
    monkeypatch.setitem(bb.REGISTRY, "cnnkit_test_tinynet", None)  # restored after the test
    cnnkit.register_backbone("cnnkit_test_tinynet", _tiny_app(files), lambda x: x, weights=files,
                             last_block="block2", overwrite=True)
    cached = Path(bb.cache_dir()) / fname
    try:
        monkeypatch.setenv(bb.MIRROR_ENV, mirror.as_uri())
        rows = cnnkit.prefetch_weights("cnnkit_test_tinynet")
        assert rows[0]["verified"] and rows[0]["hash"] == digest and Path(rows[0]["path"]) == cached
        monkeypatch.setenv(bb.MIRROR_ENV, UNREACHABLE)  # now offline: the cache alone must do
        model = cnnkit.backbone("cnnkit_test_tinynet", (32, 32, 3), weights="imagenet")
        for a, b in zip(reference.weights, model.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        row = [r for r in cnnkit.list_backbones() if r["name"] == "cnnkit_test_tinynet"][0]
        assert row["cached"] and row["hash"] == digest
    finally:
        cached.unlink(missing_ok=True)


def test_register_backbone_rules():
    with pytest.raises(ValueError, match="`name` 'VGG16' is already registered"):
        cnnkit.register_backbone("VGG16", keras.applications.VGG16, keras.applications.vgg16.preprocess_input)
    with pytest.raises(TypeError, match="`factory` must be a function"):
        cnnkit.register_backbone("x_net", "not a function", lambda x: x)
    with pytest.raises(ValueError, match="`min_size`"):
        cnnkit.register_backbone("x_net", keras.applications.VGG16, lambda x: x, min_size=0)
    assert "x_net" not in bb.REGISTRY


def test_imagenet_with_top_needs_the_imagenet_size():
    with pytest.raises(ValueError, match=r"`input_shape` must be \(224, 224, 3\) with include_top=True"):
        cnnkit.backbone("vgg16", (32, 32, 3), weights="imagenet", include_top=True)


def test_preprocess_input_uses_the_backbone_convention():
    x = np.full((1, 32, 32, 3), 255.0)
    np.testing.assert_allclose(cnnkit.preprocess_input(x, "mobilenet_v2"), 1.0)
    caffe = cnnkit.preprocess_input(np.zeros((1, 2, 2, 3)), "vgg16")
    np.testing.assert_allclose(caffe[0, 0, 0], [-103.939, -116.779, -123.68], rtol=1e-5)
    np.testing.assert_array_equal(cnnkit.preprocess_input(x, "convnext_tiny"), x)  # scaling is in the model
    assert x.max() == 255.0  # the input is not modified


@pytest.mark.parametrize("case", SPEC["bad_input"], ids=lambda c: f"{c['call']}-{'-'.join(map(str, c['args'].values()))}")
def test_bad_input_names_the_argument(case):
    with pytest.raises((ValueError, TypeError, FileNotFoundError)) as err:
        getattr(cnnkit, case["call"])(**case["args"])
    for part in case["error_names"]:
        assert part in str(err.value)
    assert str(err.value).startswith(f"{case['call']}()")
