import math

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, as in notebook 09's solution regions.
def bits_and_perplexity(nats):
    return nats / math.log(2), math.exp(nats)


def temperature_softmax(logits, temperature):
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def keep_top_k(logits, k):
    kth = np.sort(logits, axis=-1)[:, -k][:, None]
    return np.where(logits < kth, -np.inf, logits)


def test_reference_answers_pass(capsys):
    assert check_exercise("09.bits_and_perplexity", bits_and_perplexity) is True
    assert check_exercise("09.temperature_softmax", temperature_softmax) is True
    assert check_exercise("09.keep_top_k", keep_top_k) is True
    assert capsys.readouterr().out.count("hidden cases pass") == 3


def test_multiplying_by_ln2_is_rejected():
    with pytest.raises(AssertionError, match=r"a loss of ln 2 nats, bits per character: "
                                             r"expected 1.0, got 0.48.*Hint: bits per character"):
        check_exercise("09.bits_and_perplexity", lambda nats: (nats * math.log(2), math.exp(nats)))


def test_multiplying_by_the_temperature_is_rejected():
    def times_temperature(logits, temperature):
        return temperature_softmax(logits * temperature * temperature, temperature)

    with pytest.raises(AssertionError,
                       match=r"one row of 3 logits at T = 0.5: expected .*Hint: divide the logits"):
        check_exercise("09.temperature_softmax", times_temperature)


def test_softmax_without_the_maximum_overflows_on_large_logits():
    def unstable(logits, temperature):
        exp = np.exp(logits / temperature)
        return exp / exp.sum(axis=-1, keepdims=True)

    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
            AssertionError, match=r"large logits .*NaN or infinity.*Hint: "):
        check_exercise("09.temperature_softmax", unstable)


def test_dropping_the_kth_logit_is_rejected():
    def keeps_k_minus_one(logits, k):
        kth = np.sort(logits, axis=-1)[:, -k][:, None]
        return np.where(logits <= kth, -np.inf, logits)

    with pytest.raises(AssertionError,
                       match=r"one row, k = 2, which logits are kept .*Hint: find the k-th"):
        check_exercise("09.keep_top_k", keeps_k_minus_one)


def test_dropped_logits_must_be_minus_infinity():
    def zeroes(logits, k):
        kth = np.sort(logits, axis=-1)[:, -k][:, None]
        return np.where(logits < kth, 0.0, logits)

    with pytest.raises(AssertionError, match=r"one row, k = 2, which logits are kept"):
        check_exercise("09.keep_top_k", zeroes)

    def nan_for_dropped(logits, k):
        kth = np.sort(logits, axis=-1)[:, -k][:, None]
        return np.where(logits < kth, np.nan, logits)

    with pytest.raises(AssertionError, match=r"dropped logits must be -inf"):
        check_exercise("09.keep_top_k", nan_for_dropped)
