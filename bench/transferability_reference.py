"""Times the numpy/scikit-learn reference of the transferability estimators on the features
bench/transferability.ts writes: the functions of packages/transferability/src/__fixtures__/make_fixtures.py,
with kNN vectorised (argpartition over a block of rows at a time) so that it is a fair opponent.

    /usr/bin/python3 bench/transferability_reference.py FEATURES.npy TARGETS.npy REPEATS [svd|gram]

`svd` runs the fixture script's functions as written (an SVD of the n x d features for LogME and the
principal components); `gram` swaps in the route numpy users take when n > d, as LogME's official code
does: the d x d Gram matrix and `eigh`, U = X V / sigma. Prints one JSON line:
{estimator: {"seconds": [...], "score": value}}.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "packages", "transferability", "src", "__fixtures__"))
import make_fixtures as reference  # noqa: E402


def knn(X, y):
    n = X.shape[0]
    k = min(reference.KNN_NEIGHBOURS, n - 1)
    Y = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    correct = 0
    classes = int(y.max()) + 1
    for start in range(0, n, 1024):
        S = Y[start:start + 1024] @ Y.T
        S[np.arange(S.shape[0]), np.arange(start, start + S.shape[0])] = -np.inf
        top = np.argpartition(-S, k, axis=1)[:, :k]
        order = np.take_along_axis(S, top, 1).argsort(1)[:, ::-1]
        neighbours = np.take_along_axis(top, order, 1)
        labels = y[neighbours]
        votes = np.stack([(labels == c).sum(1) for c in range(classes)], 1)
        # A tie goes to the tied class whose member is nearest, as the package does.
        first = np.stack([np.where((labels == c).any(1), (labels == c).argmax(1), k) for c in range(classes)], 1)
        correct += int(((votes * (k + 1) - first).argmax(1) == y[start:start + S.shape[0]]).sum())
    return correct / n


def gram_singular(X):
    """Squared singular values above the rank tolerance and U, from XᵀX (the fast route for n > d)."""
    w, V = np.linalg.eigh(X.T @ X)
    w, V = w[::-1], V[:, ::-1]
    rank = int(np.sum(w > reference.RANK_TOLERANCE * w[0]))
    return w[:rank], (X @ V[:, :rank]) / np.sqrt(w[:rank])


def gram_principal(X, count):
    Xc = X - X.mean(0)
    w, V = np.linalg.eigh(Xc.T @ Xc)
    return Xc @ V[:, ::-1][:, :count]


def main():
    if len(sys.argv) > 4 and sys.argv[4] == "gram":
        reference.singular = gram_singular
        reference.principal = gram_principal
    X = np.load(sys.argv[1]).astype(np.float64)
    y = np.load(sys.argv[2]).astype(int)
    repeats = int(sys.argv[3])
    task = {"type": "binary", "classes": ["a", "b"], "primaryMetric": "auc"}
    probs = [(y, 2)]
    estimators = {
        "logme": lambda: reference.logme(X, task, probs),
        "hscore": lambda: reference.hscore(X, probs),
        "nleep": lambda: reference.nleep(X, task, probs, 0)[0],
        "transrate": lambda: reference.transrate(X, probs),
        "gbc": lambda: reference.gbc(X, probs),
        "knn": lambda: knn(X, y),
    }
    # Warm-up on a tenth of the rows: BLAS threads, caches and imports, as the TypeScript side does.
    head = X[: max(50, X.shape[0] // 10)]
    reference.logme(head, task, [(y[: head.shape[0]], 2)])
    knn(head, y[: head.shape[0]])
    out = {}
    for name, run in estimators.items():
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            score = run()
            seconds.append(time.perf_counter() - started)
        out[name] = {"seconds": seconds, "score": score}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
