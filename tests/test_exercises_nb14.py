"""Notebook 14's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def int8_round_trip(x):
    x = np.asarray(x, dtype="float64")
    scale = np.max(np.abs(x)) / 127
    return scale * np.clip(np.round(x / scale), -127, 127)


def soft_label_loss(teacher_logits, student_logits, temperature):
    def log_softmax(z):
        z = z / temperature
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    log_p_t, log_p_s = log_softmax(teacher_logits), log_softmax(student_logits)
    return temperature**2 * np.sum(np.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)


def sparsity_at(step, final, begin, end):
    progress = min(max((step - begin) / (end - begin), 0.0), 1.0)
    return final * (1 - (1 - progress) ** 3)


@pytest.mark.parametrize("exercise_id, answer", [
    ("14.int8_round_trip", int8_round_trip),
    ("14.soft_label_loss", soft_label_loss),
    ("14.sparsity_schedule", sparsity_at),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_round_trip_with_the_signed_range_of_128_is_rejected():
    def over_128(x):
        scale = np.max(np.abs(x)) / 128
        return scale * np.clip(np.round(x / scale), -128, 127)

    with pytest.raises(AssertionError, match=r"14.int8_round_trip: .*Hint: scale = max"):
        check_exercise("14.int8_round_trip", over_128)


def test_round_trip_without_rounding_is_rejected():
    with pytest.raises(AssertionError, match=r"x = \(-1, 0.02, 0.5, 2.54\)|largest magnitude"):
        check_exercise("14.int8_round_trip", lambda x: np.asarray(x, "float64") * 1.001)


def test_soft_loss_without_the_t_squared_factor_fails_at_t_4():
    def without_t2(teacher, student, temperature):
        return soft_label_loss(teacher, student, temperature) / temperature**2

    with pytest.raises(AssertionError, match=r"the same pair at T = 4.*Hint: soften"):
        check_exercise("14.soft_label_loss", without_t2)


def test_soft_loss_with_the_kl_reversed_is_rejected():
    def reversed_kl(teacher, student, temperature):
        return soft_label_loss(student, teacher, temperature)

    with pytest.raises(AssertionError, match=r"teacher \(2, 0, -1\), student uniform, T = 1"):
        check_exercise("14.soft_label_loss", reversed_kl)


def test_linear_schedule_is_rejected():
    def linear(step, final, begin, end):
        return final * min(max((step - begin) / (end - begin), 0.0), 1.0)

    with pytest.raises(AssertionError, match=r"14.sparsity_schedule: halfway, final 0.8"):
        check_exercise("14.sparsity_schedule", linear)


def test_stub_counts_as_not_attempted(capsys):
    def stub(x):
        raise NotImplementedError

    assert check_exercise("14.int8_round_trip", stub) is False
    assert "not attempted" in capsys.readouterr().out
