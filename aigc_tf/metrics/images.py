"""Metrics for generated digits: how close, how varied, how balanced, how original.

Most metrics compare *features*: the 128 penultimate ReLU activations of the fixed MNIST judge
(:func:`aigc_tf.models.classifier.load_mnist_judge`), computed for generated samples and for
held-out real digits. Published papers use an Inception network on natural images; the
definitions are the same, only the feature network differs, so our numbers are not comparable
with published FID or KID values.

* Frechet distance (Heusel et al. 2017): distance between Gaussians fitted to the two sets.
* KID (Binkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.
* Precision and recall (Kynkaanniemi et al. 2019): what share of the samples look real
  (fidelity) and what share of the real data the samples reach (coverage of the modes).
* Density and coverage (Naeem et al. 2020): versions of the two that outliers fool less.
* Within-class diversity, class balance, memorisation (nearest training image in pixels) and
  requested-label accuracy for conditional models.

:func:`evaluate_images` computes all of them for a batch of images, and :func:`summary_line`
sums them up in one line. Every function checks its inputs and raises a ``ValueError`` that says
what it expected.
"""

import dataclasses
import functools

import numpy as np

from aigc_tf import data
from aigc_tf.clustering import squared_distances

BLOCK_ROWS = 512  # rows per block of pairwise distances: 512 x 4,000 float64 is 16 MB
RANGE_TOLERANCE = 1e-3  # as a share of the pixel range: generators overshoot by rounding
MEMORISATION_REFERENCE_SIZE = 1000  # held-out images used to set the memorisation scale
NUM_CLASSES = 10


# ----------------------------------------------------------------------------- input checks


def _as_features(features, name, min_samples=1, reason=""):
    array = np.asarray(features, dtype="float64")
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array of shape (N, D), got shape {array.shape}")
    if len(array) < min_samples:
        noun = "sample" if min_samples == 1 else "samples"
        raise ValueError(f"{name} needs at least {min_samples} {noun}{reason}, got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, but contains NaN or inf")
    return array


def _check_same_width(a, b, names):
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of features (columns), "
            f"got {a.shape[1]} and {b.shape[1]}"
        )


def _check_k(k):
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _as_classes(classes, count, name, num_classes=NUM_CLASSES):
    array = np.asarray(classes)
    if array.ndim != 1 or len(array) != count:
        raise ValueError(f"{name} must have shape ({count},), got {array.shape}")
    if count == 0:
        raise ValueError(f"{name} is empty; expected at least one class label")
    if not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() >= num_classes:
        raise ValueError(f"{name} must be integers in 0..{num_classes - 1}")
    return array


# ------------------------------------------------------------------------ pairwise distances


def _squared_distance_blocks(points, others):
    """Yield ``(rows, squared distances)`` from consecutive blocks of ``points`` to ``others``.

    Blocks keep memory at ``BLOCK_ROWS x len(others)`` however many points there are.
    """
    for start in range(0, len(points), BLOCK_ROWS):
        rows = slice(start, min(start + BLOCK_ROWS, len(points)))
        yield rows, squared_distances(points[rows], others)


def _self_pairs(rows):
    """Index of each point's distance to itself inside a block of ``points`` vs ``points``."""
    return np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)


def _kth_neighbour_squared_radii(points, k):
    """Squared distance from each point to its k-th nearest *other* point."""
    radii = np.empty(len(points))
    for rows, squared in _squared_distance_blocks(points, points):
        squared[_self_pairs(rows)] = np.inf  # a point is not its own neighbour
        radii[rows] = np.partition(squared, k - 1, axis=1)[:, k - 1]
    return radii


def _mean_pairwise_distance(points):
    """Mean Euclidean distance over all pairs of distinct points."""
    total = 0.0
    for rows, squared in _squared_distance_blocks(points, points):
        squared[_self_pairs(rows)] = 0.0
        total += np.sqrt(squared).sum()
    return total / (len(points) * (len(points) - 1))


def _nearest(points, others):
    """Index of the nearest row of ``others`` for each point, and the exact distance to it."""
    index = np.empty(len(points), dtype="int64")
    for rows, squared in _squared_distance_blocks(points, others):
        index[rows] = squared.argmin(axis=1)
    # The matrix-product trick leaves rounding error of ~1e-7; recomputing the chosen pair
    # directly makes an exact copy come out at exactly 0.
    distances = np.sqrt(np.sum((points - others[index]) ** 2, axis=1))
    return index, distances


# ------------------------------------------------------------------- distribution distances


def gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """Frechet (2-Wasserstein) distance squared between two Gaussians.

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The trace of the matrix square
    root is computed from eigenvalues, which stays real and stable for singular covariances:
    with ``S_a = U diag(l) U^T``, ``R = U diag(sqrt(l)) U^T``, the matrix ``R S_b R`` is
    symmetric with the same eigenvalues as ``S_a S_b``, so the trace is the sum of the square
    roots of its eigenvalues.

    Args:
        mean_a, mean_b: means, shape ``(D,)``.
        cov_a, cov_b: covariance matrices, shape ``(D, D)``, symmetric positive semi-definite.

    Returns:
        The distance as a float (0 for identical Gaussians).

    Example:
        >>> gaussian_frechet_distance([0.0, 0.0], np.eye(2), [3.0, 0.0], 4 * np.eye(2))
        11.0
    """
    mean_a, mean_b = (np.asarray(m, dtype="float64") for m in (mean_a, mean_b))
    if mean_a.ndim != 1 or mean_a.shape != mean_b.shape:
        raise ValueError(
            f"means must be 1-D arrays of the same length D, got {mean_a.shape} and {mean_b.shape}"
        )
    size = len(mean_a)
    cov_a, cov_b = (np.asarray(c, dtype="float64") for c in (cov_a, cov_b))
    if cov_a.shape != (size, size) or cov_b.shape != (size, size):
        raise ValueError(
            f"covariances must have shape (D, D) = {(size, size)}, got {cov_a.shape} and "
            f"{cov_b.shape}"
        )
    if not all(np.all(np.isfinite(x)) for x in (mean_a, mean_b, cov_a, cov_b)):
        raise ValueError("means and covariances must be finite, but contain NaN or inf")
    cov_a, cov_b = (cov_a + cov_a.T) / 2, (cov_b + cov_b.T) / 2  # remove rounding asymmetry
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    root_a = (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0))) @ eigenvectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.maximum(np.linalg.eigvalsh((middle + middle.T) / 2), 0)).sum()
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(distance, 0.0))  # a true distance; rounding can leave -1e-12


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to two feature sets (FID's formula).

    Fits a mean and a covariance (unbiased, ``N - 1``) to each set, in float64, and calls
    :func:`gaussian_frechet_distance`. The estimate is biased upwards at small sample sizes,
    so compare it with :func:`real_floor` at the same number of samples.

    Args:
        features_a, features_b: features, shapes ``(N_a, D)`` and ``(N_b, D)``, at least 2
            rows each.

    Returns:
        The distance as a float.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a = rng.normal(size=(5000, 2))
        >>> round(frechet_distance(a, a + [3.0, 4.0]), 2)
        25.0
    """
    a = _as_features(features_a, "features_a", 2, " to estimate a covariance")
    b = _as_features(features_b, "features_b", 2, " to estimate a covariance")
    _check_same_width(a, b, ("features_a", "features_b"))
    covariances = [np.atleast_2d(np.cov(x, rowvar=False)) for x in (a, b)]
    return gaussian_frechet_distance(a.mean(axis=0), covariances[0],
                                     b.mean(axis=0), covariances[1])


def _polynomial_kernel(x, y):
    base = x @ y.T / x.shape[1] + 1.0
    return base * base * base  # several times faster than ** 3 (a float power)


def _unbiased_mmd2(x, y):
    """Unbiased MMD^2 of two equal-sized sets: within-set sums leave out the diagonal."""
    m = len(x)
    k_xx, k_yy = _polynomial_kernel(x, x), _polynomial_kernel(y, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return within - 2 * _polynomial_kernel(x, y).mean()


def kid(features_a, features_b, num_subsets=100, subset_size=500, seed=0):
    """Kernel Inception Distance: unbiased MMD^2 with the kernel ``(x . y / D + 1)^3``.

    The estimate is averaged over ``num_subsets`` random subsets of
    ``m = min(subset_size, N_a, N_b)`` rows of each set (drawn without replacement within a
    subset). Unlike the Frechet distance it is unbiased: two samples of the same distribution
    give a mean near 0 at any sample size (slightly negative values happen). The name comes
    from the paper's Inception features; with the judge's unnormalised ReLU features
    ``x . y / D`` is about 7, the kernel about 500, and KID far larger than published values:
    1,000 real digits against the held-out ones give about 0 +- 0.5.

    Args:
        features_a, features_b: features, shapes ``(N_a, D)`` and ``(N_b, D)``, at least 2
            rows each.
        num_subsets: number of random subsets. When both sets have at most ``subset_size``
            rows every subset is the whole of both sets, so one is computed and ``std`` is 0.
        subset_size: rows per subset. The paper uses 1,000 rows drawn from 50,000 images;
            our reference has 1,000 held-out digits offline, so the default is 500, which
            leaves the subsets room to differ and gives ``std`` a meaning.
        seed: seed of the subset draws.

    Returns:
        ``{"mean": ..., "std": ...}`` over the subsets.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> same = kid(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)))
        >>> abs(same["mean"]) < 0.01
        True
        >>> kid(rng.normal(size=(500, 4)), rng.normal(2.0, size=(500, 4)))["mean"] > 1
        True
    """
    a = _as_features(features_a, "features_a", 2, " for an unbiased MMD")
    b = _as_features(features_b, "features_b", 2, " for an unbiased MMD")
    _check_same_width(a, b, ("features_a", "features_b"))
    if subset_size < 2 or num_subsets < 1:
        raise ValueError(
            f"need subset_size >= 2 and num_subsets >= 1, got {subset_size} and {num_subsets}"
        )
    m = min(subset_size, len(a), len(b))
    if m == len(a) == len(b):
        num_subsets = 1  # every subset would be both whole sets
    rng = np.random.default_rng(seed)
    estimates = [
        _unbiased_mmd2(a[rng.choice(len(a), m, replace=False)],
                       b[rng.choice(len(b), m, replace=False)])
        for _ in range(num_subsets)
    ]
    return {"mean": float(np.mean(estimates)), "std": float(np.std(estimates))}


# -------------------------------------------------------------------- k-NN manifold metrics


def _share_inside_any_ball(points, centres, squared_radii):
    inside = np.zeros(len(points), dtype=bool)
    for rows, squared in _squared_distance_blocks(points, centres):
        inside[rows] = np.any(squared <= squared_radii, axis=1)
    return float(inside.mean())


def precision_recall(real_features, fake_features, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Each real point gets a ball reaching its k-th nearest other real point; the union of the
    balls approximates the real data manifold. *Precision* is the share of fakes inside at
    least one real ball (do samples look real?); *recall* is the share of reals inside at least
    one fake ball, with radii from the fakes' own k-th neighbours (do samples reach every kind
    of real digit?).

    Args:
        real_features: features of real data, shape ``(N, D)``, more than ``k`` rows.
        fake_features: features of generated data, shape ``(M, D)``, more than ``k`` rows.
        k: neighbour that sets the radii (3 in the paper).

    Returns:
        ``{"precision": ..., "recall": ...}``, each in [0, 1].

    Example:
        >>> real = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> precision_recall(real, real + [0.1, 0.0], k=1)
        {'precision': 1.0, 'recall': 1.0}
        >>> precision_recall(real, real + [10.0, 0.0], k=1)
        {'precision': 0.0, 'recall': 0.0}
    """
    _check_k(k)
    reason = f" for a k-NN radius with k={k} (more than k)"
    real = _as_features(real_features, "real_features", k + 1, reason)
    fake = _as_features(fake_features, "fake_features", k + 1, reason)
    _check_same_width(real, fake, ("real_features", "fake_features"))
    return {
        "precision": _share_inside_any_ball(fake, real, _kth_neighbour_squared_radii(real, k)),
        "recall": _share_inside_any_ball(real, fake, _kth_neighbour_squared_radii(fake, k)),
    }


def density_coverage(real_features, fake_features, k=5):
    """Density and coverage (Naeem et al. 2020).

    Only real points get k-NN balls, so a few outlying fakes cannot inflate the balls the way
    they inflate recall. *Density* counts how many real balls contain each fake, divided by
    ``k`` and averaged (about 1 when fakes follow the real distribution; above 1 when they
    crowd where the reals are dense). *Coverage* is the share of real balls that contain at
    least one fake.

    Args:
        real_features: features of real data, shape ``(N, D)``, more than ``k`` rows.
        fake_features: features of generated data, shape ``(M, D)``.
        k: neighbour that sets the real radii (5 in the paper).

    Returns:
        ``{"density": ..., "coverage": ...}``; coverage is in [0, 1].

    Example:
        >>> real = np.array([[0.0], [1.0], [10.0], [11.0]])  # every k=1 radius is 1
        >>> density_coverage(real, np.array([[0.0], [0.5]]), k=1)  # 2 balls each; 0 and 1 covered
        {'density': 2.0, 'coverage': 0.5}
    """
    _check_k(k)
    real = _as_features(real_features, "real_features", k + 1,
                        f" for a k-NN radius with k={k} (more than k)")
    fake = _as_features(fake_features, "fake_features", 1)
    _check_same_width(real, fake, ("real_features", "fake_features"))
    squared_radii = _kth_neighbour_squared_radii(real, k)
    balls_per_fake = np.zeros(len(fake))
    for rows, squared in _squared_distance_blocks(fake, real):
        balls_per_fake[rows] = np.sum(squared <= squared_radii, axis=1)
    covered = np.zeros(len(real), dtype=bool)
    for rows, squared in _squared_distance_blocks(real, fake):
        covered[rows] = squared.min(axis=1) <= squared_radii[rows]
    return {"density": float(balls_per_fake.mean() / k), "coverage": float(covered.mean())}


# ------------------------------------------------------------------ per-class and per-image


def within_class_diversity(fake_features, fake_classes, real_features, real_classes,
                           min_samples=2):
    """How varied the samples of each class are, relative to real digits of that class.

    For every class, the ratio of the mean pairwise feature distance among its fakes to the
    same mean among its reals: about 1 when a class's samples vary as much as real digits,
    near 0 when the generator draws nearly the same image every time (it ignores its noise).
    Classes with fewer than ``min_samples`` fakes (or fewer than 2 reals) are skipped.

    Args:
        fake_features: features of generated data, shape ``(M, D)``.
        fake_classes: class of each fake, integers in 0..9 (e.g. the judge's prediction).
        real_features: features of real data, shape ``(N, D)``.
        real_classes: class of each real point, integers in 0..9.
        min_samples: fewest fakes (at least 2) for a class to be scored.

    Returns:
        ``{"per_class": {class: ratio}, "mean": ...}``; the mean weights each class by its
        number of fakes and is NaN when no class has enough samples.

    Example:
        >>> real = np.array([[0.0], [2.0], [10.0], [14.0]])
        >>> fake = np.array([[0.0], [1.0], [10.0], [10.0]])
        >>> within_class_diversity(fake, [0, 0, 1, 1], real, [0, 0, 1, 1])
        {'per_class': {0: 0.5, 1: 0.0}, 'mean': 0.25}
    """
    fake = _as_features(fake_features, "fake_features", 1)
    real = _as_features(real_features, "real_features", 1)
    _check_same_width(real, fake, ("real_features", "fake_features"))
    fake_classes = _as_classes(fake_classes, len(fake), "fake_classes")
    real_classes = _as_classes(real_classes, len(real), "real_classes")
    if min_samples < 2:
        raise ValueError(f"min_samples must be at least 2 (a pair), got {min_samples}")
    per_class, weights = {}, []
    for label in np.unique(fake_classes):
        fakes, reals = fake[fake_classes == label], real[real_classes == label]
        if len(fakes) < min_samples or len(reals) < 2:
            continue
        ratio = _mean_pairwise_distance(fakes) / _mean_pairwise_distance(reals)
        per_class[int(label)] = float(ratio)
        weights.append(len(fakes))
    mean = np.average(list(per_class.values()), weights=weights) if per_class else np.nan
    return {"per_class": per_class, "mean": float(mean)}


def class_balance(predicted_classes, reference_shares=None, num_classes=NUM_CLASSES):
    """Histogram of predicted classes and its total-variation distance to reference shares.

    Args:
        predicted_classes: class of each sample, integers in ``0..num_classes - 1``.
        reference_shares: expected share of each class (normalised, so counts work too);
            uniform by default.
        num_classes: number of classes.

    Returns:
        ``{"histogram": counts, "shares": shares, "tv_distance": 0.5 * sum |p - q|}``; the
        distance is 0 for matching shares and 1 for disjoint ones.

    Example:
        >>> class_balance([0, 0, 1, 1], num_classes=2)["tv_distance"]
        0.0
        >>> class_balance([0, 0, 0, 0], num_classes=2)["tv_distance"]
        0.5
    """
    classes = _as_classes(predicted_classes, len(np.atleast_1d(predicted_classes)),
                          "predicted_classes", num_classes)
    histogram = np.bincount(classes, minlength=num_classes)
    shares = histogram / histogram.sum()
    if reference_shares is None:
        reference = np.full(num_classes, 1 / num_classes)
    else:
        reference = np.asarray(reference_shares, dtype="float64")
        if reference.shape != (num_classes,) or np.any(reference < 0) or reference.sum() <= 0:
            raise ValueError(
                f"reference_shares must be {num_classes} non-negative numbers with a positive "
                f"sum, got {reference_shares!r}"
            )
        reference = reference / reference.sum()
    return {
        "histogram": histogram.tolist(),
        "shares": shares.tolist(),
        "tv_distance": float(0.5 * np.abs(shares - reference).sum()),
    }


def requested_label_accuracy(predicted_classes, requested_labels):
    """Share of samples that the judge classifies as the label they were generated for.

    Example:
        >>> requested_label_accuracy([3, 1, 4, 1], [3, 1, 4, 2])
        0.75
    """
    predicted = np.asarray(predicted_classes)
    requested = np.asarray(requested_labels)
    if predicted.ndim != 1 or predicted.shape != requested.shape or len(predicted) == 0:
        raise ValueError(
            "predicted_classes and requested_labels must be non-empty 1-D arrays of the same "
            f"length, got shapes {predicted.shape} and {requested.shape}"
        )
    return float(np.mean(predicted == requested))


def _as_pixel_rows(images, name, image_shape=None):
    """Images in [0, 1] with at least one pixel axis, flattened to float64 rows."""
    array = np.asarray(images, dtype="float64")
    if array.ndim < 2 or (image_shape is not None and array.shape[1:] != image_shape):
        expected = "(N, ...)" if image_shape is None else f"(N, {', '.join(map(str, image_shape))})"
        raise ValueError(f"{name} must have shape {expected}, got {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{name} is empty; expected at least one image")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, but contains NaN or inf")
    if array.min() < -RANGE_TOLERANCE or array.max() > 1 + RANGE_TOLERANCE:
        raise ValueError(
            f"{name} must lie in [0, 1] for memorisation, got values from {array.min():.3g} "
            f"to {array.max():.3g}; rescale with data.rescale first"
        )
    return array.reshape(len(array), -1).clip(0, 1)


def _median_by_class(distances, classes):
    return {int(c): float(np.median(distances[classes == c])) for c in np.unique(classes)}


def memorisation(samples, train_images, reference_images, threshold=0.5, sample_classes=None,
                 reference_classes=None, reference_distances=None):
    """Flag samples that are (near) copies of training images, by distance in pixel space.

    Pixel space, not judge features: a copy is a copy of pixels, while features are built to
    ignore details, so two different digits of the same class can share features. Each
    sample's Euclidean distance to its nearest training image is divided by the median of the
    same distance for held-out real digits (``reference_images``): an exact copy scores 0, a
    new digit about 1.

    Some digits sit much closer to each other than others (ones are thin strokes): with one
    overall median about 7% of held-out offline MNIST digits, all ones, score below 0.5. Give
    the judge's classes of samples and references to divide by the median of the sample's own
    class instead (offline, no held-out digit then scores below 0.56); :func:`evaluate_images`
    does.

    Args:
        samples: generated images in [0, 1], shape ``(N, ...)``.
        train_images: training images in [0, 1], same shape per image.
        reference_images: held-out real images in [0, 1], same shape per image.
        threshold: ratios below it count as copies.
        sample_classes, reference_classes: optional classes (integers in 0..9) of the samples
            and the references, to use a per-class median; give both or neither.
        reference_distances: optional precomputed distances of ``reference_images`` to their
            nearest training image (:class:`RealReference` caches them); computed if None.

    Returns:
        ``{"ratios", "copy_share", "nearest_index", "reference_median"}``: per-sample ratios,
        the share below ``threshold``, the index of each sample's nearest training image and
        the overall median used as the scale (with classes, also ``"class_medians"``).

    Example:
        >>> train = np.array([[0.0, 0.0], [1.0, 1.0]])
        >>> held_out = np.array([[0.0, 0.5], [1.0, 0.5]])
        >>> result = memorisation(np.array([[1.0, 1.0], [0.5, 0.0]]), train, held_out)
        >>> result["ratios"].tolist(), result["copy_share"], result["nearest_index"].tolist()
        ([0.0, 1.0], 0.5, [1, 0])
    """
    train = _as_pixel_rows(train_images, "train_images")
    image_shape = np.shape(train_images)[1:]
    points = _as_pixel_rows(samples, "samples", image_shape)
    reference = _as_pixel_rows(reference_images, "reference_images", image_shape)
    by_class = sample_classes is not None
    if by_class != (reference_classes is not None):
        raise ValueError("give both sample_classes and reference_classes, or neither")
    if by_class:
        sample_classes = _as_classes(sample_classes, len(points), "sample_classes")
        reference_classes = _as_classes(reference_classes, len(reference), "reference_classes")
    nearest_index, distances = _nearest(points, train)
    if reference_distances is None:
        _, reference_distances = _nearest(reference, train)
    elif np.shape(reference_distances) != (len(reference),):
        raise ValueError(f"reference_distances must have shape ({len(reference)},), "
                         f"got {np.shape(reference_distances)}")
    reference_median = float(np.median(reference_distances))
    if reference_median == 0:
        raise ValueError(
            "reference_images must be held-out images, but most are copies of training images"
        )
    result = {"reference_median": reference_median}
    scale = np.full(len(points), reference_median)
    if by_class:
        medians = _median_by_class(reference_distances, reference_classes)
        # a class without held-out examples falls back to the overall median
        scale = np.array([medians.get(int(c), reference_median) for c in sample_classes])
        result["class_medians"] = medians
    ratios = distances / np.maximum(scale, np.finfo("float64").tiny)
    return {
        "ratios": ratios,
        "copy_share": float(np.mean(ratios < threshold)),
        "nearest_index": nearest_index,
        **result,
    }


# -------------------------------------------------------------------- image-level entry points


@dataclasses.dataclass(frozen=True)
class RealReference:
    """Held-out real digits seen through a judge, plus the training images (read-only arrays).

    Attributes:
        split: the held-out MNIST split.
        images: its images in [0, 1], shape ``(N, 28, 28, 1)``.
        labels: their true labels.
        features: the judge's features of the images, shape ``(N, 128)``.
        classes: the judge's predicted classes of the images.
        train_images: the MNIST training images in [0, 1].
        memorisation_distances: pixel distance of each of the first
            ``MEMORISATION_REFERENCE_SIZE`` images to its nearest training image (the scale
            of :func:`memorisation`, computed once instead of on every evaluation).
    """

    split: str
    images: np.ndarray
    labels: np.ndarray
    features: np.ndarray
    classes: np.ndarray
    train_images: np.ndarray
    memorisation_distances: np.ndarray


def _read_only(array):
    array = np.asarray(array)
    array.flags.writeable = False  # cached and shared between calls: nobody may edit it
    return array


@functools.cache
def _default_judge():
    from aigc_tf.models.classifier import load_mnist_judge

    return load_mnist_judge(verbose=False)


@functools.lru_cache(maxsize=4)
def _cached_reference(judge, split):
    # lru_cache keys on the judge object and keeps it alive, so an id is never reused
    images, labels = data.load_mnist(split)
    train_images, _ = data.load_mnist("train")
    return RealReference(
        split=split,
        images=_read_only(images),
        labels=_read_only(labels),
        features=_read_only(judge.features(images)),
        classes=_read_only(judge.predict_labels(images)),
        train_images=_read_only(train_images),
        memorisation_distances=_read_only(_nearest(
            _as_pixel_rows(images[:MEMORISATION_REFERENCE_SIZE], "images"),
            _as_pixel_rows(train_images, "train_images"))[1]),
    )


def real_reference(split="test", judge=None):
    """Held-out real digits, their judge features and classes, and the training images.

    Computed once per judge and split, then cached.

    Args:
        split: the held-out split; only ``"test"`` is held out from training.
        judge: an :class:`~aigc_tf.models.classifier.MnistJudge`; the default judge if None.

    Returns:
        A :class:`RealReference`.

    Example:
        >>> reference = real_reference()  # doctest: +SKIP
        >>> reference.features.shape  # doctest: +SKIP
        (1000, 128)
    """
    if split != "test":
        raise ValueError(
            f"split must be the held-out split 'test', got {split!r}: 'train' and 'all' "
            "contain the training images the generator learned from"
        )
    return _cached_reference(judge or _default_judge(), split)


@functools.lru_cache(maxsize=16)
def _cached_floor(judge, num_samples, seed):
    reference = real_reference("test", judge)
    train = reference.train_images
    if not 2 <= num_samples <= len(train):
        raise ValueError(
            f"num_samples must be between 2 and the {len(train):,} training images, "
            f"got {num_samples}"
        )
    chosen = np.random.default_rng(seed).choice(len(train), num_samples, replace=False)
    features = judge.features(train[np.sort(chosen)])
    kernel = kid(features, reference.features, seed=seed)
    return {
        "num_samples": num_samples,
        "fd": frechet_distance(features, reference.features),
        "kid": kernel["mean"],
        "kid_std": kernel["std"],
    }


def real_floor(num_samples, judge=None, seed=0):
    """FD and KID of real digits against the held-out split: the best a generator can hope for.

    Draws ``num_samples`` random *training* images (real digits, but not the held-out ones)
    and compares them with the held-out split exactly as :func:`evaluate_images` compares
    samples. The Frechet distance of finite samples is biased upwards, so a generator's FD should be
    read against this floor at the same sample size; KID's floor is about 0 at any size.
    The held-out test split has 1,000 images with the offline MNIST subset (10,000 with the
    full Keras MNIST). Results are cached.

    Args:
        num_samples: number of training images, as many as the samples being judged.
        judge: the feature network; the default judge if None.
        seed: seed of the image draw and of KID's subsets.

    Returns:
        ``{"num_samples", "fd", "kid", "kid_std"}``.

    Example:
        >>> sorted(real_floor(1000))  # doctest: +SKIP
        ['fd', 'kid', 'kid_std', 'num_samples']
    """
    return dict(_cached_floor(judge or _default_judge(), int(num_samples), seed))


def _format_number(value):
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def summary_line(results):
    """One line that summarises a results dict from :func:`evaluate_images`.

    Uses ``fd``, ``fd_floor``, ``kid``, ``precision``, ``recall``, ``diversity``,
    ``class_tv``, ``confident``, ``copy_share`` and, when present, ``label_accuracy``.

    Example:
        >>> line = summary_line({"fd": 12.34, "fd_floor": 4.5, "kid": 0.0123, "precision": 0.81,
        ...                      "recall": 0.62, "diversity": 0.87, "class_tv": 0.04,
        ...                      "confident": 0.912, "copy_share": 0.0})
        >>> line.split(" · ")  # doctest: +NORMALIZE_WHITESPACE
        ['FD 12.3 (floor 4.5)', 'KID 0.0123', 'precision 0.81', 'recall 0.62',
         'diversity 0.87', 'class TV 0.04', 'confident 91.2%', 'copies 0.0%']
    """
    needed = ["fd", "fd_floor", "kid", "precision", "recall", "diversity", "class_tv",
              "confident", "copy_share"]
    missing = [key for key in needed if key not in results]
    if missing:
        raise ValueError(f"results lack {missing}; expected a dict from evaluate_images")
    parts = [
        f"FD {_format_number(results['fd'])} (floor {_format_number(results['fd_floor'])})",
        f"KID {results['kid']:.4f}",
        f"precision {results['precision']:.2f}",
        f"recall {results['recall']:.2f}",
        f"diversity {results['diversity']:.2f}",
        f"class TV {results['class_tv']:.2f}",
        f"confident {results['confident']:.1%}",
        f"copies {results['copy_share']:.1%}",
    ]
    if "label_accuracy" in results:
        parts.append(f"labels {results['label_accuracy']:.1%}")
    return " · ".join(parts)


def evaluate_images(images, value_range=(0, 1), labels=None, judge=None, k=3, confidence=0.9,
                    seed=0):
    """Judge a batch of generated digits with every image metric; returns a dict.

    Keys: ``num_samples``; ``fd`` and ``fd_floor`` (:func:`real_floor` at the same sample
    size, at most the number of training images); ``kid`` and ``kid_std``; ``precision`` and
    ``recall`` (with ``k``); ``density`` and ``coverage`` (with their paper's k = 5);
    ``diversity`` (mean :func:`within_class_diversity`); ``class_tv`` and ``class_histogram``
    (against the held-out digits' class shares); ``confident`` (share classified with
    probability >= ``confidence``); ``digits_present`` (classes among the confident samples);
    ``copy_share`` (:func:`memorisation`, per-class scale from up to 1,000 held-out digits);
    ``label_accuracy`` (only with ``labels``); and ``summary`` (:func:`summary_line`).

    Classes of samples and of held-out digits both come from the judge's predictions, so its
    few mistakes affect both sides alike.

    Args:
        images: generated digits, shape ``(N, 28, 28, 1)``, with ``N > k``.
        value_range: pixel range of ``images``: ``(0, 1)``, ``(-1, 1)`` or ``(0, 255)``.
        labels: the labels a conditional generator was asked for, shape ``(N,)``.
        judge: the feature network; the default judge if None.
        k: neighbour for precision and recall.
        confidence: probability above which a sample counts as a confident digit.
        seed: seed of KID's subsets and of the floor's draw.

    Example:
        >>> x, _ = data.load_mnist("train")  # doctest: +SKIP
        >>> results = evaluate_images(x[:1000])  # doctest: +SKIP
        >>> results["copy_share"]  # training digits are copies of themselves  # doctest: +SKIP
        1.0
    """
    _check_k(k)
    pixels = data.as_unit_pixels(images, value_range)
    if len(pixels) <= k:
        raise ValueError(f"images needs more than k={k} samples for precision and recall, "
                         f"got {len(pixels)}")
    requested = None if labels is None else _as_classes(labels, len(pixels), "labels")
    judge = judge or _default_judge()
    reference = real_reference("test", judge)
    probabilities = judge.predict_proba(pixels)
    classes = probabilities.argmax(axis=-1)
    features = judge.features(pixels)
    kernel = kid(features, reference.features, seed=seed)
    confident = probabilities.max(axis=-1) >= confidence
    balance = class_balance(classes, np.bincount(reference.classes, minlength=NUM_CLASSES))
    held_out = slice(0, MEMORISATION_REFERENCE_SIZE)
    copies = memorisation(pixels, reference.train_images, reference.images[held_out],
                          sample_classes=classes, reference_classes=reference.classes[held_out],
                          reference_distances=reference.memorisation_distances)
    results = {
        "num_samples": len(pixels),
        "fd": frechet_distance(features, reference.features),
        "fd_floor": real_floor(min(len(pixels), len(reference.train_images)), judge, seed)["fd"],
        "kid": kernel["mean"],
        "kid_std": kernel["std"],
        **precision_recall(reference.features, features, k=k),
        **density_coverage(reference.features, features),
        "diversity": within_class_diversity(features, classes, reference.features,
                                            reference.classes)["mean"],
        "class_tv": balance["tv_distance"],
        "class_histogram": balance["histogram"],
        "confident": float(confident.mean()),
        "digits_present": int(len(np.unique(classes[confident]))),
        "copy_share": copies["copy_share"],
    }
    if requested is not None:
        results["label_accuracy"] = requested_label_accuracy(classes, requested)
    results["summary"] = summary_line(results)
    return results
