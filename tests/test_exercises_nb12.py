"""Notebook 12's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, as in the notebook's solution regions.
def q_sample(x0, t, noise, alpha_bar):
    abar = alpha_bar[t].reshape((-1,) + (1,) * (x0.ndim - 1))
    return np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise


def ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, eta=0.0, noise=None):
    x0_hat = (x_t - np.sqrt(1 - alpha_bar_t) * eps_hat) / np.sqrt(alpha_bar_t)
    sigma = eta * np.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t)
                          * (1 - alpha_bar_t / alpha_bar_prev))
    x_prev = np.sqrt(alpha_bar_prev) * x0_hat + np.sqrt(1 - alpha_bar_prev - sigma**2) * eps_hat
    return x_prev if noise is None else x_prev + sigma * noise


def guided_noise(eps_conditional, eps_unconditional, weight):
    if weight < 0:
        raise ValueError(f"guidance weight must be >= 0, got {weight}")
    return (1 + weight) * eps_conditional - weight * eps_unconditional


@pytest.mark.parametrize("exercise_id, answer", [
    ("12.q_sample", q_sample),
    ("12.ddim_step", ddim_step),
    ("12.guided_noise", guided_noise),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_q_sample_without_square_roots_is_rejected_with_a_hint():
    def without_roots(x0, t, noise, alpha_bar):
        abar = alpha_bar[t].reshape((-1,) + (1,) * (x0.ndim - 1))
        return abar * x0 + (1 - abar) * noise

    with pytest.raises(AssertionError, match=r"12.q_sample: linear schedule \(T=1000\), x0 of "
                                             r"shape \(3, 2\), t = \[0, 0, 0\].*"
                                             r"Hint: x0 and the noise are scaled"):
        check_exercise("12.q_sample", without_roots)


def test_q_sample_with_one_step_for_the_whole_batch_is_rejected():
    def first_t_only(x0, t, noise, alpha_bar):
        abar = alpha_bar[t[0]]
        return np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise

    with pytest.raises(AssertionError, match=r"t = \[0, 250, 500, 999\]"):
        check_exercise("12.q_sample", first_t_only)


def test_ddim_step_that_ignores_eta_fails_on_the_stochastic_case():
    def deterministic_only(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, eta=0.0, noise=None):
        return ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev)

    with pytest.raises(AssertionError, match=r"12.ddim_step: .*eta = 1.0.*Hint: estimate x0 first"):
        check_exercise("12.ddim_step", deterministic_only)


def test_ddim_step_with_alpha_bar_instead_of_its_root_is_rejected():
    def no_root(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, eta=0.0, noise=None):
        x0_hat = (x_t - (1 - alpha_bar_t) * eps_hat) / alpha_bar_t
        return alpha_bar_prev * x0_hat + (1 - alpha_bar_prev) * eps_hat

    with pytest.raises(AssertionError, match=r"12.ddim_step: cosine T=1000, from step 990"):
        check_exercise("12.ddim_step", no_root)


def test_guidance_with_the_weights_swapped_is_rejected():
    def swapped(eps_conditional, eps_unconditional, weight):
        return (1 + weight) * eps_unconditional - weight * eps_conditional

    with pytest.raises(AssertionError, match=r"12.guided_noise: w = 0 \(no guidance\)"):
        check_exercise("12.guided_noise", swapped)


def test_guidance_that_accepts_a_negative_weight_is_rejected():
    with pytest.raises(AssertionError, match="expected a ValueError"):
        check_exercise("12.guided_noise", lambda c, u, w: (1 + w) * c - w * u)


def test_a_stub_is_not_attempted(capsys):
    def stub(x0, t, noise, alpha_bar):
        raise NotImplementedError

    assert check_exercise("12.q_sample", stub) is False
    assert "not attempted" in capsys.readouterr().out
