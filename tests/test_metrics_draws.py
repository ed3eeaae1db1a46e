import time

import numpy as np
import pytest

from aigc_tf import data
from aigc_tf.metrics.draws import evaluate_draws, pool_results
from aigc_tf.metrics.images import real_floor

DRAW = {"fd": 4.0, "fd_floor": 3.0, "kid": 0.01, "precision": 0.8, "recall": 0.9,
        "diversity": 1.0, "class_tv": 0.05, "confident": 0.9, "copy_share": 0.0,
        "class_histogram": [5, 5]}


def test_pool_results_averages_metrics_and_keeps_the_spread_of_fd():
    pooled = pool_results([DRAW, {**DRAW, "fd": 6.0, "recall": 0.7, "label_accuracy": 1.0}])
    assert pooled["fd"] == 5.0 and pooled["recall"] == pytest.approx(0.8)
    assert pooled["fd_sd"] == pytest.approx(np.sqrt(2.0)) and pooled["fd_floor_sd"] == 0.0
    assert pooled["fd_draws"] == [4.0, 6.0] and pooled["draws"] == 2
    assert "label_accuracy" not in pooled  # only one draw had it
    assert "num_samples" not in pooled  # the draws did not say
    assert pooled["summary"].startswith("FD 5 ± 1.41 (floor 3 ± 0.00, 2 draws) · KID")


def test_one_draw_has_no_spread_and_no_draw_is_an_error():
    assert pool_results([DRAW])["fd_sd"] == 0.0
    with pytest.raises(ValueError, match="at least one draw"):
        pool_results([])


def test_evaluate_draws_scores_draw_i_against_the_floor_of_seed_i():
    images, _ = data.load_mnist("train")

    def real_digits(seed):
        time.sleep(0.05)  # a sampler that takes at least 50 ms per call
        return images[np.random.default_rng(seed).choice(len(images), 100, replace=False)]

    pooled = evaluate_draws(real_digits, draws=2)
    floors = [real_floor(100, seed=seed)["fd"] for seed in range(2)]
    assert pooled["fd_floor"] == pytest.approx(np.mean(floors))
    assert len(set(pooled["fd_draws"])) == 2  # independent draws, different scores
    assert sum(pooled["class_histogram"]) == 200 and pooled["num_samples"] == 100
    assert pooled["sample_seconds"] >= 0.05  # the median wall time of one sample call
    with pytest.raises(ValueError, match="draws must be an integer >= 1"):
        evaluate_draws(real_digits, draws=0)
    with pytest.raises(ValueError, match="do not pass seed"):
        evaluate_draws(real_digits, seed=3)
