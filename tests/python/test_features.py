"""A frozen backbone's features computed once (cache_features="auto"): the same training as the
whole model every epoch, only where that holds, visibly, with callbacks and run directories intact."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import cnnkit
from cnnkit.features import split_frozen

LINE = "gives the same features every epoch"


def backbone(dropout: bool = False) -> keras.Model:
    layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu", name="block1_conv"),
              keras.layers.Conv2D(8, 3, activation="relu", name="block2_conv")]
    layers += [keras.layers.Dropout(0.5, name="drop")] if dropout else []
    layers += [keras.layers.GlobalAveragePooling2D(name="pool")]
    return keras.Sequential(layers, name="tiny_backbone")


def transfer(seed: int = 0, **kw) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return cnnkit.transfer_model(backbone(**kw), None, num_classes=10)


@pytest.fixture(scope="module")
def fm():
    return cnnkit.load_fashion_mnist(n=512, n_test=128, seed=4)


def fit(model, fm, **kw):
    args = dict(epochs=3, batch_size=64, verbose=2, learning_rate=1e-2)
    args.update(kw)
    return cnnkit.fit_classifier(model, (fm["x_train"], fm["y_train"]), **args)


def test_same_training_as_the_whole_model_every_epoch(fm, capsys):
    a, b = transfer(), transfer()
    ha = fit(a, fm, validation_data=(fm["x_test"], fm["y_test"]))
    out = capsys.readouterr().out
    assert out.count(LINE) == 1 and "computed once for 512 training and 128 validation images" in out
    hb = fit(b, fm, validation_data=(fm["x_test"], fm["y_test"]), cache_features=False)
    assert LINE not in capsys.readouterr().out
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-4)
    np.testing.assert_allclose(ha["val_accuracy"], hb["val_accuracy"], atol=1e-6)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)
    assert ha["loss"][-1] < ha["loss"][0]


def test_a_backbone_called_in_inference_mode_is_cached_with_its_dropout(fm, capsys):
    fit(transfer(dropout=True), fm, epochs=1)  # transfer_model calls it with training=False
    assert LINE in capsys.readouterr().out


@pytest.mark.parametrize("case", ["dropout_before_backbone", "trainable_backbone", "augmentation_in_model",
                                  "augmented_dataset", "no_frozen_part", "turned_off"])
def test_not_cached_where_the_training_would_differ(fm, capsys, case):
    data = (fm["x_train"], fm["y_train"])
    kw = {}
    if case == "dropout_before_backbone":
        inputs = keras.Input((28, 28, 1))
        x = backbone()(keras.layers.Dropout(0.2)(inputs), training=False)
        model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
        model.get_layer("tiny_backbone").trainable = False
    elif case == "trainable_backbone":
        model = transfer()
        cnnkit.unfreeze(model, block="block2")
    elif case == "augmentation_in_model":
        model = cnnkit.with_augmentation(transfer(), cnnkit.augmentation(translate=0.1))
    elif case == "augmented_dataset":
        model = transfer()
        data = cnnkit.augmented_dataset(fm["x_train"], fm["y_train"], cnnkit.augmentation(translate=0.1))
    elif case == "no_frozen_part":
        model = cnnkit.mlp_classifier((28, 28, 1), units=8, num_classes=10)
    else:
        model, kw = transfer(), {"cache_features": False}
    cnnkit.fit_classifier(model, data, epochs=1, verbose=2, **kw)
    assert LINE not in capsys.readouterr().out


def test_split_is_where_the_frozen_part_ends():
    model = transfer()
    frozen, head = split_frozen(model)
    assert frozen.output.shape == (None, 8) and [layer.name for layer in head.layers][-1] == "predictions"
    assert head.get_layer("predictions") is model.get_layer("predictions")  # shared layers, shared weights
    assert split_frozen(cnnkit.lenet5()) is None


def test_image_folder_datasets_are_cached(fm, tmp_path, capsys):
    from PIL import Image

    for label in range(10):
        (tmp_path / f"c{label}").mkdir()
        for i, img in enumerate(fm["x_train"][fm["y_train"] == label][:6, ..., 0]):
            Image.fromarray((img * 255).astype("uint8")).save(tmp_path / f"c{label}" / f"{i}.png")
    d = cnnkit.image_folder(tmp_path, image_size=28, color_mode="grayscale", batch_size=16)
    model = transfer()
    h = cnnkit.fit_classifier(model, d["train"], epochs=2, verbose=2)
    assert "computed once for 60 training images" in capsys.readouterr().out
    assert h["epoch"] == [1, 2] and cnnkit.saving.class_names_of(model) == d["class_names"]


def test_callbacks_see_the_whole_model_and_can_stop_it(fm):
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.model.get_layer("tiny_backbone").name)

        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)
            if epoch == 1:
                self.model.stop_training = True

    h = fit(transfer(), fm, epochs=5, callbacks=[Watch()], verbose=0)
    assert seen == ["tiny_backbone", 0, 1] and h["epoch"] == [1, 2]


def test_run_dir_keeps_the_whole_model_and_resumes(fm, tmp_path):
    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:  # after epoch 1's files (best.keras among them), before epoch 2's
                raise KeyboardInterrupt

    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(transfer(), fm, run_dir=run, callbacks=[Stop()], verbose=0)
    best = cnnkit.load_model(run / "best.keras")
    assert best.get_layer("tiny_backbone") is not None  # the whole model, not the head
    model = transfer(seed=1)
    h = fit(model, fm, run_dir=run, verbose=0)
    assert h["epoch"] == [1, 2, 3]
    again = transfer(seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(again, fm, run_dir=run, verbose=0)  # finished: the final weights, loaded into the whole model
    for x, y in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_fine_tune_caches_its_head_phase_only(fm, capsys):
    cnnkit.fine_tune(transfer(), (fm["x_train"], fm["y_train"]), head_epochs=2, epochs=1, unfreeze="block2")
    out = capsys.readouterr().out
    assert out.count(LINE) == 1 and out.index(LINE) < out.index("Epoch 3/3")


def test_a_transfer_models_preprocessing_layer_is_part_of_the_cached_frozen_part(fm, capsys):
    """transfer_model() puts the backbone's input scaling in front of it: weightless and deterministic,
    it belongs to the frozen part, whose features are computed once, and the training is the same."""
    x = np.repeat(fm["x_train"][:64], 3, axis=-1)
    x = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))  # 32x32x3: MobileNetV2's smallest input
    y = fm["y_train"][:64]

    def model():
        keras.utils.set_random_seed(0)
        return cnnkit.transfer_model("mobilenet_v2", (32, 32, 3), num_classes=10, weights=None)

    a = model()
    frozen, head = split_frozen(a)
    assert [layer.name for layer in frozen.layers][:2] == ["input", "preprocessing"]
    ha = cnnkit.fit_classifier(a, (x, y), epochs=2, batch_size=32, verbose=2, learning_rate=1e-2)
    assert LINE in capsys.readouterr().out
    hb = cnnkit.fit_classifier(model(), (x, y), epochs=2, batch_size=32, verbose=2, learning_rate=1e-2,
                               cache_features=False)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-4)
