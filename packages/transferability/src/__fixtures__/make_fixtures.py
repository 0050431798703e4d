"""Reference scores for @medssl/transferability, written from the estimators' papers with numpy,
scipy and scikit-learn (independently of the TypeScript, which works from one Gram matrix and a
tridiagonal eigensolver; this script uses SVDs, explicit covariances and slogdet).

Run with Debian's python3 (numpy, scipy 1.10, scikit-learn 1.2):
    /usr/bin/python3 packages/transferability/src/__fixtures__/make_fixtures.py
It writes reference.json beside itself. The settings below (ε, PCA sizes, mixture sizes, neighbours)
must match the package's constants; the README says which come from the papers and which are medssl's.
"""
import json
import math
import os

import numpy as np
from scipy.stats import weightedtau
from sklearn.covariance import LedoitWolf

RANK_TOLERANCE = 1e-10
TRANSRATE_EPSILON = 1e-4
GBC_COMPONENTS = 64
GBC_VARIANCE_FLOOR = 1e-6
NLEEP_VARIANCE_KEPT = 0.8
NLEEP_MAX_COMPONENTS = 256
NLEEP_GAUSSIANS_PER_CLASS = 5
KNN_NEIGHBOURS = 20
GOLDEN = 0.6180339887498949


def singular(X):
    """Squared singular values above the rank tolerance, and U (n x rank)."""
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    s2 = s ** 2
    rank = int(np.sum(s2 > RANK_TOLERANCE * s2[0]))
    return s2[:rank], U[:, :rank]


def problems(task, targets, n):
    if task["type"] == "multilabel":
        out = []
        for label in range(len(task["labels"])):
            y = np.asarray(targets)[:, label].astype(int)
            if 0 < y.sum() < n:
                out.append((y, 2))
        return out
    return [(np.asarray(targets, dtype=int), len(task["classes"]))]


def logme(X, task, probs):
    n, d = X.shape
    s2, U = singular(X)
    r = len(s2)
    if task["type"] == "multilabel":
        columns = [y.astype(float) for y, _ in probs]
    elif task["type"] == "multiclass" and task["ordinal"]:
        columns = [probs[0][0].astype(float)]
    else:
        y, _ = probs[0]
        columns = [(y == c).astype(float) for c in np.unique(y)]
    evidences = []
    for y in columns:
        x = U.T @ y
        x2 = x ** 2
        outside = max(0.0, float(y @ y - x2.sum()))
        alpha, beta = 1.0, 1.0
        for _ in range(11):
            t = alpha / beta
            gamma = np.sum(s2 / (s2 + t))
            m2 = np.sum(s2 * x2 / (t + s2) ** 2)
            res2 = np.sum(x2 / (1 + s2 / t) ** 2) + outside
            alpha = gamma / (m2 + 1e-5)
            beta = (n - gamma) / (res2 + 1e-5)
            if abs(alpha / beta - t) / t <= 1e-3:
                break
        # log det(αI + β XᵀX) over all d eigenvalues: d - r of them are α.
        logdet = np.sum(np.log(alpha + beta * s2)) + (d - r) * np.log(alpha)
        evidence = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * logdet
                    - beta / 2 * res2 - alpha / 2 * m2 - n / 2 * np.log(2 * np.pi))
        evidences.append(evidence / n)
    return float(np.mean(evidences))


def hscore(X, probs):
    n, d = X.shape
    lw = LedoitWolf(assume_centered=False).fit(X)
    alpha = lw.shrinkage_
    inverse = np.linalg.pinv(lw.covariance_, rcond=1e-15)
    Xc = X - X.mean(0)
    scores = []
    for y, _ in probs:
        g = np.zeros_like(Xc)
        for c in np.unique(y):
            g[y == c] = Xc[y == c].mean(0)
        cov_g = g.T @ g / n  # the class means are already centred on the overall mean
        scores.append(np.trace(inverse @ ((1 - alpha) * cov_g)))
    return float(np.mean(scores))


def coding_rate(Z, eps):
    m, d = Z.shape
    _, logdet = np.linalg.slogdet(np.eye(d) + Z.T @ Z / (m * eps))
    return 0.5 * logdet


def transrate(X, probs):
    Z = X - X.mean(0)
    scores = []
    for y, _ in probs:
        classes = np.unique(y)
        within = sum(coding_rate(Z[y == c], TRANSRATE_EPSILON) for c in classes) / len(classes)
        scores.append(coding_rate(Z, TRANSRATE_EPSILON) - within)
    return float(np.mean(scores))


def principal(X, count):
    Xc = X - X.mean(0)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    return U[:, :count] * s[:count]


def centred_rank(X):
    s2, _ = singular(X - X.mean(0))
    return s2


def gbc(X, probs):
    s2 = centred_rank(X)
    k = min(GBC_COMPONENTS, len(s2))
    P = principal(X, k)
    overall = (P ** 2).mean(0)
    scores = []
    for y, _ in probs:
        classes = np.unique(y)
        stats = []
        for c in classes:
            rows = P[y == c]
            stats.append((rows.mean(0), rows.var(0) + GBC_VARIANCE_FLOOR * overall))
        total = 0.0
        for a in range(len(classes)):
            for b in range(len(classes)):
                if a == b:
                    continue
                (ma, va), (mb, vb) = stats[a], stats[b]
                pooled = (va + vb) / 2
                distance = np.sum((ma - mb) ** 2 / pooled) / 8 + 0.5 * np.sum(np.log(pooled) - 0.5 * (np.log(va) + np.log(vb)))
                total += np.exp(-distance)
        scores.append(-total)
    return float(np.mean(scores))


def mixture_posteriors(P, gaussians, seed):
    n, k = P.shape
    overall = P.var(0)
    floor = 1e-6 * overall.mean()
    taken = np.zeros(n, dtype=bool)
    means = np.zeros((gaussians, k))
    offset = seed * GOLDEN * GOLDEN
    for g in range(gaussians):
        position = 0.5 + offset + (g + 1) * GOLDEN
        row = int(math.floor((position - math.floor(position)) * n))
        while taken[row]:
            row = (row + 1) % n
        taken[row] = True
        means[g] = P[row]
    variances = np.tile(overall + floor, (gaussians, 1))
    log_weights = np.full(gaussians, -np.log(gaussians))

    def expectation():
        log_norm = log_weights - 0.5 * np.sum(np.log(2 * np.pi * variances), axis=1)
        distance = (((P[:, None, :] - means[None]) ** 2) / variances[None]).sum(2)
        logp = log_norm[None] - 0.5 * distance
        largest = logp.max(1, keepdims=True)
        log_total = largest + np.log(np.exp(logp - largest).sum(1, keepdims=True))
        return np.exp(logp - log_total), float(log_total.mean())

    previous = -np.inf
    converged = False
    for _ in range(100):
        resp, ll = expectation()
        if ll - previous < 1e-6:
            converged = True
            break
        previous = ll
        weights = resp.sum(0) + 10 * np.finfo(float).eps
        means = (resp.T @ P) / weights[:, None]
        variances = np.stack([(resp[:, g:g + 1] * (P - means[g]) ** 2).sum(0) for g in range(gaussians)]) / weights[:, None] + floor
        log_weights = np.log(weights / n)
    if not converged:
        resp, _ = expectation()
    return resp


def nleep(X, task, probs, seed):
    s2 = centred_rank(X)
    cumulative = np.cumsum(s2)
    count = int(np.searchsorted(cumulative, NLEEP_VARIANCE_KEPT * cumulative[-1]) + 1)
    count = max(1, min(count, len(s2), NLEEP_MAX_COMPONENTS))
    P = principal(X, count)
    n = X.shape[0]
    classes = len(task["labels"]) if task["type"] == "multilabel" else len(task["classes"])
    gaussians = max(1, min(NLEEP_GAUSSIANS_PER_CLASS * classes, n // 2))
    resp = mixture_posteriors(P, gaussians, seed)
    scores = []
    for y, class_count in probs:
        joint = np.zeros((class_count, gaussians))
        for c in range(class_count):
            joint[c] = resp[y == c].sum(0) / n
        conditional = joint / joint.sum(0, keepdims=True)
        scores.append(float(np.mean(np.log((resp * conditional[y]).sum(1)))))
    return float(np.mean(scores)), count, gaussians


def knn(X, task, probs):
    n = X.shape[0]
    k = min(KNN_NEIGHBOURS, n - 1)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    Y = X / np.where(norms > 0, norms, 1)
    S = Y @ Y.T
    neighbours = np.zeros((n, k), dtype=int)
    for i in range(n):
        others = np.array([j for j in range(n) if j != i])
        order = np.lexsort((others, -S[i, others]))  # most similar first, ties to the lower index
        neighbours[i] = others[order[:k]]
    scores = []
    for y, class_count in probs:
        if task["type"] == "multilabel":
            from sklearn.metrics import roc_auc_score
            scores.append(roc_auc_score(y, y[neighbours].mean(1)))
            continue
        correct = 0
        for i in range(n):
            votes = np.bincount(y[neighbours[i]], minlength=class_count)
            best = max(range(class_count), key=lambda c: (votes[c], -next((j for j, v in enumerate(y[neighbours[i]]) if v == c), k)))
            correct += best == y[i]
        scores.append(correct / n)
    return float(np.mean(scores))


def features(rng, n, d, labels_of_rows, rank=None, zero_columns=0):
    """Features with class structure, a decaying spectrum, optional low rank and dead (zero) columns."""
    k = rank or d
    basis = rng.standard_normal((k, d)) * (0.85 ** np.arange(k))[:, None]
    latent = rng.standard_normal((n, k))
    X = latent @ basis + 0.3
    X += labels_of_rows @ rng.standard_normal((labels_of_rows.shape[1], d)) * 0.8
    if zero_columns:
        X[:, :zero_columns] = 0
    return X.astype(np.float32)


def case(name, rng, n, d, task, seed=0, **kwargs):
    if task["type"] == "multilabel":
        L = len(task["labels"])
        targets = (rng.random((n, L)) < np.linspace(0.15, 0.5, L)).astype(np.uint8)
        X = features(rng, n, d, targets.astype(float), **kwargs)
        target_list = targets.tolist()
    else:
        C = len(task["classes"])
        y = np.concatenate([np.arange(C), rng.integers(0, C, n - C)])
        rng.shuffle(y)
        X = features(rng, n, d, np.eye(C)[y], **kwargs)
        target_list = y.tolist()
        targets = y
    X64 = X.astype(np.float64)
    probs = problems(task, targets, n)
    nleep_score, nleep_components, gaussians = nleep(X64, task, probs, seed)
    return {
        "name": name,
        "task": task,
        "seed": seed,
        "shape": [n, d],
        "features": [float(v) for v in X.ravel()],
        "targets": target_list,
        "expected": {
            "logme": logme(X64, task, probs),
            "hscore": hscore(X64, probs),
            "nleep": nleep_score,
            "transrate": transrate(X64, probs),
            "gbc": gbc(X64, probs),
            "knn": knn(X64, task, probs),
        },
        "nleepComponents": nleep_components,
        "nleepGaussians": gaussians,
    }


def main():
    rng = np.random.default_rng(20261208)
    binary = {"type": "binary", "classes": ["normal", "tumour"], "primaryMetric": "auc"}
    multiclass = {"type": "multiclass", "classes": ["a", "b", "c", "d"], "ordinal": False, "primaryMetric": "accuracy"}
    ordinal = {"type": "multiclass", "classes": ["0", "1", "2", "3", "4"], "ordinal": True, "primaryMetric": "kappa"}
    multilabel = {"type": "multilabel", "labels": ["l0", "l1", "l2", "l3"], "primaryMetric": "mean_auc"}
    cases = [
        case("binary, n > d", rng, 120, 24, binary),
        case("binary, n > d, dead columns", rng, 100, 20, binary, zero_columns=3),
        case("multiclass, n > d", rng, 150, 32, multiclass, seed=3),
        case("ordinal, n > d", rng, 110, 16, ordinal),
        case("multilabel, n > d", rng, 90, 20, multilabel),
        case("binary, n < d", rng, 40, 96, binary),
        case("multiclass, n < d", rng, 36, 80, multiclass, seed=1),
        case("ordinal, n < d", rng, 30, 70, ordinal),
        case("multilabel, n < d", rng, 44, 60, multilabel),
        case("binary, low rank", rng, 80, 40, binary, rank=12),
        case("multiclass, rank 7 of 60 with dead columns", rng, 100, 60, multiclass, rank=3, zero_columns=10),
    ]
    taus = []
    for size in (4, 6, 9):
        x = rng.standard_normal(size)
        y = x + rng.standard_normal(size)
        taus.append({"x": x.tolist(), "y": y.tolist(), "tau": float(weightedtau(x, y).statistic)})
    x = [0.9, 0.5, 0.5, 0.1, 0.7]
    y = [3.0, 1.0, 2.0, 2.0, 5.0]
    taus.append({"x": x, "y": y, "tau": float(weightedtau(x, y).statistic)})
    x = [1.0, 2.0, 3.0, 4.0]
    taus.append({"x": x, "y": x[::-1], "tau": float(weightedtau(x, x[::-1]).statistic)})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    with open(out, "w") as f:
        json.dump({"cases": cases, "weightedTau": taus}, f)
    print(f"wrote {out}: {len(cases)} cases, {len(taus)} tau pairs")


if __name__ == "__main__":
    main()
