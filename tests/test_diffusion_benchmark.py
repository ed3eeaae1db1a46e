"""Smoke test of ``benchmarks/diffusion_benchmark.py --fast``: every row and target is printed.

The numbers of a smoke run mean nothing (a few training steps); the targets are judged by the
full run on an idle machine.
"""

import importlib
import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def diffusion_benchmark(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("diffusion_benchmark")


def test_fast_run_prints_every_model_and_a_verdict_per_target(diffusion_benchmark):
    out = io.StringIO()
    with redirect_stdout(out):
        code = diffusion_benchmark.main(["--fast", "--minutes", "0.02", "--samples", "50"])
    text = out.getvalue()
    assert code == 0
    assert "0.02 min per model" in text and "FAST" in text
    assert "2 draws of 50 samples" in text
    for row in ("latent diffusion, DDIM-50, eta 0", "same model, DDIM-50 with eta 1",
                "ancestral over 1,000 steps",
                "self-conditioned DCGAN", "keras-io-style pixel DDIM",
                "conditional latent diffusion"):
        assert re.search(rf"{re.escape(row)}.*FD \S+ ± \S+ \(floor \S+ ± \S+, 2 draws\)",
                         text), row
    verdicts = re.findall(r"^  (PASS|FAIL)  (.+?)\s{2,}", text, flags=re.MULTILINE)
    assert [target for _, target in verdicts] == [
        "FD <= 1.3 x floor", "confident >= 90%", "classes within 3 points of 10%",
        "diversity >= 0.9 of real", "copies <= real held-out digits'",
        "DDIM-50 >= 10x faster than ancestral", "DDIM-50 FD within 20% of ancestral",
        "50 DDIM-50 digits in <= 10 s", "requested-label accuracy >= 95%"]


def test_unconditional_targets_judge_the_suite_against_the_issue_thresholds(diffusion_benchmark):
    good = {"fd": 3.5, "fd_floor": 3.28, "confident": 0.93, "diversity": 1.02,
            "copy_share": 0.0, "class_histogram": [100] * 9 + [120]}
    real_copies = (0.0, 0.003)  # none of 1,000 real digits flagged, and the 95% upper bound
    one_in_5000 = {**good, "copy_share": 0.0002}
    for suite in (good, one_in_5000):
        targets = diffusion_benchmark.unconditional_targets(suite, real_copies)
        assert all(passed for _, _, passed in targets)
    bad = {**good, "fd": 4.5, "class_histogram": [100] * 9 + [140], "copy_share": 0.01}
    targets = diffusion_benchmark.unconditional_targets(bad, real_copies)
    assert [passed for _, _, passed in targets] == [False, True, False, True, False]


@pytest.mark.parametrize("flagged, count, expected", [(0, 1000, 0.002991), (0, 100, 0.029513),
                                                      (5, 1000, 0.010484)])
def test_upper_bound_is_the_clopper_pearson_bound(diffusion_benchmark, flagged, count, expected):
    bound = diffusion_benchmark.upper_bound(flagged, count)
    assert bound == pytest.approx(expected, rel=1e-3)


def test_the_reference_pads_digits_to_the_unets_resolution_and_crops_back(diffusion_benchmark):
    reference = importlib.import_module("keras_io_ddim")
    padded = reference.pad_digits(np.ones((2, 28, 28, 1)))
    assert padded.shape == (2, 32, 32, 1) and padded.sum() == 2 * 28 * 28
    model = reference.build_reference(np.ones((4, 28, 28, 1)) * 0.5, widths=(4, 8),
                                      block_depth=1)
    assert model.sample(3, steps=2).shape == (3, 28, 28, 1)
