"""Notebook 06's checked exercises: the reference answers pass, typical mistakes do not."""

import math

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def kl_to_standard_normal(mu, log_var):
    return -0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=-1)


def reparameterise(mu, log_var, eps):
    return mu + np.exp(0.5 * log_var) * eps


def bits_per_dim(nll_nats, num_dims):
    return nll_nats / (num_dims * math.log(2))


@pytest.mark.parametrize("exercise_id, answer", [
    ("06.gaussian_kl", kl_to_standard_normal),
    ("06.reparameterise", reparameterise),
    ("06.bits_per_dim", bits_per_dim),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_kl_without_the_half_names_the_case_and_hints():
    def twice_the_kl(mu, log_var):
        return -np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=-1)

    with pytest.raises(AssertionError, match=r"06.gaussian_kl: mu = \(1, -2\), log_var = 0: "
                                             r"expected \[2.5\], got \[5.0\].*Hint: KL = -1/2"):
        check_exercise("06.gaussian_kl", twice_the_kl)


def test_kl_summed_over_the_batch_is_rejected():
    def one_number(mu, log_var):
        return -0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var))

    with pytest.raises(AssertionError, match=r"mu = 0, log_var = 0 \(q is the prior\): "
                                             r"expected shape \(1,\), got \(\)"):
        check_exercise("06.gaussian_kl", one_number)


def test_reparameterise_with_the_variance_names_the_case_and_hints():
    def with_variance(mu, log_var, eps):
        return mu + np.exp(log_var) * eps

    with pytest.raises(AssertionError, match=r"06.reparameterise: log_var = log 4 \(sigma = 2\):"
                                             r".*Hint: sigma = exp\(log_var / 2\)"):
        check_exercise("06.reparameterise", with_variance)


def test_bits_per_dim_without_ln2_is_rejected():
    with pytest.raises(AssertionError, match=r"06.bits_per_dim: 100 nats per 28x28 image:.*"
                                             r"Hint: divide"):
        check_exercise("06.bits_per_dim", lambda nll, dims: nll / dims)
