"""k-means clustering in NumPy: k-means++ seeding, then Lloyd iterations.

k-means looks for ``K`` means that minimise the within-cluster squared distance

    J = sum_n ||x_n - mu_{c(n)}||^2

by alternating an assignment step ``c(n) = argmin_k ||x_n - mu_k||^2`` and an update step
``mu_k = mean of the points assigned to k``; neither step can increase ``J``.
"""

import numpy as np


def squared_distances(x, means):
    """``||x_n - mu_k||^2`` for every point and mean, shape ``(N, K)``.

    Uses ``||x||^2 - 2 x . mu + ||mu||^2`` (one matrix product) instead of an ``(N, K, D)``
    array of differences, which would not fit in memory for images.

    Example:
        >>> squared_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]))
        array([[25.]])
    """
    distances = (np.sum(x**2, axis=1)[:, None] - 2.0 * x @ means.T
                 + np.sum(means**2, axis=1)[None, :])
    return np.maximum(distances, 0.0)  # rounding can make a zero distance slightly negative


def kmeans_plus_plus(x, num_clusters, rng):
    """Greedy k-means++ seeding: ``num_clusters`` data points chosen as initial means.

    Each new mean is the best of a few points drawn with probability proportional to their
    squared distance from the means chosen so far, so the seeds spread over the data.

    Args:
        x: points, shape ``(N, D)``.
        num_clusters: number of means to choose.
        rng: a ``numpy.random.Generator``.
    """
    trials = 2 + int(np.log(num_clusters))
    means = [x[rng.integers(len(x))]]
    squared = np.sum((x - means[0]) ** 2, axis=1)
    for _ in range(1, num_clusters):
        candidates = rng.choice(len(x), size=trials, p=squared / squared.sum())
        options = [np.minimum(squared, np.sum((x - x[c]) ** 2, axis=1)) for c in candidates]
        best = int(np.argmin([option.sum() for option in options]))
        means.append(x[candidates[best]])
        squared = options[best]
    return np.array(means)


def lloyd(x, means, iterations=20):
    """Lloyd iterations from ``means``: assign each point to its nearest mean, then move each
    mean to the average of its points (a mean without points stays where it is)."""
    for _ in range(iterations):
        nearest = np.argmin(squared_distances(x, means), axis=1)
        means = np.array([x[nearest == k].mean(axis=0) if np.any(nearest == k) else means[k]
                          for k in range(len(means))])
    return means


def kmeans(x, num_clusters, seed=0, iterations=20):
    """Cluster the rows of ``x`` with k-means.

    Args:
        x: points, shape ``(N, D)`` (flatten images first).
        num_clusters: number of clusters ``K`` (1 <= K <= N).
        seed: seed of the k-means++ seeding.
        iterations: Lloyd iterations.

    Returns:
        ``(means, assignments)``: means of shape ``(K, D)`` and the cluster of each row.

    Example:
        >>> points = np.array([[0.0], [0.1], [5.0], [5.1]])
        >>> means, assignments = kmeans(points, 2)
        >>> sorted(means.ravel().round(2).tolist())
        [0.05, 5.05]
    """
    x = np.asarray(x, dtype="float64")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got {x.shape}; flatten images first")
    if not 1 <= int(num_clusters) <= len(x):
        raise ValueError(f"num_clusters must be between 1 and the number of points ({len(x)}), "
                         f"got {num_clusters}")
    means = lloyd(x, kmeans_plus_plus(x, int(num_clusters), np.random.default_rng(seed)),
                  iterations)
    return means, np.argmin(squared_distances(x, means), axis=1)


def purity(assignments, labels):
    """Share of points whose label is the most common label of their cluster.

    An evaluation only: it needs the labels that clustering did without. ``1.0`` means every
    cluster holds one class.

    Example:
        >>> purity(np.array([0, 0, 1, 1]), np.array([3, 3, 3, 5]))
        0.75
    """
    assignments, labels = np.asarray(assignments), np.asarray(labels)
    if assignments.shape != labels.shape or assignments.ndim != 1:
        raise ValueError(f"assignments and labels must be 1-D of the same length, got "
                         f"{assignments.shape} and {labels.shape}")
    majority = sum(np.bincount(labels[assignments == k]).max() for k in np.unique(assignments))
    return float(majority / len(labels))
