"""Writes delong_multilabel.json: DeLong's test of the mean AUC over the labels of a multilabel task,
computed directly from the definition in O(n^2), for the @medssl/metrics tests.

Run with Debian's interpreter (numpy 1.24, scipy 1.10):

    /usr/bin/python3 packages/metrics/src/__fixtures__/make_delong_multilabel.py

The structural components come from the full Mann-Whitney kernel matrix of each label (every positive
against every negative, 1 above, 1/2 tied, 0 below), not from ranks; the covariance across labels is
summed pair by pair over the four groups of rows (positive or negative for each of the two labels), as
the doc comment of `delongMultilabelTest` states it. Each label's variance is checked here against the
textbook DeLong form (2x2 sample covariances of the components over each class, np.cov) before the
file is written. Cases are drawn from a seeded generator, so running the script again writes the
same file.
"""

import json
import os

import numpy as np
from scipy.stats import norm

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240519)


def kernel_components(scores, targets):
    """V10 per positive row, V01 per negative row (one array in row order), and the AUC."""
    positives = scores[targets == 1]
    negatives = scores[targets == 0]
    kernel = (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives[None, :])
    components = np.empty(len(scores))
    components[targets == 1] = kernel.mean(axis=1)
    components[targets == 0] = kernel.mean(axis=0)
    return components, kernel.mean()


def textbook_difference_variance(components_a, auc_a, components_b, auc_b, targets):
    """L S L' with S = S10/m + S01/n, the 2x2 covariances from np.cov (divisor count - 1)."""
    contrast = np.array([1.0, -1.0])
    variance = 0.0
    for cls in (1, 0):
        rows = targets == cls
        covariance = np.cov(np.vstack([components_a[rows], components_b[rows]]))
        variance += contrast @ covariance @ contrast / rows.sum()
    return variance


def direct(scores_a, scores_b, targets, labels, confidence):
    rows, label_count = targets.shape
    included = []
    excluded = []
    per_label = {}
    for k in range(label_count):
        positives = int(targets[:, k].sum())
        negatives = rows - positives
        if min(positives, negatives) < 2:
            excluded.append(labels[k])
            per_label[labels[k]] = None
            continue
        components_a, auc_a = kernel_components(scores_a[:, k], targets[:, k])
        components_b, auc_b = kernel_components(scores_b[:, k], targets[:, k])
        included.append((k, components_a - auc_a - (components_b - auc_b), auc_a, auc_b, positives, negatives))
        textbook = textbook_difference_variance(components_a, auc_a, components_b, auc_b, targets[:, k])
        z = (auc_a - auc_b) / np.sqrt(textbook)
        per_label[labels[k]] = {
            "aucA": auc_a,
            "aucB": auc_b,
            "variance": textbook,
            "z": z,
            "pValue": 2 * norm.sf(abs(z)),
        }

    count = len(included)
    covariance = np.zeros((count, count))
    for i, (k, centred_k, _, _, m_k, n_k) in enumerate(included):
        for j, (l, centred_l, _, _, m_l, n_l) in enumerate(included):
            total = 0.0
            for class_k, c_k in ((1, m_k), (0, n_k)):
                for class_l, c_l in ((1, m_l), (0, n_l)):
                    group = (targets[:, k] == class_k) & (targets[:, l] == class_l)
                    scale = np.sqrt(c_k * (c_k - 1.0)) * np.sqrt(c_l * (c_l - 1.0))
                    total += np.sum(centred_k[group] * centred_l[group]) / scale
            covariance[i, j] = total
    for i, (k, *_rest) in enumerate(included):
        textbook = per_label[labels[k]]["variance"]
        assert abs(covariance[i, i] - textbook) <= 1e-12 * textbook, (labels[k], covariance[i, i], textbook)

    mean_a = np.mean([entry[2] for entry in included])
    mean_b = np.mean([entry[3] for entry in included])
    variance = covariance.sum() / count**2
    difference = mean_a - mean_b
    z = difference / np.sqrt(variance)
    half_width = norm.ppf(1 - (1 - confidence) / 2) * np.sqrt(variance)
    return {
        "includedLabels": [labels[entry[0]] for entry in included],
        "excludedLabels": excluded,
        "perLabel": per_label,
        "meanAucA": mean_a,
        "meanAucB": mean_b,
        "difference": difference,
        "variance": variance,
        "z": z,
        "pValue": 2 * norm.sf(abs(z)),
        "interval": [difference - half_width, difference + half_width],
        "differenceCovariance": covariance.ravel().tolist(),
    }


def draw(rows, prevalences, separation_a, separation_b):
    """Correlated labels (a shared latent severity) and predictors whose errors are shared across labels."""
    severity = rng.normal(size=(rows, 1))
    thresholds = norm.ppf(1 - np.asarray(prevalences))[None, :]
    targets = (0.8 * severity + 0.6 * rng.normal(size=(rows, len(prevalences))) > thresholds).astype(int)
    def predictor(separation):
        row_effect = rng.normal(size=(rows, 1))
        latent = separation * targets + 0.7 * row_effect + 0.5 * severity + 0.6 * rng.normal(size=targets.shape)
        return np.round(1 / (1 + np.exp(-latent)), 2)
    return targets, predictor(separation_a), predictor(separation_b)


def case(name, targets, scores_a, scores_b, labels, confidence=0.95):
    return {
        "name": name,
        "labels": labels,
        "rows": int(targets.shape[0]),
        "confidence": confidence,
        "targets": targets.ravel().tolist(),
        "scoresA": scores_a.ravel().tolist(),
        "scoresB": scores_b.ravel().tolist(),
        "expected": direct(scores_a, scores_b, targets, labels, confidence),
    }


cases = []
targets, a, b = draw(240, [0.3, 0.15, 0.5, 0.08, 0.2], 1.6, 1.2)
cases.append(case("five correlated labels", targets, a, b, ["atelectasis", "cardiomegaly", "effusion", "hernia", "mass"]))

targets, a, b = draw(200, [0.25, 0.4, 0.1, 0.3], 1.0, 1.4)
targets[:, 1] = 0  # no positives: no AUC
targets[:, 3] = 0
targets[rng.integers(0, 200), 3] = 1  # one positive: an AUC but no variance
cases.append(case("single-class and one-positive labels", targets, a, b, ["a", "b", "c", "d"], confidence=0.9))

targets, a, b = draw(150, [0.35], 1.2, 0.8)
cases.append(case("one label", targets, a, b, ["only"]))

with open(os.path.join(HERE, "delong_multilabel.json"), "w") as handle:
    json.dump({"generator": "make_delong_multilabel.py", "numpy": np.__version__, "cases": cases}, handle, separators=(",", ":"))
    handle.write("\n")
