"""The evaluation as a report (issue 13): evaluate_classifier() returns an Evaluation, a dict that
prints as accuracy + per-class table with macro and weighted averages + confusion matrix (the same
text as R's print(), tests/testthat/test-plot.R), shows as HTML tables in Jupyter and plots itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnkit
from cnnkit.evaluate import Evaluation, as_evaluation, evaluation_from_counts, format_evaluation

CM = np.array([[5, 1, 0, 0], [2, 7, 1, 0], [0, 0, 0, 0], [1, 0, 0, 3]])  # class 2 never occurs


def by_definition(cm):
    """Precision, recall, F1 per class and their averages, computed here from the definitions."""
    k = len(cm)
    rows = []
    for c in range(k):
        tp, pred, true = cm[c, c], cm[:, c].sum(), cm[c, :].sum()
        p = tp / pred if pred else 0.0
        r = tp / true if true else 0.0
        rows.append((p, r, 2 * p * r / (p + r) if p + r else 0.0, true))
    occurs = [c for c in range(k) if cm[:, c].sum() + cm[c, :].sum() > 0]  # scikit-learn's labels
    macro = [np.mean([rows[c][m] for c in occurs]) for m in range(3)]
    n = cm.sum()
    weighted = [sum(rows[c][m] * rows[c][3] for c in range(k)) / n for m in range(3)]
    return rows, macro, weighted


def test_averages_follow_the_definitions():
    ev = evaluation_from_counts(CM, ["a", "b", "c", "d"])
    rows, macro, weighted = by_definition(CM)
    assert ev["accuracy"] == pytest.approx(15 / 20) and ev["n"] == 20
    for m, name in enumerate(("precision", "recall", "f1")):
        assert ev["per_class"][name] == pytest.approx([r[m] for r in rows])
        assert ev["averages"]["macro"][name] == pytest.approx(macro[m])
        assert ev["averages"]["weighted"][name] == pytest.approx(weighted[m])
    assert ev["averages"]["macro"]["support"] == ev["averages"]["weighted"]["support"] == 20


def test_the_report_prints_table_averages_and_matrix():
    ev = evaluation_from_counts(CM, ["cat", "dog", "bird", "a long class name"])
    lines = repr(ev).splitlines()
    assert str(ev) == repr(ev) == format_evaluation(ev)
    # balanced accuracy: the mean recall over the classes that occur in the labels (not bird)
    assert lines[0] == f"accuracy: 0.7500 (20 images), balanced accuracy: {np.mean([5 / 6, 7 / 10, 3 / 4]):.4f}"
    assert lines[2].split() == ["class", "precision", "recall", "f1", "support"]
    rows, macro, weighted = by_definition(CM)
    dog = lines[4].split()
    assert dog[0] == "dog" and [float(v) for v in dog[1:4]] == pytest.approx(rows[1][:3], abs=5e-4) and dog[4] == "10"
    assert lines[6].startswith("a long class name ")
    macro_line = next(line for line in lines if line.startswith("macro avg"))
    weighted_line = next(line for line in lines if line.startswith("weighted avg"))
    assert [float(v) for v in macro_line.split()[2:5]] == pytest.approx(macro, abs=5e-4)
    assert [float(v) for v in weighted_line.split()[2:5]] == pytest.approx(weighted, abs=5e-4)
    assert macro_line.split()[-1] == weighted_line.split()[-1] == "20"
    assert "confusion matrix (rows: true class, columns: predicted class)" in lines
    assert lines[-1].split() == ["3", "a", "long", "class", "name", "1", "0", "0", "3"]
    # every row of the table starts its numbers at the same column
    table = [line for line in lines[2:10] if line]
    assert len({len(line) for line in table}) == 1  # fixed-width columns


def test_html_for_jupyter_and_plot():
    ev = evaluation_from_counts(CM, ["cat", "dog", "bird", "<fish>"])
    html = ev._repr_html_()
    assert html.count("<tr>") == 1 + 4 + 2 + 1 + 4  # header, classes, averages; matrix header and rows
    assert "macro avg" in html and "weighted avg" in html and "&lt;fish&gt;" in html and "<fish>" not in html
    assert "accuracy: 0.7500" in html
    fig = ev.plot()
    assert fig.axes[0].get_title().startswith("Confusion matrix (accuracy 75.0%")


def test_evaluate_classifier_returns_an_evaluation_that_survives_json():
    d = cnnkit.load_fashion_mnist(n=200, n_test=60)
    model = cnnkit.simple_cnn((28, 28, 1), blocks=1, filters=4, units=8, num_classes=10)
    cnnkit.fit_classifier(model, (d["x_train"], d["y_train"]), epochs=1, verbose=0)
    ev = cnnkit.evaluate_classifier(model, (d["x_test"], d["y_test"]), d["class_names"])
    assert isinstance(ev, Evaluation) and isinstance(ev, dict)
    assert set(ev) == {"accuracy", "balanced_accuracy", "n", "confusion_matrix", "per_class", "averages", "class_names",
                       "file", "threshold", "y_true", "probabilities"}  # the last two: for plot_roc_curves()
    assert repr(ev).startswith(f"accuracy: {ev['accuracy']:.4f} (60 images)")
    stored = json.loads(json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in ev.items()}))
    back = as_evaluation(stored)  # a finished run read back from metrics.json prints the same
    assert repr(back) == repr(ev)


def test_a_finished_run_read_back_prints_the_report(tmp_path):
    first = cnnkit.train_classifier("lenet5", subset=100, epochs=1, batch_size=50, run_dir=tmp_path / "run", verbose=0)
    with pytest.warns(UserWarning, match="holds a finished run"):
        again = cnnkit.train_classifier("lenet5", subset=100, epochs=1, batch_size=50, run_dir=tmp_path / "run",
                                        verbose=0)
    assert isinstance(again["evaluation"], Evaluation)
    assert repr(again["evaluation"]) == repr(first["evaluation"])
