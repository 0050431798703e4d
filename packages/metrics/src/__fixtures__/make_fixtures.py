"""Writes the JSON fixtures that the @medssl/metrics tests compare against.

Run with Debian's interpreter, which has scikit-learn 1.2.1 and numpy 1.24:

    /usr/bin/python3 packages/metrics/src/__fixtures__/make_fixtures.py

Every case is drawn from a seeded generator, so running the script again writes the same files.
Expected values come from scikit-learn; `null` marks a value scikit-learn leaves undefined (it raises,
or returns nan), which the TypeScript side must report as undefined rather than as a number.
"""

import json
import math
import os
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    roc_auc_score,
)

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20211108)


def write(name, cases):
    document = {
        "generator": "make_fixtures.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    with open(os.path.join(HERE, name), "w") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")


def number_or_null(value):
    value = float(value)
    return None if math.isnan(value) else value


def auc_or_null(targets, scores):
    try:
        return float(roc_auc_score(targets, scores))
    except ValueError:
        return None


# ---------------------------------------------------------------- binary ROC AUC

def binary_targets(n, positive_fraction):
    """At least one of each class, so the AUC is defined."""
    while True:
        targets = (rng.random(n) < positive_fraction).astype(int)
        if 0 < targets.sum() < n:
            return targets


def auc_cases():
    cases = []

    def add(name, targets, scores):
        targets = np.asarray(targets, dtype=int)
        scores = np.asarray(scores, dtype=np.float64)
        cases.append({
            "name": name,
            "targets": targets.tolist(),
            "scores": scores.tolist(),
            "expected": auc_or_null(targets, scores),
            # The same scores rounded to float32, as a Float32Array holds them.
            "expectedFloat32": auc_or_null(targets, scores.astype(np.float32)),
        })

    # n = 2, every order and a tie.
    add("n2 separated", [0, 1], [0.1, 0.9])
    add("n2 inverted", [0, 1], [0.9, 0.1])
    add("n2 tied", [1, 0], [0.5, 0.5])
    add("n3 one positive tied with one negative", [0, 1, 0], [0.2, 0.7, 0.7])

    for n in [3, 4, 5, 7, 10, 20, 50, 100, 300, 1000]:
        for positive_fraction in [0.5, 0.1]:
            targets = binary_targets(n, positive_fraction)
            signal = targets * 0.8 + rng.normal(0.0, 1.0, n)
            if n <= 100:
                add(f"n{n} p{positive_fraction} continuous", targets, signal)
            else:
                # Four decimals keep the file small; the rare ties this makes are handled anyway.
                add(f"n{n} p{positive_fraction} continuous 4dp", targets, np.round(signal, 4))
            # Probabilities rounded to one decimal: heavy ties.
            probability = 1.0 / (1.0 + np.exp(-signal))
            add(f"n{n} p{positive_fraction} one decimal", targets, np.round(probability, 1))

    for n in [2, 5, 40, 500]:
        targets = binary_targets(n, 0.5)
        add(f"n{n} all scores equal", targets, np.full(n, 0.25))

    for n in [10, 200]:
        targets = binary_targets(n, 0.4)
        add(f"n{n} integer scores 0..3", targets, rng.integers(0, 4, n))
        add(f"n{n} perfect", targets, targets * 2.0 + rng.random(n))
        add(f"n{n} perfectly inverted", targets, -targets * 2.0 + rng.random(n))
        add(f"n{n} large magnitudes and negatives", targets,
            np.round((targets + rng.normal(0, 1, n)) * 1e6, 0) - 5e5)

    # Large enough that both classes take the radix-sort path (2048 values or more each).
    targets = binary_targets(6000, 0.5)
    add("n6000 two decimals", targets, np.round(targets * 0.2 + rng.random(6000), 2))

    # Imbalanced: a single positive, a single negative.
    targets = np.zeros(200, dtype=int)
    targets[rng.integers(0, 200)] = 1
    add("n200 one positive", targets, np.round(rng.random(200), 2))
    add("n200 one negative", 1 - targets, np.round(rng.random(200), 2))
    targets = binary_targets(400, 0.02)
    add("n400 two percent positive one decimal", targets,
        np.round(np.clip(targets * 0.3 + rng.random(400) * 0.7, 0, 1), 1))
    return cases


# ---------------------------------------------------------------- multilabel AUC

def multilabel_cases():
    cases = []

    def add(name, targets, decimals):
        # The file holds short decimals; both sides read them as float32, as a Float32Array would hold them.
        scores = decimals.astype(np.float32)
        rows, label_count = targets.shape
        labels = [f"label{index}" for index in range(label_count)]
        per_label = [auc_or_null(targets[:, column], scores[:, column]) for column in range(label_count)]
        defined = [value for value in per_label if value is not None]
        cases.append({
            "name": name,
            "labels": labels,
            "rows": rows,
            "targets": targets.reshape(-1).tolist(),
            "scores": decimals.reshape(-1).tolist(),
            "perLabel": per_label,
            "macroAuc": float(np.mean(defined)) if defined else None,
            "excludedLabels": [label for label, value in zip(labels, per_label) if value is None],
        })

    for rows, label_count in [(2, 1), (4, 3), (20, 5), (100, 14), (300, 4)]:
        for ties in [False, True]:
            targets = (rng.random((rows, label_count)) < 0.3).astype(np.uint8)
            # Make every label defined first, so that the single-class label below is the only one left out.
            for column in range(label_count):
                targets[0, column], targets[1, column] = 0, 1
            scores = np.round(targets * 0.7 + rng.random((rows, label_count)), 1 if ties else 3)
            add(f"rows{rows} labels{label_count} {'one decimal' if ties else 'continuous'}", targets, scores)
            if label_count > 1:
                single = targets.copy()
                single[:, label_count - 1] = 1 if ties else 0
                add(f"rows{rows} labels{label_count} last label single class"
                    f" {'one decimal' if ties else 'continuous'}", single, scores)

    # Every label but one single-class.
    targets = np.zeros((30, 5), dtype=np.uint8)
    targets[:, 1] = 1
    targets[::3, 2] = 1
    scores = np.round(rng.random((30, 5)), 1)
    add("rows30 one label defined", targets, scores)
    return cases


# ---------------------------------------------------------------- class predictions

def class_metrics(targets, predictions, class_count):
    labels = list(range(class_count))
    kappas = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for weights in ["none", "linear", "quadratic"]:
            kappas[weights] = number_or_null(
                cohen_kappa_score(targets, predictions, labels=labels,
                                  weights=None if weights == "none" else weights))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        balanced = float(balanced_accuracy_score(targets, predictions))
        balanced_warned = any("not in y_true" in str(warning.message) for warning in caught)
    return {
        "confusion": confusion_matrix(targets, predictions, labels=labels).reshape(-1).tolist(),
        "kappa": kappas,
        "accuracy": float(accuracy_score(targets, predictions)),
        "balancedAccuracy": balanced,
        "balancedAccuracyWarned": balanced_warned,
        "macroF1": float(f1_score(targets, predictions, labels=labels, average="macro", zero_division=0)),
    }


def classification_cases():
    cases = []

    def add(name, targets, predictions, class_count):
        targets = np.asarray(targets, dtype=int)
        predictions = np.asarray(predictions, dtype=int)
        case = {
            "name": name,
            "classCount": class_count,
            "targets": targets.tolist(),
            "predictions": predictions.tolist(),
        }
        case.update(class_metrics(targets, predictions, class_count))
        cases.append(case)

    add("n1 correct", [2], [2], 3)
    add("n2 one wrong", [0, 1], [0, 0], 2)
    add("n2 all one class, agreeing", [1, 1], [1, 1], 2)
    add("n4 all one class, agreeing, five classes", [3, 3, 3, 3], [3, 3, 3, 3], 5)
    add("n5 targets one class, predictions varied", [2, 2, 2, 2, 2], [0, 2, 4, 2, 1], 5)
    add("n6 predictions one class", [0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1], 5)
    add("n6 perfect", [0, 1, 2, 3, 4, 0], [0, 1, 2, 3, 4, 0], 5)
    add("n6 perfectly reversed", [0, 1, 2, 3, 4, 0], [4, 3, 2, 1, 0, 4], 5)

    for class_count in [2, 3, 5]:
        for n in [5, 20, 100, 500]:
            targets = rng.integers(0, class_count, n)
            # Ordinal noise: mostly right, sometimes one grade off, rarely anything.
            offsets = rng.choice([-1, 0, 0, 0, 1], n)
            predictions = np.clip(targets + offsets, 0, class_count - 1)
            wild = rng.random(n) < 0.1
            predictions[wild] = rng.integers(0, class_count, wild.sum())
            add(f"classes{class_count} n{n} ordinal noise", targets, predictions, class_count)

            uniform = rng.integers(0, class_count, n)
            add(f"classes{class_count} n{n} uniform random", targets, uniform, class_count)

    # APTOS-like: five grades, imbalanced towards grade 0.
    for n in [50, 400]:
        targets = rng.choice(5, n, p=[0.5, 0.1, 0.25, 0.05, 0.1])
        predictions = np.clip(targets + rng.choice([-2, -1, 0, 0, 0, 0, 1, 2], n), 0, 4)
        add(f"aptos-like n{n}", targets, predictions, 5)

    # Classes missing from predictions, from targets, from both.
    targets = rng.integers(0, 5, 60)
    add("classes5 n60 predictions never 3 or 4", targets, np.clip(targets, 0, 2), 5)
    targets = rng.integers(0, 3, 60)
    add("classes5 n60 targets never 3 or 4", targets, rng.integers(0, 5, 60), 5)
    targets = rng.integers(1, 4, 60)
    add("classes5 n60 neither has 0 or 4", targets, np.clip(targets + rng.choice([-1, 0, 1], 60), 1, 3), 5)
    targets = rng.integers(0, 2, 30)
    add("classes4 n30 predictions only 2 and 3", targets, rng.integers(2, 4, 30), 4)
    return cases


# ---------------------------------------------------------------- task level

def task_cases():
    cases = []

    def scores_matrix(targets, columns, ties):
        raw = rng.normal(0, 1, (len(targets), columns))
        raw[np.arange(len(targets)), np.clip(targets, 0, columns - 1)] += 1.2
        probabilities = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
        # Short decimals: the file holds them, and both sides read them as float32.
        return np.round(probabilities, 1 if ties else 4)

    def class_decisions(targets, scores, class_count):
        predictions = np.argmax(scores, axis=1)
        labels = list(range(class_count))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {
                "kappa": number_or_null(cohen_kappa_score(targets, predictions, labels=labels, weights="quadratic")),
                "linear_kappa": number_or_null(cohen_kappa_score(targets, predictions, labels=labels, weights="linear")),
                "accuracy": float(accuracy_score(targets, predictions)),
                "balanced_accuracy": float(balanced_accuracy_score(targets, predictions)),
                "macro_f1": float(f1_score(targets, predictions, labels=labels, average="macro", zero_division=0)),
            }

    def add(name, task, targets, decimals, metrics, per_label=None):
        case = {
            "name": name,
            "task": task,
            "targets": np.asarray(targets).reshape(-1).tolist(),
            "targetShape": list(np.asarray(targets).shape),
            "scores": decimals.reshape(-1).tolist(),
            "scoreShape": list(decimals.shape),
            "metrics": metrics,
        }
        if per_label is not None:
            case["perLabel"] = per_label
        cases.append(case)

    binary = {"type": "binary", "classes": ["normal", "tumour"], "primaryMetric": "auc"}
    for n, ties in [(2, False), (60, False), (60, True)]:
        targets = binary_targets(n, 0.5)
        decimals = scores_matrix(targets, 2, ties)
        scores = decimals.astype(np.float32)
        metrics = {"auc": float(roc_auc_score(targets, scores[:, 1]))}
        decisions = class_decisions(targets, scores, 2)
        metrics.update({key: decisions[key] for key in ["accuracy", "balanced_accuracy", "macro_f1"]})
        add(f"binary n{n} {'one decimal' if ties else 'continuous'}", binary, targets, decimals, metrics)
        add(f"binary n{n} one column {'one decimal' if ties else 'continuous'}", binary, targets,
            decimals[:, 1:2].copy(), {"auc": metrics["auc"]})

    grades = ["none", "mild", "moderate", "severe", "proliferative"]
    ordinal = {"type": "multiclass", "classes": grades, "ordinal": True, "primaryMetric": "kappa"}
    nominal = {"type": "multiclass", "classes": ["a", "b", "c"], "ordinal": False, "primaryMetric": "accuracy"}
    for n, ties in [(40, False), (150, True)]:
        targets = rng.choice(5, n, p=[0.5, 0.1, 0.25, 0.05, 0.1])
        decimals = scores_matrix(targets, 5, ties)
        add(f"ordinal n{n} {'one decimal' if ties else 'continuous'}", ordinal, targets, decimals,
            class_decisions(targets, decimals.astype(np.float32), 5))
        targets = rng.integers(0, 3, n)
        decimals = scores_matrix(targets, 3, ties)
        decisions = class_decisions(targets, decimals.astype(np.float32), 3)
        add(f"nominal n{n} {'one decimal' if ties else 'continuous'}", nominal, targets, decimals,
            {key: decisions[key] for key in ["accuracy", "balanced_accuracy", "macro_f1"]})

    findings = ["atelectasis", "cardiomegaly", "effusion", "hernia"]
    multilabel = {"type": "multilabel", "labels": findings, "primaryMetric": "mean_auc"}
    targets = (rng.random((80, 4)) < 0.35).astype(np.uint8)
    targets[:, 3] = 0  # no hernia in this split: left out of the mean
    decimals = np.round(targets * 0.5 + rng.random((80, 4)), 2)
    scores = decimals.astype(np.float32)
    per_label = {label: auc_or_null(targets[:, column], scores[:, column]) for column, label in enumerate(findings)}
    defined = [value for value in per_label.values() if value is not None]
    add("multilabel n80 one label absent", multilabel, targets, decimals,
        {"mean_auc": float(np.mean(defined))}, per_label)
    return cases


write("auc.json", auc_cases())
write("multilabel.json", multilabel_cases())
write("classification.json", classification_cases())
write("task.json", task_cases())
