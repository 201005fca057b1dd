"""Export a trained classifier for deployment: a TensorFlow SavedModel, an ONNX file or a LiteRT (TFLite) file
that runs without cnnkit, Keras or Python.

What every artefact does (the same in all three formats):

- **input** ``image``: float32 images ``(n, height, width, channels)`` -- the model's own size and channel
  count (RGB, or one grey channel), any ``n`` -- with **pixel values 0-255**, as a decoded image file gives
  them (``np.asarray(PIL.Image.open(f).convert("RGB").resize((w, h)), "float32")``). The scaling the
  model was trained on (its input contract, ``cnnkit.contract``: values in [0, 1], or 0-255; a transfer
  model's backbone preprocessing) is inside the artefact, exactly as ``predict_classes()`` applies it to
  image files. Resizing is not inside: resize to the model's size first.
- **output** ``probabilities``: float32 ``(n, classes)``, summing to 1 per image -- the softmax (or, for a
  1-unit sigmoid model, ``[1 - p, p]``) is inside, and a logits model gets it added -- the same numbers
  as ``predict_classes(model, x)["probabilities"]`` gives for the same images (test-time augmentation,
  ``tta=``, is not part of the artefact).
- **class names**, in class-id order, inside the artefact where the format has a place for them, and
  in a ``labels.txt`` file (one name per line) beside it:

  ==============  ================================================  ==================================
  format          inside                                            labels file
  ==============  ================================================  ==================================
  saved_model     a ``class_names`` signature (no inputs) that     ``PATH/labels.txt`` (in the folder)
                  returns them as strings
  onnx            ``metadata_props``: ``class_names`` (JSON list)  ``PATH`` with ``.labels.txt`` for
                                                                    ``.onnx`` (``model.labels.txt``)
  litert          ``labels.txt`` packed into the ``.tflite``        ``model.labels.txt``
                  file (the TFLite metadata "associated file"
                  layout: the file is also a zip archive)
  ==============  ================================================  ==================================

Keras' own ``Model.export()`` writes the ONNX and LiteRT files (tf2onnx, TensorFlow's LiteRT converter)
and its ``keras.export.ExportArchive`` the SavedModel (with the second signature). The model exported
is ``model`` wrapped in the scaling and the probabilities, in float32 whatever precision it trained in.
Writes are atomic: the artefact and its labels file are written under temporary names and renamed when
both are complete, after the artefact was run once through its own runtime (``verify``), so a failure
leaves no half-written artefact. An existing artefact at ``path`` is replaced; a folder that holds
anything else is never touched. The README's "Deploying a model" section runs an ONNX file in five lines.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, public, warn
from ._data_checks import check_class_names, model_classes
from ._files import atomic_dir, atomic_path, writable_dir
from ._lang import code
from ._model_info import model_input_shape, output_activation
from ._quiet import converting_quietly
from .contract import file_value_range, input_contract
from .precision import all_float32
from .saving import class_names_of, load_model

FORMATS = ("saved_model", "onnx", "litert")
SUFFIXES = {"onnx": ".onnx", "litert": ".tflite"}     # saved_model: a folder, no suffix
INPUT_NAME, OUTPUT_NAME, LABELS = "image", "probabilities", "labels.txt"
PIXELS = (0.0, 255.0)                                  # what the artefact takes
TOLERANCE = 1e-4                                       # verify: largest difference from Keras' probabilities
ONNX_PACKAGES = {"tf2onnx": "tf2onnx", "onnx": "onnx"}  # import name -> pip name


def labels_path(path: str | os.PathLike, format: str) -> Path:
    """Where :func:`export_model` writes the class names beside the artefact at ``path``:
    ``PATH/labels.txt`` in a SavedModel folder, else ``path`` with ``.labels.txt`` for its suffix.

    Example:
        >>> str(labels_path("deploy/shoes.onnx", "onnx"))
        'deploy/shoes.labels.txt'
    """
    p = Path(path)
    return p / LABELS if format == "saved_model" else p.with_suffix(".labels.txt")


def input_description(model: keras.Model) -> str:
    """What the exported ``model`` takes, in words (the CLI prints it; ONNX metadata holds it)."""
    shape = ", ".join("n" if d is None else str(d) for d in (None, *model_input_shape(model)[1:]))
    return f"float32 images ({shape}) with pixel values 0-255"


# --- the model that is exported ------------------------------------------------------------------


def _sample_shape(model: keras.Model, n: int) -> tuple[int, ...]:
    """``(n, h, w, c)`` for the model's input, unknown sizes taken as 32."""
    return (n, *(32 if d is None else int(d) for d in model_input_shape(model)[1:]))


def serving_model(model: keras.Model) -> keras.Model:
    """``model`` between what a deployment gives it and what it wants back: 0-255 pixels scaled to the
    range it was trained on (``contract.file_value_range``, as for image files), probabilities out
    (softmax/sigmoid added to a logits output, ``[1 - p, p]`` for one sigmoid unit), float32, one
    input named ``image`` and one output named ``probabilities``. Called once, as Keras' exporters want."""
    kind, _ = model_classes(model)
    low, high = file_value_range(model)
    inputs = keras.Input(model_input_shape(model)[1:], dtype="float32", name=INPUT_NAME)
    x = inputs
    if (low, high) != PIXELS:
        x = keras.layers.Rescaling((high - low) / (PIXELS[1] - PIXELS[0]), offset=low, name="pixel_scaling")(x)
    y = keras.ops.cast(model(x, training=False), "float32")
    if output_activation(model) in (None, "linear"):  # logits
        y = keras.layers.Activation("sigmoid" if kind == "binary" else "softmax", name="to_probabilities")(y)
    if kind == "binary":
        y = keras.layers.Concatenate(name="both_classes")([1.0 - y, y])
    served = keras.Model(inputs, {OUTPUT_NAME: y}, name=f"{model.name}_exported")
    served(np.zeros(_sample_shape(model, 1), "float32"))
    return served


# --- the arguments -------------------------------------------------------------------------------


def _model(model: Any) -> keras.Model:
    """A Keras classifier, or one loaded from a ``.keras`` file (a path: what the CLI gives)."""
    if isinstance(model, (str, os.PathLike)):
        p = Path(model).expanduser()
        if p.suffix != ".keras" or not p.is_file():
            why = "does not exist" if p.suffix == ".keras" else "is not a .keras file"
            raise ValueError(f"{caller()}(): `model` {str(p)!r} {why}; pass a trained Keras model or the path of a "
                             ".keras file saved with save_model().")
        try:
            model = load_model(p)
        except ValueError as e:
            raise ValueError(str(e).replace("`file`", "`model`")) from None
    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller()}(): `model` must be a Keras model or the path of a .keras file, got "
                        f"{type(model).__name__}.")
    model_classes(model)  # a classifier with one image input, or an error naming `model`
    shape = model_input_shape(model)
    if len(shape) != 4 or shape[-1] is None:
        raise ValueError(f"{caller()}(): `model` takes inputs of shape {shape}; export_model() exports image "
                         "classifiers, whose input is (batch, height, width, channels) with known channels.")
    return model


def _target(path: Any, format: str) -> Path:
    """The artefact's path, checked: the suffix its format needs, a folder that can be written, and
    nothing there that is not an artefact of this kind (which is replaced)."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"{caller()}(): `path` must be a file or folder path (a string), got {path!r}.")
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if format in SUFFIXES and suffix != SUFFIXES[format]:
        other = next((f for f, s in SUFFIXES.items() if s == suffix), None)
        hint = f"pass {_format_arg(other)}, or " if other else ""
        raise ValueError(f"{caller()}(): `path` {str(p)!r} must end in {SUFFIXES[format]} for format {format!r}; "
                         f"{hint}name the file e.g. 'model{SUFFIXES[format]}'.")
    if format == "saved_model" and suffix in (*SUFFIXES.values(), ".keras"):
        hint = {".onnx": f"pass {_format_arg('onnx')}", ".tflite": f"pass {_format_arg('litert')}",
                ".keras": "a .keras file is what save_model() writes"}[suffix]
        raise ValueError(f"{caller()}(): `path` {str(p)!r} ends in {suffix}, but a SavedModel is a folder; {hint}, "
                         "or give a folder name such as 'exported_model'.")
    writable_dir(p.parent if str(p.parent) else ".", "path")
    _check_replaceable(p, format)
    return p


def _format_arg(name: str) -> str:
    """``format='onnx'`` (R: ``format = "onnx"``), for a hint."""
    return code(f"format={name!r}", f'format = "{name}"')


def _check_replaceable(p: Path, format: str) -> None:
    if format != "saved_model":
        if p.is_dir():
            raise ValueError(f"{caller()}(): `path` {str(p)!r} is a folder; pass the name of the file to write.")
        return
    if p.exists() and not p.is_dir():
        raise ValueError(f"{caller()}(): `path` {str(p)!r} is a file, but a SavedModel is a folder; pass a folder name.")
    if p.is_dir() and any(p.iterdir()) and not (p / "saved_model.pb").is_file():
        raise ValueError(f"{caller()}(): `path` {str(p)!r} is a folder that holds other files (not a SavedModel); "
                         "cnnkit replaces only an earlier export there. Pass a new folder name, e.g. "
                         f"{str(p / 'exported_model')!r}.")


def _names(model: keras.Model, class_names: Any) -> list[str]:
    """The class names given (checked), else those saved with the model, else ``"0"``, ``"1"``, ..."""
    _, k = model_classes(model)
    if class_names is not None:
        return check_class_names(model, class_names, "class_names")
    names = class_names_of(model)
    return names if names and len(names) == k else [str(i) for i in range(k)]


def _needs(modules: dict[str, str], format: str) -> None:
    """An ImportError saying which packages to install when a format's converter is missing."""
    missing = [pip for module, pip in modules.items() if importlib.util.find_spec(module) is None]
    if missing:
        py = "pip install " + " ".join(missing)
        r = "reticulate::py_install(c(" + ", ".join(f'"{m}"' for m in missing) + "), pip = TRUE)"
        raise ImportError(f"{caller()}(): format {format!r} needs the Python package(s) {', '.join(missing)}, which "
                          f"are not installed here; install them with `{code(py, r)}` (or pip install "
                          "\"cnnkit[export]\", which also installs onnxruntime to run the file).")


# --- the formats: write one into a temporary path, run one ---------------------------------------


def _write_saved_model(served: keras.Model, tmp: Path, names: list[str]) -> None:
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(served)
    spec = tf.TensorSpec((None, *served.input_shape[1:]), tf.float32, name=INPUT_NAME)
    archive.add_endpoint("serve", lambda image: served(image, training=False), input_signature=[spec])
    archive.add_endpoint("class_names", lambda: tf.constant(names, dtype=tf.string), input_signature=[])
    converting_quietly(lambda: archive.write_out(str(tmp), verbose=False))
    with atomic_path(tmp / LABELS) as labels:  # inside the export's own temporary folder (atomic_dir)
        labels.write_text(_labels_text(names), encoding="utf-8")


def _write_onnx(served: keras.Model, tmp: Path, names: list[str]) -> None:
    _needs(ONNX_PACKAGES, "onnx")
    import onnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Keras' tf2onnx patch probes np.object
        converting_quietly(lambda: served.export(str(tmp), format="onnx", verbose=False))
    proto = onnx.load(str(tmp))
    meta = {"class_names": json.dumps(names), "input": input_description(served),
            "output": f"float32 class probabilities (n, {len(names)}), in class_names order"}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"Exported by cnnkit: input '{INPUT_NAME}': {meta['input']}; output '{OUTPUT_NAME}'."
    with atomic_path(tmp) as rewritten:  # the converter's file, rewritten with its metadata
        onnx.save(proto, str(rewritten))


def _write_litert(served: keras.Model, tmp: Path, names: list[str]) -> None:
    import tensorflow as tf

    def convert(first: bool = False, **kwargs: Any) -> None:
        converting_quietly(lambda: served.export(str(tmp), format="litert", verbose=False, **kwargs), all_lines=first)

    try:  # LiteRT's built-in operators only: what every LiteRT runtime (a phone's too) has
        convert(True, target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]})
    except Exception as e:  # noqa: BLE001 - the converter raises ConverterError or others: retry with TF ops
        convert()
        ops = sorted(set(re.findall(r"\btf\.([A-Z]\w*)\(", str(e))))[:5] or [type(e).__name__]
        warn(f"{caller()}(): the model uses TensorFlow operators that LiteRT has no built-in version of "
             f"({', '.join(ops)}); the .tflite file includes them, so it runs only with a LiteRT runtime that has "
             "the Flex delegate (Android: org.tensorflow:tensorflow-lite-select-tf-ops), and it was not run here "
             "to verify it (this interpreter has none). Export to 'onnx' or 'saved_model' to avoid this.")
    buffer = io.BytesIO(tmp.read_bytes())
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as z:
        z.writestr(LABELS, _labels_text(names))
    with atomic_path(tmp) as rewritten:  # the converter's file, rewritten with its labels
        rewritten.write_bytes(buffer.getvalue())


def _run_saved_model(path: Path, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    names = [s.decode("utf-8") for s in loaded.class_names().numpy()]
    return np.asarray(loaded.serve(tf.constant(x))[OUTPUT_NAME]), names


def _run_onnx(path: Path, x: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    if importlib.util.find_spec("onnxruntime") is None:
        return None  # nothing to run it with here: written unverified (the docs say so)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = json.loads(session.get_modelmeta().custom_metadata_map["class_names"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: x})[0], names


def litert_interpreter(path: str | os.PathLike) -> Any:
    """A LiteRT interpreter for a ``.tflite`` file: ``ai_edge_litert``'s where it is installed, else the
    one TensorFlow ships (``tf.lite.Interpreter``, which TensorFlow has deprecated in its favour)."""
    if importlib.util.find_spec("ai_edge_litert") is not None:
        from ai_edge_litert.interpreter import Interpreter
    else:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*tf.lite.Interpreter is deprecated")
        return Interpreter(model_path=str(path))


def _run_litert(path: Path, x: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    runner = litert_interpreter(path).get_signature_runner()
    with zipfile.ZipFile(path) as z:
        names = z.read(LABELS).decode("utf-8").splitlines()
    try:
        return runner(**{INPUT_NAME: x})[OUTPUT_NAME], names
    except RuntimeError as e:
        if "Select TensorFlow op" in str(e):  # TensorFlow operators (see _write_litert): no Flex delegate here
            return None
        raise


WRITERS: dict[str, Callable[[keras.Model, Path, list[str]], None]] = {
    "saved_model": _write_saved_model, "onnx": _write_onnx, "litert": _write_litert}
RUNNERS: dict[str, Callable[[Path, np.ndarray], Any]] = {
    "saved_model": _run_saved_model, "onnx": _run_onnx, "litert": _run_litert}


def _verify(format: str, tmp: Path, served: keras.Model, names: list[str]) -> None:
    """Run the written artefact through its runtime on a few images; raise if it differs from Keras."""
    x = np.random.default_rng(0).uniform(*PIXELS, _sample_shape(served, 4)).astype("float32")
    ran = converting_quietly(lambda: RUNNERS[format](tmp, x))
    if ran is None:
        return
    got, got_names = ran
    want = np.asarray(served(x, training=False)[OUTPUT_NAME])
    diff = float(np.max(np.abs(np.asarray(got, "float64") - want))) if np.shape(got) == want.shape else float("inf")
    if not diff <= TOLERANCE or got_names != names:
        what = (f"its probabilities differ from the Keras model's by {diff:.3g} (more than {TOLERANCE:g})"
                if not diff <= TOLERANCE else f"its class names came back as {got_names[:5]!r}")
        raise RuntimeError(f"{caller()}(): the {format} artefact was written but {what} on test images, so it was "
                           f"discarded. This is a conversion problem (please report it); "
                           f"{code('verify=False', 'verify = FALSE')} writes it unchecked.")


@contextlib.contextmanager
def _atomic(target: Path, format: str, names: list[str]) -> Iterator[Path]:
    """The temporary path to write into; on success the artefact and the labels file beside it are
    renamed into place (the labels first), on an error both temporary files are removed."""
    if format == "saved_model":  # the labels file is inside the folder
        with atomic_dir(target) as tmp:
            yield tmp
        return
    with atomic_path(target) as tmp, atomic_path(labels_path(target, format)) as tmp_labels:
        yield tmp
        tmp_labels.write_text(_labels_text(names), encoding="utf-8")


def _labels_text(names: list[str]) -> str:
    return "".join(f"{n}\n" for n in names)


@public
def export_model(model: keras.Model | str | os.PathLike, path: str | os.PathLike, format: str = "saved_model",
                 class_names: Sequence[str] | None = None, verify: bool = True) -> str:
    """Export a classifier for deployment: a SavedModel folder, an ONNX file or a LiteRT (``.tflite``) file
    that takes 0-255 pixels and returns class probabilities, and carries the class names.

    The artefact needs neither cnnkit nor Keras: feed it float32 images ``(n, height, width, channels)``
    at the model's size with pixel values 0-255 (input ``image``); it scales them as the model was
    trained (``predict_classes()`` does the same to image files) and returns ``probabilities``
    ``(n, classes)`` (softmax inside). The class names are inside it (SavedModel: a ``class_names``
    signature; ONNX: ``metadata_props["class_names"]``, a JSON list; LiteRT: a ``labels.txt`` packed in
    the file) and in a labels file, one name per line: ``PATH/labels.txt`` for a SavedModel,
    ``model.labels.txt`` beside ``model.onnx`` or ``model.tflite``. See ``cnnkit.export`` for details.

    Args:
        model: a trained Keras classifier (1 sigmoid or n softmax units, or logits), or the path of a
            ``.keras`` file saved with :func:`save_model`.
        path: where to write: a folder for ``"saved_model"`` (created; an earlier export there is
            replaced, a folder holding anything else is refused), a file ending in ``.onnx`` or ``.tflite``.
        format: ``"saved_model"`` (TensorFlow, TF Serving), ``"onnx"`` (ONNX Runtime, from many languages;
            needs the Python packages ``tf2onnx`` and ``onnx``) or ``"litert"`` (LiteRT/TFLite: phones,
            microcontrollers, ``ai_edge_litert``).
        class_names: one name per class in class-id order (default: those saved with the model, else
            ``"0"``, ``"1"``, ...).
        verify: run the written artefact through its runtime (TensorFlow, ONNX Runtime where installed,
            the LiteRT interpreter) on 4 test images before it is put in place, and refuse it if its
            probabilities differ from the Keras model's by more than 1e-4 or its class names do not
            come back.

    Returns:
        The path written, as a string.

    Example:
        >>> model = simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=2)
        >>> export_model(model, "shoes.tflite", format="litert", class_names=["boot", "sneaker"])
        'shoes.tflite'
        >>> open("shoes.labels.txt").read().split()
        ['boot', 'sneaker']
    """
    format = v.choice(format, "format", choices=FORMATS)
    verify = v.flag(verify, "verify")
    model = _model(model)
    target = _target(path, format)
    names = _names(model, class_names)
    if format == "onnx":
        _needs(ONNX_PACKAGES, "onnx")
    if not (input_contract(model) or {}).get("value_range"):
        warn(f"{caller()}(): `model` has no recorded input range (it was not trained by cnnkit, or on data in no "
             "standard range); the artefact scales 0-255 pixels to [0, 1], as predict_classes() does for image "
             "files.")
    with all_float32(model):
        served = serving_model(model)
        with _atomic(target, format, names) as tmp:
            WRITERS[format](served, tmp, names)
            if verify:
                _verify(format, tmp, served, names)
    return str(target)
