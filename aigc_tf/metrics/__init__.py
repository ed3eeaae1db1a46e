"""How good is a generator? Metrics that read quality and diversity side by side.

* :mod:`aigc_tf.metrics.images`: MNIST-FD, KID, precision and recall, density and coverage,
  within-class diversity, class balance, memorisation and requested-label accuracy, all on the
  features of the shipped MNIST judge; :func:`evaluate_images` computes them together.
* :mod:`aigc_tf.metrics.text`: bits per character and perplexity on held-out text, distinct-n,
  the share of real words and the longest passage copied from the training text;
  :func:`evaluate_text`.
* :mod:`aigc_tf.metrics.cost`: parameters, samples (or characters) per second and peak memory
  while sampling.
* :mod:`aigc_tf.metrics.draws`: the same metrics over several independent sample sets
  (:func:`evaluate_draws`), because FD at 1,000 samples moves by about 25% between draws.
* :mod:`aigc_tf.metrics.points`: the modes a 2-D toy generator covers.
"""

from aigc_tf.metrics.cost import (
    cost_report,
    cost_summary_line,
    measure_throughput,
    parameter_count,
)
from aigc_tf.metrics.draws import evaluate_draws, pool_results
from aigc_tf.metrics.images import (
    evaluate_images,
    frechet_distance,
    kid,
    precision_recall,
    real_floor,
    summary_line,
)
from aigc_tf.metrics.text import bits_per_char, evaluate_text, text_summary_line

__all__ = [
    "bits_per_char", "cost_report", "cost_summary_line", "evaluate_draws", "evaluate_images",
    "evaluate_text", "frechet_distance", "kid", "measure_throughput", "parameter_count",
    "pool_results", "precision_recall", "real_floor", "summary_line", "text_summary_line",
]
