"""Notebook 17's checked exercises: the reference answers pass, typical mistakes do not."""

import re

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def sequence_kl_estimate(log_probs, ref_log_probs):
    return np.sum(np.asarray(log_probs) - np.asarray(ref_log_probs), axis=1)


def reinforce_with_baseline(sequence_log_probs, rewards):
    rewards = np.asarray(rewards, dtype="float64")
    advantages = rewards - rewards.mean()
    return -np.mean(advantages * np.asarray(sequence_log_probs))


def share_of_words_without(text, letter):
    words = re.findall(r"[A-Za-z]+", text)
    if not words:
        return 0.0
    return sum(letter.lower() not in word.lower() for word in words) / len(words)


@pytest.mark.parametrize("exercise_id, answer", [
    ("17.sequence_kl", sequence_kl_estimate),
    ("17.reinforce_loss", reinforce_with_baseline),
    ("17.lipogram_reward", share_of_words_without),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_kl_with_the_reference_first_is_rejected():
    def reversed_sign(log_probs, ref_log_probs):
        return sequence_kl_estimate(ref_log_probs, log_probs)

    with pytest.raises(AssertionError, match=r"17.sequence_kl: one text of two tokens.*Hint"):
        check_exercise("17.sequence_kl", reversed_sign)


def test_kl_averaged_over_tokens_instead_of_summed_is_rejected():
    def mean_over_time(log_probs, ref_log_probs):
        return np.mean(np.asarray(log_probs) - np.asarray(ref_log_probs), axis=1)

    with pytest.raises(AssertionError, match=r"17.sequence_kl: one text of two tokens"):
        check_exercise("17.sequence_kl", mean_over_time)


def test_reinforce_without_the_baseline_is_rejected():
    def no_baseline(sequence_log_probs, rewards):
        return -np.mean(np.asarray(rewards) * np.asarray(sequence_log_probs))

    with pytest.raises(AssertionError, match=r"17.reinforce_loss: log-probs .*Hint: advantage"):
        check_exercise("17.reinforce_loss", no_baseline)


def test_reinforce_with_the_wrong_sign_is_rejected():
    def ascent(sequence_log_probs, rewards):
        return -reinforce_with_baseline(sequence_log_probs, rewards)

    with pytest.raises(AssertionError, match=r"17.reinforce_loss"):
        check_exercise("17.reinforce_loss", ascent)


def test_reward_that_ignores_capitals_is_rejected():
    def case_sensitive(text, letter):
        words = re.findall(r"[A-Za-z]+", text)
        return sum(letter not in word for word in words) / len(words) if words else 0.0

    with pytest.raises(AssertionError, match=r"17.lipogram_reward: 'Eat and Act'"):
        check_exercise("17.lipogram_reward", case_sensitive)


def test_reward_that_splits_on_spaces_is_rejected():
    def split_on_spaces(text, letter):
        words = text.split()
        return sum(letter not in word.lower() for word in words) / len(words) if words else 0.0

    with pytest.raises(AssertionError, match=r"17.lipogram_reward: punctuation only"):
        check_exercise("17.lipogram_reward", split_on_spaces)


def test_stub_counts_as_not_attempted(capsys):
    def stub(log_probs, ref_log_probs):
        raise NotImplementedError

    assert check_exercise("17.sequence_kl", stub) is False
    assert "not attempted" in capsys.readouterr().out
