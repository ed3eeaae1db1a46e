"""Metrics of generated 2-D points (the toy mixtures of the GAN-theory lesson).

:func:`mode_coverage` counts the mixture modes a generator covers and the share of its samples
that land on one, as in the 2-D GAN literature (:mod:`aigc_tf.gan_lab` uses it).
"""

import numpy as np


def mode_coverage(samples, centers, std, min_share=0.02):
    """Count the mixture modes a generator covers, as in the 2-D GAN literature.

    A sample is *high quality* when it lies within ``3 * std`` of its nearest centre; a mode
    is *covered* when at least ``min_share`` of all samples are high-quality samples at it.

    Args:
        samples: generated points, shape ``(N, 2)``.
        centers: mode centres, e.g. ``aigc_tf.data.ring_centers()``.
        std: standard deviation of each mode in the data.
        min_share: share of samples a mode needs to count as covered.

    Returns:
        dict: ``modes_covered``, ``high_quality`` (share of samples) and ``counts`` per mode.

    Example:
        >>> from aigc_tf import data
        >>> points, _ = data.make_ring(1000, std=0.05)
        >>> mode_coverage(points, data.ring_centers(), std=0.05)["modes_covered"]
        8
    """
    samples, centers = np.asarray(samples, "float64"), np.asarray(centers, "float64")
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples must have shape (N, {centers.shape[1]}), got {samples.shape}")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances.min(axis=1) <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    return {
        "modes_covered": int((counts >= min_share * len(samples)).sum()),
        "high_quality": float(good.mean()),
        "counts": counts.tolist(),
    }
