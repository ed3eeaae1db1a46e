"""Notebook 03's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def optimal_discriminator(p_data, p_g):
    return p_data / (p_data + p_g)


def generator_gradients(d_fake):
    return -d_fake, -(1 - d_fake)


def js_divergence(p, q):
    m = 0.5 * (p + q)

    def kl(a, b):
        support = a > 0
        return np.sum(a[support] * np.log(a[support] / b[support]))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


@pytest.mark.parametrize("exercise_id, answer", [
    ("03.optimal_discriminator", optimal_discriminator),
    ("03.generator_gradients", generator_gradients),
    ("03.js_divergence", js_divergence),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_density_ratio_instead_of_d_star_is_rejected():
    with pytest.raises(AssertionError, match=r"03.optimal_discriminator: p_data = p_g = 0.3 at "
                                             r"one point: expected \[0.5\], got \[1.0\].*Hint"):
        check_exercise("03.optimal_discriminator", lambda p_data, p_g: p_data / p_g)


def test_swapped_gradients_are_rejected_where_they_differ():
    # At D = 0.5 both gradients are -0.5, so the first case passes and the second names the bug.
    with pytest.raises(AssertionError, match=r"D\(G\(z\)\) = 0.05 \(the discriminator wins\), "
                                             r"minimax gradient: expected \[-0.05\], "
                                             r"got \[-0.95\]"):
        check_exercise("03.generator_gradients", lambda d: (-(1 - d), -d))


def test_gradients_with_respect_to_d_instead_of_the_logit_are_rejected():
    with pytest.raises(AssertionError, match=r"minimax gradient: expected \[-0.5\], got \[-2.0\]"
                                             r".*Hint: with D = sigmoid"):
        check_exercise("03.generator_gradients", lambda d: (-1 / (1 - d), -1 / d))


def test_a_single_array_instead_of_the_pair_is_rejected():
    with pytest.raises(AssertionError, match=r"expected a pair \(minimax, non_saturating\), "
                                             r"got ndarray"):
        check_exercise("03.generator_gradients", lambda d: -d)


def test_js_in_bits_is_rejected():
    def js_bits(p, q):
        return js_divergence(p, q) / np.log(2)

    with pytest.raises(AssertionError, match=r"03.js_divergence: disjoint supports: expected "
                                             r"0.6931, got 1.0.*Hint: JS"):
        check_exercise("03.js_divergence", js_bits)
