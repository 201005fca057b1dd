"""One side of the cross-process round trip (tests/python/test_reload.py): run as a script.

``save DIR [NAME ...]``: build each model of tests/spec/reload.json (all, or those named), train it if
the spec says so, predict on seeded images and save model, images and predictions under DIR.
``load DIR MODE``: load every model saved there (Keras' loader: those the spec lists in
``keras_loader_models``) and write its predictions to DIR/<MODE>.json. MODE
says how: ``cnnkit`` (``cnnkit.load_model``), ``keras_after_cnnkit`` (``import cnnkit`` first, then
Keras' own ``keras.saving.load_model``), ``cnnkit_after_keras`` (``import keras``, then ``import
cnnkit``, then Keras' loader). Each run is a fresh process: nothing of the saving one is left.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SPEC = Path(__file__).resolve().parents[1] / "spec" / "reload.json"


def build(entry: dict):
    import numpy as np

    import cnnkit

    args = dict(entry["args"])
    if "input_shape" in args:
        args["input_shape"] = tuple(args["input_shape"])
    model = getattr(cnnkit, entry["factory"])(**args)
    if "augmentation" in entry:
        model = cnnkit.with_augmentation(model, cnnkit.augmentation(**entry["augmentation"]))
    if "rand_augment" in entry:
        model = cnnkit.with_augmentation(model, cnnkit.rand_augment(**entry["rand_augment"]))
    k = max(2, model.output_shape[-1])
    if "fit" in entry or "fine_tune" in entry:
        rng = np.random.default_rng(1)
        x = rng.uniform(0, 1, (16, *model.input_shape[1:])).astype("float32")
        y = np.arange(16) % k
        if "fit" in entry:
            cnnkit.fit_classifier(model, (x, y), batch_size=8, verbose=0, **entry["fit"])
        else:
            cnnkit.fine_tune(model, (x, y), batch_size=8, verbose=0, **entry["fine_tune"])
    return model, [f"class_{i}" for i in range(k)]


def save(out: Path, names: list[str]) -> None:
    import numpy as np

    import cnnkit

    spec = json.loads(SPEC.read_text())
    rng = np.random.default_rng(spec["input_seed"])
    preds = {}
    for entry in spec["models"]:
        if names and entry["name"] not in names:
            continue
        model, classes = build(entry)
        x = rng.uniform(0, 1, (spec["n_images"], *model.input_shape[1:])).astype("float32")
        np.save(out / f"{entry['name']}.npy", x)
        preds[entry["name"]] = np.asarray(model.predict(x, verbose=0), "float64").tolist()
        cnnkit.save_model(model, out / f"{entry['name']}.keras", class_names=classes)
    (out / "saved.json").write_text(json.dumps(preds))


def load(out: Path, mode: str) -> None:
    if mode == "cnnkit_after_keras":
        import keras  # Keras first, cnnkit second

        import cnnkit
    import numpy as np

    import cnnkit

    if mode != "cnnkit":
        import keras
    preds, errors = {}, {}
    names = list(json.loads((out / "saved.json").read_text()))
    if mode != "cnnkit":
        names = [n for n in names if n in json.loads(SPEC.read_text())["keras_loader_models"]]
    for name in names:
        file = out / f"{name}.keras"
        try:
            model = cnnkit.load_model(file) if mode == "cnnkit" else keras.saving.load_model(file)
            preds[name] = np.asarray(model.predict(np.load(out / f"{name}.npy"), verbose=0), "float64").tolist()
            if getattr(model, "compiled", False):  # the loss it was compiled with came back (label smoothing)
                loss = model.loss
                preds[name + ":loss"] = [loss if isinstance(loss, str) else type(loss).__name__,
                                         float(getattr(loss, "label_smoothing", 0.0) or 0.0)]
                opt = model.optimizer  # and its optimizer's weight average (cnnkit.ema: Keras' use_ema)
                preds[name + ":ema"] = float(opt.ema_momentum) if getattr(opt, "use_ema", False) else 0.0
            if mode == "cnnkit":
                preds[name + ":class_names"] = cnnkit.saving.class_names_of(model)
        except Exception as e:  # noqa: BLE001 - reported by the test, per model
            errors[name] = f"{e.__class__.__name__}: {e}"[:500]
    (out / f"{mode}.json").write_text(json.dumps({"predictions": preds, "errors": errors}))


if __name__ == "__main__":
    what, folder = sys.argv[1], Path(sys.argv[2])
    save(folder, sys.argv[3:]) if what == "save" else load(folder, sys.argv[3])
