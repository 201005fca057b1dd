"""Evaluation and prediction: accuracy and balanced accuracy, per-class precision, recall, ROC AUC and
PR AUC, the confusion matrix (table and plot), ROC and precision-recall curves, and class predictions
(with a decision threshold for binary models) for arrays or image files."""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator, Mapping, Sequence

import keras
import numpy as np

from . import _arg_checks as v
from ._context import caller, carried, otherwise, public, warn
from ._data_checks import (
    check_class_names,
    check_data,
    check_images,
    dataset_errors,
    is_dataset,
    model_classes,
    resolve_data,
)
from ._execution import MAX_CHUNK_VALUES, predict_chunk, predictor
from ._images import ImageFileError, check_image_file, read_images
from ._lang import code, in_r
from ._model_info import model_input_shape, output_activation, output_kind
from ._plot import check_target, finish, new_figure
from .contract import check as check_range
from .contract import files_to_model_range
from .saving import class_names_of
from .tta import check_tta

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@otherwise("predict_classes")
def _probabilities(model: keras.Model, x: Any, batch_size: int, precision: str = "auto", views: int = 1) -> np.ndarray:
    """Class probabilities ``(n, k)``; a 1-unit sigmoid output becomes ``[1 - p, p]``; ``views`` > 1:
    averaged over test-time views (``cnnkit.tta``)."""
    f, step = predictor(model, precision, views), max(1, predict_chunk(model, batch_size) // views)
    p = np.concatenate([np.asarray(f(x[i:i + step]), dtype="float64") for i in range(0, len(x), step)])
    return _as_classes(model, p)


def _as_classes(model: keras.Model, p: np.ndarray) -> np.ndarray:
    kind, _ = output_kind(model)
    if output_activation(model) in (None, "linear"):  # logits
        p = 1 / (1 + np.exp(-p)) if kind == "binary" else np.exp(p - p.max(1, keepdims=True))
        p = p if kind == "binary" else p / p.sum(1, keepdims=True)
    return np.concatenate([1 - p, p], axis=1) if kind == "binary" else p


def _names(model: keras.Model, class_names: Any, k: int) -> list[str]:
    """The class names given (checked: one distinct string per class), else those saved with the model,
    else ``"0"``, ``"1"``, ..."""
    if class_names is not None:
        return check_class_names(model, class_names, "class_names")
    names = class_names_of(model)
    if names is None or len(names) != k:
        return [str(i) for i in range(k)]
    return names


def _predict_labelled(model: keras.Model, data: Any, batch_size: int, precision: str,
                      views: int = 1) -> tuple[np.ndarray, np.ndarray]:
    data = check_data(model, data, "data")
    check_range(model, data, arg="data")  # images in another range than the model was trained on: a warning
    if not is_dataset(data):
        return data[1], _probabilities(model, data[0], batch_size, precision, views)
    import tensorflow as tf

    f = predictor(model, precision, views)
    ys, ps = [], []
    with dataset_errors():  # the guard check_data() put on the dataset: labels and images, batch by batch
        for batch in data:  # one pass, so labels and predictions stay paired even if the dataset shuffles
            ys.append(np.asarray(batch[1]).reshape(-1))
            ps.append(_as_classes(model, np.asarray(f(tf.cast(batch[0], tf.float32)), dtype="float64")))
    if not ys:
        raise ValueError(f"{caller()}(): `data` is an empty dataset.")
    return np.concatenate(ys).astype("int64"), np.concatenate(ps)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """Counts ``(k, k)``: rows are true classes, columns predicted classes."""
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def _per_class(cm: np.ndarray, names: list[str]) -> dict[str, list]:
    tp = np.diag(cm).astype("float64")
    pred, true = cm.sum(0), cm.sum(1)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    return {"class": names, "precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(),
            "support": true.astype(int).tolist()}


def _averages(cm: np.ndarray, per_class: dict[str, list]) -> dict[str, dict[str, float]]:
    """Macro (unweighted mean over the classes that occur in the labels or the predictions, as
    scikit-learn's ``classification_report`` does) and support-weighted averages of precision,
    recall and F1."""
    present = (cm.sum(0) + cm.sum(1)) > 0
    support = np.asarray(per_class["support"], dtype="float64")
    n = int(cm.sum())
    out = {}
    for name, weights in (("macro", present.astype("float64")), ("weighted", support)):
        total = weights.sum()
        out[name] = {m: float(np.dot(per_class[m], weights) / total) if total > 0 else 0.0
                     for m in ("precision", "recall", "f1")}
        out[name]["support"] = n
    return out


def balanced_accuracy(cm: np.ndarray) -> float:
    """The mean recall over the classes that occur in the labels (scikit-learn's
    ``balanced_accuracy_score``): each class counts the same, however many images it has."""
    true = cm.sum(1)
    present = true > 0
    return float(np.mean(np.diag(cm)[present] / true[present])) if present.any() else 0.0


# --- ranking metrics: one class against the rest, from the probabilities --------------------------

def _average_ranks(score: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``score``, tied values sharing the mean of their ranks."""
    _, group, counts = np.unique(score, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return ((last - counts + 1 + last) / 2)[group.reshape(-1)]


def _defined(positive: np.ndarray, score: np.ndarray) -> bool:
    """Both classes occur (an AUC needs positives and negatives) and the scores are numbers."""
    n_pos = int(positive.sum())
    return 0 < n_pos < len(positive) and bool(np.isfinite(score).all())


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """The area under the ROC curve of ``score`` for ``positive`` (bool) against the rest: the
    Mann-Whitney statistic, the chance that a positive scores above a negative, ties counted 1/2
    (scikit-learn's ``roc_auc_score``). NaN without positives or without negatives."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype="float64")
    if not _defined(positive, score):
        return math.nan
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    return float((_average_ranks(score)[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _counts_at_thresholds(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when predicting positive at ``score >= t``, for each distinct score
    ``t`` from the highest down (tied scores enter together)."""
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[last].astype("float64")
    return tps, last + 1 - tps


def average_precision(positive: np.ndarray, score: np.ndarray) -> float:
    """The area under the precision-recall curve as scikit-learn's ``average_precision_score``
    defines it: sum over the distinct thresholds of (R_n - R_(n-1)) * P_n (no interpolation). NaN
    without positives or without negatives."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype="float64")
    if not _defined(positive, score):
        return math.nan
    tps, fps = _counts_at_thresholds(positive, score)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * tps / (tps + fps)))


def _curves(positive: np.ndarray, score: np.ndarray) -> dict[str, np.ndarray]:
    """The ROC curve (``fpr``, ``tpr`` from (0, 0)) and the precision-recall curve (``recall``,
    ``precision`` from (0, 1)), as scikit-learn's ``roc_curve`` and ``precision_recall_curve``."""
    tps, fps = _counts_at_thresholds(positive, score)
    return {"fpr": np.r_[0.0, fps / fps[-1]], "tpr": np.r_[0.0, tps / tps[-1]],
            "recall": np.r_[0.0, tps / tps[-1]], "precision": np.r_[1.0, tps / (tps + fps)]}


def _nanmean(values: Sequence[float]) -> float:
    kept = [x for x in values if not math.isnan(x)]
    return float(np.mean(kept)) if kept else math.nan


SCORES = ("y_true", "probabilities")  # what an evaluation keeps for plot_roc_curves() (not saved in metrics.json)


def _add_ranking(ev: "Evaluation", roc: Sequence[float], pr: Sequence[float]) -> None:
    """Per-class ROC AUC and PR AUC into ``per_class``, their means over the classes where they are
    defined into ``averages["macro"]``."""
    ev["per_class"]["roc_auc"], ev["per_class"]["pr_auc"] = [float(x) for x in roc], [float(x) for x in pr]
    ev["averages"]["macro"].update(roc_auc=_nanmean(ev["per_class"]["roc_auc"]), pr_auc=_nanmean(ev["per_class"]["pr_auc"]))


def _with_scores(ev: "Evaluation", y: np.ndarray, p: np.ndarray) -> "Evaluation":
    """The ranking metrics of each class against the rest, and the labels and probabilities they came from."""
    y = np.asarray(y).astype("int64")
    k = p.shape[1]
    _add_ranking(ev, [roc_auc(y == c, p[:, c]) for c in range(k)], [average_precision(y == c, p[:, c]) for c in range(k)])
    ev["y_true"], ev["probabilities"] = y, p
    return ev


class Evaluation(dict):
    """What :func:`evaluate_classifier` returns: a dict (``accuracy``, ``balanced_accuracy``, ``n``,
    ``confusion_matrix``, ``per_class``, ``averages``, ``class_names``, ``file``; from a model also
    ``threshold``, ``y_true`` and ``probabilities``, and ROC AUC and PR AUC in ``per_class`` and
    ``averages["macro"]``) that prints as a classification report (accuracy, the per-class table
    with macro and weighted averages, the confusion matrix), shows as HTML tables in Jupyter, and
    draws its confusion matrix with :meth:`plot` (the ROC and PR curves: :func:`plot_roc_curves`).

    Example:
        >>> ev = evaluation_from_counts([[5, 1], [2, 7]], ["cat", "dog"])
        >>> ev["accuracy"], ev["averages"]["macro"]["recall"]
        (0.8, 0.8055555555555556)
        >>> print(ev)  # doctest: +NORMALIZE_WHITESPACE
        accuracy: 0.8000 (15 images), balanced accuracy: 0.8056
        <BLANKLINE>
        class           precision    recall        f1   support
        cat                 0.714     0.833     0.769         6
        dog                 0.875     0.778     0.824         9
        <BLANKLINE>
        macro avg           0.795     0.806     0.796        15
        weighted avg        0.811     0.800     0.802        15
        <BLANKLINE>
        confusion matrix (rows: true class, columns: predicted class)
                            0    1
        0 cat               5    1
        1 dog               2    7
    """

    def __repr__(self) -> str:
        return format_evaluation(self)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return evaluation_html(self)

    def plot(self, file: str | os.PathLike | None = None, normalize: bool = True) -> Any:
        """The confusion matrix, as :func:`plot_confusion_matrix` draws it (a ``Figure``, or the path
        written when ``file`` is given)."""
        return plot_confusion_matrix(self, file=file, normalize=normalize)


@public
def evaluation_from_counts(confusion_matrix: Any, class_names: Sequence[str] | None = None) -> Evaluation:
    """An :class:`Evaluation` from a confusion matrix of counts (rows true class, columns predicted):
    accuracy, the per-class table and the averages, as :func:`evaluate_classifier` computes them."""
    cm = _counts(confusion_matrix)
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else _axis_names(class_names, k, "class_names")
    per_class = _per_class(cm, names)
    return Evaluation(accuracy=float(np.trace(cm) / max(cm.sum(), 1)), balanced_accuracy=balanced_accuracy(cm),
                      n=int(cm.sum()), confusion_matrix=cm, per_class=per_class, averages=_averages(cm, per_class),
                      class_names=names, file=None)


def as_evaluation(ev: dict[str, Any]) -> Evaluation:
    """An evaluation read back (a run's ``metrics.json``) as an :class:`Evaluation`: the averages
    recomputed from the counts, the AUCs kept (JSON's null: NaN), the probabilities gone."""
    out = evaluation_from_counts(np.asarray(ev["confusion_matrix"], dtype="int64"), ev.get("class_names"))
    if "threshold" in ev:
        out["threshold"] = ev["threshold"]
    pc = ev.get("per_class") or {}
    if "roc_auc" in pc and "pr_auc" in pc:
        nan = lambda xs: [math.nan if x is None else float(x) for x in xs]  # noqa: E731
        _add_ranking(out, nan(pc["roc_auc"]), nan(pc["pr_auc"]))
    if all(k in ev for k in SCORES):
        out["y_true"], out["probabilities"] = np.asarray(ev["y_true"]), np.asarray(ev["probabilities"])
    out["file"] = ev.get("file")
    return out


@public
def evaluate_classifier(
    model: keras.Model,
    data: Any,
    class_names: Sequence[str] | None = None,
    batch_size: int = 256,
    file: str | os.PathLike | None = None,
    precision: str = "auto",
    tta: bool | int = False,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/AUCs and the confusion matrix of ``model`` on ``data``.

    Args:
        model: a trained classifier.
        data: ``(x, y)`` arrays or a ``tf.data.Dataset`` of ``(images, labels)`` batches.
        class_names: names for the class ids (default: those the data carries, such as R factor
            levels or an image folder's, else those saved with the model, else ``"0"``, ...).
        batch_size: images per prediction step (arrays; at least: small images go in bigger chunks, with the
            same results).
        file: also draw the confusion matrix to this image file (``.png``, ``.pdf``, ``.svg``).
        precision: ``"auto"``, ``"float32"`` or ``"mixed_bfloat16"``, as in :func:`fit_classifier`
            (probabilities differ from float32 by a few 1e-4 in mixed precision).
        tta: test-time augmentation (``cnnkit.tta``): ``True`` averages each image's prediction with
            its mirror's, a number 3 to 10 adds shifted views; ``False`` (the default): the image only.
            Only for a model trained with flip (and shift) augmentation: one trained without it
            does worse (the main job's ``fashion_cnn``: 3.5 points lower; see ``cnnkit.tta``).
        threshold: a binary model's decision threshold (1 sigmoid unit, or 2 softmax units): class 1
            is predicted when its probability is ``>= threshold``. 0.5 (the default) predicts the more
            probable class, as without a threshold (an exact tie goes to class 0). Lower it to find
            more of a rare class 1 (higher recall, lower precision). Only the predicted classes (the
            confusion matrix, precision, recall, F1, accuracy) depend on it, not the AUCs. A model of
            more than 2 classes predicts its most probable class: any other value is an error.

    Returns:
        An :class:`Evaluation`, a dict that prints as a classification report: ``accuracy``,
        ``balanced_accuracy`` (the mean recall over the classes in the labels), ``n``,
        ``confusion_matrix`` (``(k, k)`` counts, rows true, columns predicted), ``per_class`` (dict
        of lists: ``class``, ``precision``, ``recall``, ``f1``, ``roc_auc``, ``pr_auc``, ``support``;
        the AUCs of each class against the rest from its probability, ``pr_auc`` the average
        precision, both NaN for a class with no images or with all of them), ``averages``
        (``{"macro": {...}, "weighted": {...}}``: precision, recall, f1, support; the macro one also
        roc_auc and pr_auc, over the classes where they are defined), ``class_names``, ``file``,
        ``threshold`` (binary models; else ``None``), ``y_true`` and ``probabilities`` (the labels and
        the ``(n, k)`` class probabilities, for :func:`plot_roc_curves`). ``ev.plot()`` draws the
        confusion matrix.

    Example:
        >>> d = load_fashion_mnist(n=300, n_test=100)
        >>> model = simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)
        >>> _ = fit_classifier(model, (d["x_train"], d["y_train"]), epochs=1, verbose=0)
        >>> ev = evaluate_classifier(model, (d["x_test"], d["y_test"]), d["class_names"])
        >>> ev["n"], sorted(ev["averages"]), 0 <= ev["averages"]["macro"]["roc_auc"] <= 1
        (100, ['macro', 'weighted'], True)
        >>> print(ev)  # doctest: +ELLIPSIS
        accuracy: 0... (100 images), balanced accuracy: 0...
        ...
        macro avg ...
    """
    k = model_classes(model)[1]
    batch_size = v.positive_int(batch_size, "batch_size")
    threshold = check_threshold(threshold, k)
    data, carried = resolve_data(model, data, "data")  # first: a data/model mismatch is the likelier mistake
    names = _names(model, class_names, k)
    if carried is not None:
        if class_names is None and class_names_of(model) is None:
            names = carried
        elif carried != names:
            whose = "`class_names`" if class_names is not None else "the model's (saved with it)"
            if sorted(carried) == sorted(names):  # the same classes in another order: surely wrong
                raise ValueError(f"{caller()}(): the classes of `data` ({', '.join(carried)}) differ from {whose} "
                                 f"({', '.join(names)}): labels would be compared with the wrong outputs. Give the "
                                 f"data its classes in the model's order{code('', ' (factor(y, levels = ...))')}.")
            moved = [c for c in carried if c in names and carried.index(c) != names.index(c)]
            if moved:  # some classes named alike sit at other positions: their images would be scored as others
                c = moved[0]
                raise ValueError(
                    f"{caller()}(): the classes of `data` ({', '.join(carried)}) are not {whose} ({', '.join(names)}): "
                    f"{c!r} is data class {carried.index(c)} but model class {names.index(c)}, so its images would "
                    f"be scored as {names[carried.index(c)]!r}. Only in the data: "
                    f"{', '.join(x for x in carried if x not in names) or 'none'}; only in the model: "
                    f"{', '.join(x for x in names if x not in carried) or 'none'}. Give the data the model's classes, "
                    "in its order" + code(" (class folders named as the model classes)",
                                          " (factor(y, levels = ...), or class folders named as the model classes)") + ".")
            warn(f"{caller()}(): the classes of `data` ({', '.join(carried)}) are not named as {whose} "
                          f"({', '.join(names)}); they are compared by position (data class 0 with output 0, ...).",
                          UserWarning)
    target = check_target(file) if file is not None else None
    y, p = _predict_labelled(model, data, batch_size, precision, check_tta(tta))
    out = _with_scores(evaluation_from_counts(confusion_matrix(y, decide(p, threshold), k), names), y, p)
    out["threshold"] = threshold
    if target is not None:
        out["file"] = plot_confusion_matrix(out, file=target)
    return out


def check_threshold(threshold: Any, k: int) -> float | None:
    """``threshold`` checked: a number in [0, 1] for a 2-class model (returned as a float); for a
    model of more than 2 classes only the default 0.5 (returned as ``None``: no threshold)."""
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, float, np.integer, np.floating)):
        raise TypeError(f"{caller()}(): `threshold` must be a number from 0 to 1 (class 1 is predicted when its "
                        f"probability is >= threshold), got {threshold!r} ({type(threshold).__name__}).")
    t = float(threshold)
    if not 0 <= t <= 1:
        raise ValueError(f"{caller()}(): `threshold` must be a number from 0 to 1 (a probability), got {threshold!r}.")
    if k != 2:
        if t != 0.5:
            raise ValueError(f"{caller()}(): `threshold`={threshold!r} is for a binary model (1 sigmoid unit or 2 "
                             f"classes), which predicts class 1 when its probability is >= threshold; this model has "
                             f"{k} classes and predicts the most probable one. Leave threshold at 0.5.")
        return None
    return t


def decide(p: np.ndarray, threshold: float | None) -> np.ndarray:
    """Predicted class ids from probabilities ``(n, k)``: the most probable class (a tie: the first);
    with a binary model's ``threshold`` other than 0.5, class 1 where ``p[:, 1] >= threshold``."""
    if threshold is None or threshold == 0.5:
        return p.argmax(1)
    return (p[:, 1] >= threshold).astype("int64")


def counts_and_names(evaluation: Any, class_names: Any) -> tuple[np.ndarray, list[str]]:
    """The confusion matrix of an evaluation (or a matrix) and its class names: ``class_names`` if
    given, else the evaluation's, else ``"0"``, ``"1"``, ...."""
    cm = _counts(evaluation)
    k = cm.shape[0]
    if class_names is not None:
        names = _axis_names(class_names, k, "class_names")
    elif isinstance(evaluation, dict) and evaluation.get("class_names") is not None:
        names = _axis_names(evaluation["class_names"], k, "evaluation")
    else:
        names = [str(i) for i in range(k)]
    return cm, names


CM_ANNOTATED_CLASSES = 30  # plot_confusion_matrix(): counts in the cells up to this many classes


@public
def plot_confusion_matrix(
    evaluation: dict[str, Any] | np.ndarray,
    class_names: Sequence[str] | None = None,
    file: str | os.PathLike | None = None,
    normalize: bool = True,
) -> Any:
    """Draw a confusion matrix as a heat map (rows true class, columns predicted) to ``file``.

    Args:
        evaluation: the result of :func:`evaluate_classifier`, or a ``(k, k)`` matrix of counts.
        class_names: axis labels (default: the evaluation's).
        file: ``None`` (the default) returns the matplotlib ``Figure`` (Jupyter shows it inline); an
            image path (``.png``, ``.pdf``, ``.svg``, ``.jpg``) writes it there (atomically) instead.
        normalize: colour by the share of each true class (the counts are printed in the cells).

    Bounded cost: up to 30 classes (``CM_ANNOTATED_CLASSES``) every cell shows its count and the
    figure grows with the classes; beyond, the heat map has no text in its cells, at most 30 tick
    labels per axis (every n-th class) and the size of the 30-class figure, so time and memory stop
    growing with the square of the classes (:func:`most_confused` lists the pairs). Measured on this
    project's 2-core machine, 150 classes written to a PNG: 60.5 s and 3.2 GB of memory (peak RSS
    3.7 GB) with counts in all 22,500 cells, 1.9 s and 0.1 GB (peak RSS 0.65 GB) with this bound;
    1,000 classes: 2.9 s, 0.3 GB.

    Returns:
        The ``Figure`` (``file=None``) or the path written.

    Example:
        >>> fig = plot_confusion_matrix([[5, 1], [2, 7]], class_names=["cat", "dog"])
        >>> fig.axes[0].get_title()
        'Confusion matrix (accuracy 80.0%, n = 15)'

    """
    cm, names = counts_and_names(evaluation, class_names)
    k = cm.shape[0]
    normalize = v.flag(normalize, "normalize")
    target = check_target(file)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    annotated = k <= CM_ANNOTATED_CLASSES
    size = min(k, CM_ANNOTATED_CLASSES)  # beyond: the figure (its pixels) stops growing
    fig = new_figure(max(5.0, 1.2 + 0.62 * size), max(4.0, 0.9 + 0.55 * size), target)
    ax = fig.add_subplot()
    im = ax.imshow(share if normalize else cm, cmap="Blues", vmin=0, interpolation="nearest")
    if annotated:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    step = max(1, math.ceil(k / CM_ANNOTATED_CLASSES))  # at most 30 tick labels per axis
    ticks = range(0, k, step)
    small = {} if annotated else {"fontsize": 7}
    ax.set_xticks(ticks, [names[i] for i in ticks], rotation=45, ha="right", **small)
    ax.set_yticks(ticks, [names[i] for i in ticks], **small)
    ax.set_xlabel("predicted class" + ("" if step == 1 else f" (every {step}th labelled)"))
    ax.set_ylabel("true class")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"Confusion matrix (accuracy {acc:.1%}, n = {int(cm.sum())})" +
                 ("" if annotated else f"\n{k} classes: no counts in the cells (most_confused() lists the pairs)"))
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of true class" if normalize else "count")
    return finish(fig, target)


ROC_LEGEND_CLASSES = 20  # plot_roc_curves(): a legend (each class with its AUC) up to this many classes


def _scores(evaluation: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The labels, probabilities and class names an evaluation kept (checked)."""
    if not isinstance(evaluation, Mapping) or not all(k in evaluation for k in SCORES):
        got = f"a dict without {' and '.join(repr(k) for k in SCORES if k not in evaluation)}" \
            if isinstance(evaluation, Mapping) else f"{type(evaluation).__name__}"
        raise TypeError(f"{caller()}(): `evaluation` must be what evaluate_classifier() returns, which keeps the labels "
                        f"and probabilities the curves need; got {got}. (An evaluation read back from a run's "
                        "metrics.json or made from counts has none: evaluate the model again.)")
    p = np.asarray(evaluation["probabilities"], dtype="float64")
    y = np.asarray(evaluation["y_true"])
    if p.ndim != 2 or p.shape[1] < 2 or y.ndim != 1 or len(y) != len(p) or not len(y):
        raise ValueError(f"{caller()}(): `evaluation` must hold one label per row of its (n, k) probabilities, got "
                         f"labels of shape {y.shape} and probabilities of shape {p.shape}.")
    if y.dtype.kind not in "iuf" or not np.isfinite(y.astype("float64")).all() or \
            (y != np.round(y)).any() or y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"{caller()}(): `evaluation` labels must be class ids 0 to {p.shape[1] - 1}.")
    names = evaluation.get("class_names")
    names = [str(i) for i in range(p.shape[1])] if names is None else _axis_names(names, p.shape[1], "evaluation")
    return y.astype("int64"), p, names


@public
def plot_roc_curves(evaluation: Mapping[str, object], file: str | os.PathLike | None = None) -> Figure | str:
    """Draw the ROC curves and the precision-recall curves of an evaluation, side by side.

    One line per class against the rest (a binary model: one line, for class 1), from the
    probabilities :func:`evaluate_classifier` kept; the legend gives each class's AUC (up to 20
    classes), the titles the macro averages. The dotted lines are chance: the diagonal, and in the
    PR panel of a binary model the share of class 1. A class with no images (or only images of it)
    has no curve.

    Args:
        evaluation: the result of :func:`evaluate_classifier` (a dict with ``y_true``,
            ``probabilities`` and ``class_names``).
        file: ``None`` (the default) returns the matplotlib ``Figure`` (Jupyter shows it inline); an
            image path (``.png``, ``.pdf``, ``.svg``, ``.jpg``) writes it there (atomically) instead.

    Returns:
        The ``Figure`` (``file=None``) or the path written.

    Example:
        >>> ev = {"y_true": [0, 0, 1, 1], "probabilities": [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]],
        ...       "class_names": ["cat", "dog"]}
        >>> fig = plot_roc_curves(ev)
        >>> [ax.get_title() for ax in fig.axes]
        ['ROC curve (AUC 0.750)', 'Precision-recall curve (AP 0.833)']
    """
    y, p, names = _scores(evaluation)
    target = check_target(file)
    k = p.shape[1]
    classes = [1] if k == 2 else list(range(k))
    fig = new_figure(10.0, 4.4, target)
    roc_ax, pr_ax = fig.subplots(1, 2)
    roc_ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=1)
    if k == 2 and _defined(y == 1, p[:, 1]):
        share = float(np.mean(y == 1))
        pr_ax.plot([0, 1], [share, share], ":", color="grey", linewidth=1)
    rocs, aps = [], []
    for c in classes:
        positive, score = y == c, p[:, c]
        if not _defined(positive, score):
            rocs.append(math.nan)
            aps.append(math.nan)
            continue
        curve, roc, ap = _curves(positive, score), roc_auc(positive, score), average_precision(positive, score)
        rocs.append(roc)
        aps.append(ap)
        name = names[c] if k > 2 else f"class 1: {names[1]}"
        roc_ax.plot(curve["fpr"], curve["tpr"], label=f"{name} ({roc:.3f})", linewidth=1.2)
        pr_ax.step(curve["recall"], curve["precision"], where="pre", label=f"{name} ({ap:.3f})", linewidth=1.2)
    word = "AUC" if k == 2 else "macro AUC"
    roc_ax.set_title(f"ROC curve ({word} {_nanmean(rocs):.3f})")
    pr_ax.set_title(f"Precision-recall curve ({'AP' if k == 2 else 'macro AP'} {_nanmean(aps):.3f})")
    for ax, (xl, yl) in ((roc_ax, ("false positive rate", "true positive rate")), (pr_ax, ("recall", "precision"))):
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        if len(classes) <= ROC_LEGEND_CLASSES and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right" if ax is roc_ax else "lower left")
    return finish(fig, target)


def _counts(evaluation: Any) -> np.ndarray:
    """The confusion matrix of an evaluation (or a matrix): square, at least 2x2, whole counts >= 0."""
    if isinstance(evaluation, dict):
        if "confusion_matrix" not in evaluation:
            raise ValueError(f"{caller()}(): `evaluation` must be an evaluate_classifier() result (it has no "
                             "'confusion_matrix') or a square matrix of counts.")
        evaluation = evaluation["confusion_matrix"]
    try:
        cm = np.asarray(evaluation)
    except (TypeError, ValueError):
        cm = np.asarray(None)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 2 or cm.dtype.kind not in "iuf":
        raise ValueError(f"{caller()}(): `evaluation` must be an evaluate_classifier() result or a square matrix of "
                         f"counts, got {type(evaluation).__name__} of shape {cm.shape} and dtype {cm.dtype}.")
    if not np.isfinite(cm).all() or (cm < 0).any() or (cm != np.round(cm)).any():
        raise ValueError(f"{caller()}(): `evaluation` must hold whole counts >= 0 (no NaN/NA), got {cm.tolist()}.")
    return cm.astype("int64")


def _axis_names(names: Any, k: int, arg: str) -> list[str]:
    items = [names] if isinstance(names, str) else list(names) if isinstance(names, (list, tuple, np.ndarray)) else None
    if items is None or not all(isinstance(c, str) for c in items):
        raise TypeError(f"{caller()}(): `{arg}` must be a list of class names (strings), got {names!r}.")
    if len(items) != k:
        raise ValueError(f"{caller()}(): `{arg}` has {len(items)} class names but the confusion matrix has {k} classes.")
    return [str(c) for c in items]


# --- predicting image files: streamed in batches ---------------------------------------------------

FILE_CHUNK_VALUES = MAX_CHUNK_VALUES  # input values per predictor call for files: 27 images of 224 x 224 x 3


def image_files(x: Any, arg: str = "x") -> list[str] | None:
    """The image files ``x`` names: one path or a list of paths, where a folder stands for every file
    under it, found as ``image_folder()`` finds a class folder's (recursively, linked folders followed
    once; hidden files and folders, ``.*`` and ``__MACOSX``, left out), sorted by path; ``None`` when
    ``x`` is not paths (an array)."""
    from .data import _walk_class

    paths = [x] if isinstance(x, (str, os.PathLike)) else x
    if not (isinstance(paths, (list, tuple)) and paths and all(isinstance(p, (str, os.PathLike)) for p in paths)):
        return None
    files = []
    for p in paths:
        root = Path(p).expanduser()
        if not root.is_dir():
            files.append(str(p))
            continue
        found = _walk_class(root, {}, {os.path.realpath(root)})  # {}: hidden entries are not reported
        if not found:
            raise ValueError(f"{caller()}(): `{arg}` entry {str(p)!r} is a folder with no files in it (hidden files and "
                             "folders, whose names start with '.', are left out). Pass image files or a folder of them.")
        files += [str(f) for f in sorted(found, key=Path)]
    return files


def _skip_hint() -> str:
    return code("skip_unreadable=True", "skip_unreadable = TRUE")


def _checked_files(files: list[str], skip: bool) -> dict[str, str]:
    """Every file's header, before anything is decoded (cheap): ``{path: why}`` of those cnnkit does not
    read; without ``skip`` any such file is an error listing them all."""
    bad = {}
    for f in files:
        try:
            check_image_file(f, where=f"`x` entry {f!r}")
        except ImageFileError as e:
            bad[f] = str(e)
    if not bad or skip:
        return bad
    if len(files) == 1:
        raise ImageFileError(next(iter(bad.values())), "unreadable")
    if len(bad) == 1:
        raise ImageFileError(f"{next(iter(bad.values()))} Nothing was predicted: remove or convert it, or pass "
                             f"{_skip_hint()} to predict the other {len(files) - 1:,} file(s).", "unreadable")
    shown = "; ".join(m.split(": ", 1)[-1] for m in list(bad.values())[:5])
    more = f"; and {len(bad) - 5:,} more" if len(bad) > 5 else ""
    raise ImageFileError(f"{caller()}(): {len(bad):,} of {len(files):,} files in `x` are not images cnnkit reads: {shown}{more}. "
                         f"Nothing was predicted: remove or convert them, or pass {_skip_hint()} to predict the "
                         "others.", "unreadable")


def _read_batch(files: list[str], shape: tuple, skip: bool) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """One batch of files decoded: ``(files read, images (n, h, w, c) in [0, 1], {path: why} skipped)``;
    with ``skip`` a file that fails to decode (its header was fine: a truncated file) is left out."""
    try:
        return files, read_images(files, shape[1:3], shape[-1], "x"), {}
    except ImageFileError as e:
        if not skip:
            raise ImageFileError(f"{e} Pass {_skip_hint()} to skip such files.", getattr(e, "kind", "unreadable")) from None
    kept, images, bad = [], [], {}
    for f in files:  # the slow path, only for a batch holding a bad file: which one?
        try:
            images.append(read_images([f], shape[1:3], shape[-1], "x")[0])
            kept.append(f)
        except (ImageFileError, OSError) as e:
            bad[f] = str(e)
    x = np.stack(images) if images else np.zeros((0, *shape[1:]), dtype="float32")
    return kept, x, bad


def _batches(files: list[str], batch_size: int, read: Any) -> Generator[tuple[list[str], np.ndarray, dict], None, None]:
    """``read(batch)`` of ``batch_size`` files at a time, the next batch decoded in a thread while the
    caller predicts this one: at most two batches of images in memory."""
    from concurrent.futures import ThreadPoolExecutor

    chunks = [files[i:i + batch_size] for i in range(0, len(files), batch_size)]
    if not chunks:
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnnkit-read")
    try:
        read = carried(read)  # in the pool's thread: its messages name the same function
        ahead = pool.submit(read, chunks[0])
        for i in range(len(chunks)):
            batch = ahead.result()
            if i + 1 < len(chunks):
                ahead = pool.submit(read, chunks[i + 1])
            yield batch
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _progress(n: int, batch_size: int, verbose: Any) -> Any:
    """Keras' ``Progbar`` over ``n`` files, or ``None``: ``"auto"`` shows it on a terminal, in Jupyter
    or (the R package passes ``"auto"`` only then) an interactive R session, and only for more than one
    batch; 1: the bar, 2: one line at the end, 0: nothing."""
    if verbose == "auto":
        from .engine import progress_verbosity

        interactive = in_r() or progress_verbosity("auto") == 1
        verbose = 1 if interactive and n > batch_size else 0
    return keras.utils.Progbar(n, verbose=verbose, unit_name="file") if verbose else None


def predict_files(model: keras.Model, files: list[str], batch_size: int, precision: str, verbose: Any,
                  skip: bool, scale: bool = True, views: int = 1) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """Class probabilities of image files, read ``batch_size`` at a time (bounded memory: only the
    outputs are kept): ``(files predicted, probabilities (n, k), {path: why} skipped)``. ``scale``:
    images go to the model in the range it was trained on (``contract.files_to_model_range``)."""
    shape = model_input_shape(model)
    if len(shape) != 4 or shape[-1] not in (1, 3) or None in shape[1:3]:
        raise ValueError(f"{caller()}(): image files need a model with a fixed (height, width, 1 or 3) input, "
                         f"this one takes {shape}.")
    bad = _checked_files(files, skip)
    todo = [f for f in files if f not in bad]
    f = predictor(model, precision, views)  # one traced function for every batch, the last (smaller) one too
    step = max(1, min(batch_size, FILE_CHUNK_VALUES // math.prod(shape[1:]) // views))
    bar, done, kept, probs = _progress(len(files), batch_size, verbose), len(bad), [], []
    batches = _batches(todo, batch_size, lambda b: _read_batch(b, shape, skip))
    with contextlib.closing(batches):  # an error or Ctrl-C: the reading thread stops now, not at exit
        for names, x, failed in batches:
            x = files_to_model_range(model, x) if scale else x
            probs += [np.asarray(f(x[i:i + step]), dtype="float64") for i in range(0, len(x), step)]
            kept += names
            done += len(names) + len(failed)
            bad.update(failed)
            if bar is not None:
                bar.update(done)
    if not kept:
        raise ValueError(f"{caller()}(): none of the {len(files):,} files in `x` is a readable image.")
    return kept, _as_classes(model, np.concatenate(probs)), {k: bad[k] for k in files if k in bad}


def _skip_warning(skipped: dict[str, str], n: int) -> None:
    names = ", ".join(Path(p).name for p in list(skipped)[:5]) + (", ..." if len(skipped) > 5 else "")
    where = code("the result's 'skipped'", 'attr(, "skipped")')
    warn(f"{caller()}(): skipped {len(skipped):,} of {n:,} file(s) that are not readable images ({names}); "
                  f"{where} lists them.", UserWarning)


@public
def predict_classes(
    model: keras.Model,
    x: Any,
    class_names: Sequence[str] | None = None,
    batch_size: int = 256,
    precision: str = "auto",
    verbose: str | int = "auto",
    skip_unreadable: bool = False,
    tta: bool | int = False,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Predicted class, its name and the class probabilities for images or image files.

    Image files are read ``batch_size`` at a time, the next batch decoded while the model predicts
    this one, and only the outputs are kept: memory stays bounded however many files there are
    (20,000 JPEGs at 224 x 224 px into EfficientNet-Lite0: 1.3 GB peak resident memory, TensorFlow's
    0.6 GB included, the same as for 5,000; bench/acceptance/predict_files.py).

    Args:
        model: a trained classifier.
        x: images ``(n, h, w, c)``, or image files: one path or a list (PNG, JPEG, BMP, GIF, WebP,
            TIFF), where a folder stands for every file under it (recursively, sorted; hidden files
            and folders left out). Files are read at the model's input size and channel count, as
            ``image_folder()`` reads them.
        class_names: names for the class ids (default: those saved with the model).
        batch_size: images per prediction step (arrays: at least, small images go in bigger chunks,
            with the same results); files: files decoded at a time (large images go through the
            model in chunks of at most 2**22 values, 27 images of 224 x 224 x 3).
        precision: ``"auto"``, ``"float32"`` or ``"mixed_bfloat16"``, as in :func:`fit_classifier`
            (probabilities differ from float32 by a few 1e-4 in mixed precision).
        verbose: files only: ``"auto"`` (a progress bar on a terminal or in Jupyter when there is more
            than one batch, else nothing), 0 (nothing), 1 (the bar) or 2 (one line at the end).
        skip_unreadable: files only. Every file's header is checked before anything is decoded: with
            ``False`` (the default) a file cnnkit does not read is an error listing all such files, and
            a file that fails to decode later (a truncated JPEG) stops the run with an error naming it;
            with ``True`` those files are left out (a warning counts them; ``skipped`` lists them).
        tta: test-time augmentation (``cnnkit.tta``): ``True`` averages each image's probabilities
            with its mirror's, a number 3 to 10 adds shifted views (about that many times the time);
            ``False`` (the default): the image only. Only for a model trained with flip (and shift)
            augmentation (one trained without it does worse: see ``cnnkit.tta``); not for digits or
            text (a mirror changes them).
        threshold: a binary model's decision threshold: class 1 is predicted when its probability is
            ``>= threshold``; 0.5 (the default): the more probable class (a tie: class 0). Only for a
            model of 2 classes (1 sigmoid unit or 2 softmax units), as in :func:`evaluate_classifier`.

    Returns:
        A dict: ``class_id`` (``(n,)`` ids from 0), ``label`` (names), ``probability`` (of the
        predicted class) and ``probabilities`` (``(n, k)``; a 1-unit sigmoid output gives
        ``[1 - p, p]``); for files also ``file`` (the path of each row, in order) and ``skipped``
        (the paths left out).

    Example:
        >>> photos = example_image_folder("photos", classes=["Sneaker", "Bag"], n=1)
        >>> model = simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=2)
        >>> p = predict_classes(model, photos, class_names=["bag", "sneaker"])  # a folder: every image in it
        >>> [os.path.relpath(f, photos) for f in p["file"]], p["label"][0] in ("bag", "sneaker"), p["probabilities"].shape
        (['bag/img_001.png', 'sneaker/img_001.png'], True, (2, 2))
    """
    k = model_classes(model)[1]
    batch_size = v.positive_int(batch_size, "batch_size")
    verbose = v.choice(verbose, "verbose", choices=("auto", 0, 1, 2))
    skip_unreadable = v.flag(skip_unreadable, "skip_unreadable")
    views = check_tta(tta)
    threshold = check_threshold(threshold, k)
    names = _names(model, class_names, k)
    files = image_files(x)
    out: dict[str, Any] = {}
    if files is None:
        x = check_images(model, x, "x")
        check_range(model, x)  # images in another range than the model was trained on: a warning
        p = _probabilities(model, x, batch_size, precision, views)
    else:
        out["file"], p, skipped = predict_files(model, files, batch_size, precision, verbose, skip_unreadable,
                                                views=views)
        out["skipped"] = list(skipped)
        if skipped:
            _skip_warning(skipped, len(files))
    ids = decide(p, threshold)
    return {**out, "class_id": ids.astype("int32"), "label": [names[i] for i in ids],
            "probability": p[np.arange(len(ids)), ids], "probabilities": p}


def _summary(result: Mapping[str, Any]) -> str:
    """The report's first line: accuracy, balanced accuracy, and a binary model's threshold if not 0.5."""
    line = f"accuracy: {result['accuracy']:.4f} ({result['n']} images)"
    if result.get("balanced_accuracy") is not None:
        line += f", balanced accuracy: {result['balanced_accuracy']:.4f}"
    if result.get("threshold") is not None and result["threshold"] != 0.5:
        line += f", threshold: {result['threshold']:g}"
    return line


def _cell(x: Any) -> str:
    """A metric as the report shows it: 3 decimals; ``n/a`` for NaN (an AUC that is undefined)."""
    return "n/a" if x is None or math.isnan(x) else f"{x:.3f}"


def format_evaluation(result: dict[str, Any]) -> str:
    """The evaluation as text (how an :class:`Evaluation` prints; the R package prints the same):
    accuracy and balanced accuracy, the per-class table (precision, recall, F1, ROC AUC and PR AUC when
    the evaluation has them, support) with macro and weighted averages, and the confusion matrix."""
    pc, names = result["per_class"], result["class_names"]
    averages = result.get("averages") or _averages(np.asarray(result["confusion_matrix"]), pc)
    ranked = "roc_auc" in pc and "pr_auc" in pc
    metrics = ("precision", "recall", "f1") + (("roc_auc", "pr_auc") if ranked else ())
    heads = ("precision", "recall", "f1") + (("roc auc", "pr auc") if ranked else ()) + ("support",)
    w = max(16, max(len(n) for n in names) + 2)

    def row(label: str, values: Sequence[Any], support: float) -> str:
        return f"{label:<{w}}" + "".join(f"{'' if x == '' else _cell(x):>10}" for x in values) + f"{int(support):>10d}"

    lines = [_summary(result), "", f"{'class':<{w}}" + "".join(f"{h:>10}" for h in heads)]
    lines += [row(n, [pc[m][i] for m in metrics], pc["support"][i]) for i, n in enumerate(names)]
    lines.append("")
    if ranked and "roc_auc" not in averages["macro"]:  # an evaluation made before the averages had them
        averages = {**averages, "macro": {**averages["macro"], "roc_auc": _nanmean(pc["roc_auc"]),
                                          "pr_auc": _nanmean(pc["pr_auc"])}}
    lines += [row(f"{a} avg", [averages[a].get(m, "") for m in metrics], averages[a]["support"])
              for a in ("macro", "weighted")]
    cm = np.asarray(result["confusion_matrix"])
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
    cw = max(5, len(str(int(cm.max()))) + 1)
    lines.append(" " * w + "".join(f"{j:>{cw}}" for j in range(len(names))))
    for i, n in enumerate(names):
        lines.append(f"{f'{i} {n}':<{w}}" + "".join(f"{int(c):>{cw}}" for c in cm[i]))
    return "\n".join(lines)


def evaluation_html(result: dict[str, Any]) -> str:
    """The report as HTML tables (Jupyter's display of an :class:`Evaluation`)."""
    import html

    pc, names = result["per_class"], result["class_names"]
    averages = result.get("averages") or _averages(np.asarray(result["confusion_matrix"]), pc)
    ranked = "roc_auc" in pc and "pr_auc" in pc
    metrics = ("precision", "recall", "f1") + (("roc_auc", "pr_auc") if ranked else ())
    cells = lambda vals, tag="td": "".join(f"<{tag}>{html.escape(str(v))}</{tag}>" for v in vals)  # noqa: E731
    rows = [cells(["class", "precision", "recall", "f1"] + (["ROC AUC", "PR AUC"] if ranked else []) + ["support"], "th")]
    rows += [cells([n] + [_cell(pc[m][i]) for m in metrics] + [pc["support"][i]]) for i, n in enumerate(names)]
    rows += [cells([f"{a} avg"] + [_cell(averages[a][m]) if m in averages[a] else "" for m in metrics]
                   + [averages[a]["support"]])
             for a in ("macro", "weighted")]
    cm = np.asarray(result["confusion_matrix"])
    cm_rows = [cells(["true \\ predicted"] + names, "th")]
    cm_rows += [f"<th>{html.escape(n)}</th>" + cells(int(c) for c in cm[i]) for i, n in enumerate(names)]
    table = lambda rs: "<table>" + "".join(f"<tr>{r}</tr>" for r in rs) + "</table>"  # noqa: E731
    head, _, rest = _summary(result).partition(" (")
    return (f"<p><b>{html.escape(head)}</b> ({html.escape(rest)}</p>" + table(rows) +
            "<p>confusion matrix (rows: true class, columns: predicted class)</p>" + table(cm_rows))
