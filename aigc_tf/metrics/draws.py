"""Scores over several independent sample sets: how much of a metric is the draw's luck.

The Frechet distance of 1,000 samples moves a lot from one draw to the next: on the offline
MNIST subset, eight draws of 1,000 real training digits scored against the held-out digits
gave FD 2.1 to 4.7 (mean 3.00, sd 0.81), and three 1,000-sample draws of one latent-diffusion
model 2.8 to 4.9. A single draw can therefore put a generator "above" or "below" the
real-versus-real floor by chance. :func:`evaluate_draws` scores ``draws`` sample sets, each
against the floor drawn with the same seed, and :func:`pool_results` reports the mean of each
metric and the spread of FD and of its floor.
"""

import time

import numpy as np

from aigc_tf import data
from aigc_tf.metrics.images import evaluate_images, summary_line

#: Metrics averaged over draws (when present in every draw's results).
MEAN_KEYS = ("fd", "fd_floor", "kid", "precision", "recall", "density", "coverage",
             "diversity", "class_tv", "confident", "copy_share", "label_accuracy")


def _spread(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def pool_results(results):
    """Pool :func:`~aigc_tf.metrics.images.evaluate_images` dicts of independent draws.

    Returns:
        The mean of each metric in :data:`MEAN_KEYS`, ``num_samples`` per draw (if all
        draws are the same size), the summed ``class_histogram``,
        ``draws``, ``fd_sd`` and ``fd_floor_sd`` (sample standard deviations; 0 for one
        draw), ``fd_draws`` (each draw's FD) and a ``summary`` line.

    Example:
        >>> draw = {"fd": 4.0, "fd_floor": 3.0, "kid": 0.01, "precision": 0.8, "recall": 0.9,
        ...         "diversity": 1.0, "class_tv": 0.05, "confident": 0.9, "copy_share": 0.0,
        ...         "class_histogram": [5, 5]}
        >>> pooled = pool_results([draw, {**draw, "fd": 2.0, "fd_floor": 2.0}])
        >>> pooled["fd"], pooled["fd_floor"], round(pooled["fd_sd"], 3), pooled["class_histogram"]
        (3.0, 2.5, 1.414, [10, 10])
        >>> pooled["summary"].split(" · ")[0]
        'FD 3 ± 1.41 (floor 2.5 ± 0.71, 2 draws)'
    """
    if not results:
        raise ValueError("pool_results needs the results of at least one draw, got none")
    pooled = {key: float(np.mean([result[key] for result in results]))
              for key in MEAN_KEYS if all(key in result for result in results)}
    sizes = {result.get("num_samples") for result in results}
    if len(sizes) == 1 and None not in sizes:
        pooled["num_samples"] = sizes.pop()
    fds = [float(result["fd"]) for result in results]
    pooled.update(draws=len(results), fd_draws=fds, fd_sd=_spread(fds),
                  fd_floor_sd=_spread([result["fd_floor"] for result in results]),
                  class_histogram=np.sum([result["class_histogram"] for result in results],
                                         axis=0).tolist())
    _, *rest = summary_line(pooled).split(" · ")
    fd_part = (f"FD {pooled['fd']:.3g} ± {pooled['fd_sd']:.2f} (floor "
               f"{pooled['fd_floor']:.3g} ± {pooled['fd_floor_sd']:.2f}, {len(results)} draws)")
    pooled["summary"] = " · ".join([fd_part, *rest])
    return pooled


def evaluate_draws(sample, draws=5, labels=None, **kwargs):
    """Score ``draws`` sample sets of one generator and pool them (:func:`pool_results`).

    Draw ``i`` is ``sample(i)``, scored by
    :func:`~aigc_tf.metrics.images.evaluate_images` with ``seed=i``, so its FD is read
    against the floor of the ``i``-th draw of real digits. The pooled dict also holds
    ``sample_seconds``, the median wall time of one ``sample`` call.

    Args:
        sample: function ``seed -> images`` (``(N, 28, 28, 1)``, in ``value_range``).
        draws: number of independent sample sets (>= 1).
        labels: the labels a conditional generator is asked for, the same in every draw.
        **kwargs: passed to ``evaluate_images`` (``value_range``, ``judge``, ...).

    Example:
        >>> from aigc_tf.models.diffusion import build_pixel_diffusion
        >>> model = build_pixel_diffusion(widths=(8, 16), timesteps=20)  # doctest: +SKIP
        >>> pooled = evaluate_draws(lambda seed: model.sample(1000, seed=seed))  # doctest: +SKIP
        >>> print(pooled["summary"])  # doctest: +SKIP
    """
    if "seed" in kwargs:
        raise ValueError("evaluate_draws seeds draw i with i; do not pass seed")
    draws = data.check_count(draws, name="draws")
    results, seconds = [], []
    for seed in range(draws):
        start = time.perf_counter()
        images = sample(seed)
        seconds.append(time.perf_counter() - start)
        results.append(evaluate_images(images, labels=labels, seed=seed, **kwargs))
    return {**pool_results(results), "sample_seconds": float(np.median(seconds))}
