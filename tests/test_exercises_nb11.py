import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, as in notebook 11's solution regions.
def causal_mask(length):
    return np.tril(np.ones((length, length), dtype=bool))


def attention(q, k, v, mask=None):
    scores = q @ k.T / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    return weights @ v, weights


def test_reference_answers_pass(capsys):
    assert check_exercise("11.causal_mask", causal_mask) is True
    assert check_exercise("11.attention", attention) is True
    assert capsys.readouterr().out.count("hidden cases pass") == 2


def test_upper_triangle_is_rejected():
    def looks_ahead(length):
        return np.triu(np.ones((length, length), dtype=bool))

    with pytest.raises(AssertionError, match=r"length 2 \(1 = may attend\): .*Hint: entry"):
        check_exercise("11.causal_mask", looks_ahead)


def test_integer_mask_is_rejected():
    with pytest.raises(AssertionError, match=r"length 1: expected a boolean mask"):
        check_exercise("11.causal_mask", lambda n: np.tril(np.ones((n, n), dtype=int)))


def test_attention_without_scaling_is_rejected():
    def unscaled(q, k, v, mask=None):
        return attention(q * np.sqrt(q.shape[-1]), k, v, mask)

    with pytest.raises(AssertionError,
                       match=r"4 queries and keys, d_k = 2, no mask, weights: .*Hint: weights ="):
        check_exercise("11.attention", unscaled)


def test_attention_that_ignores_the_mask_is_rejected():
    with pytest.raises(AssertionError, match=r"6 queries, d_k = 8, causal mask, weights"):
        check_exercise("11.attention", lambda q, k, v, mask=None: attention(q, k, v))


def test_attention_must_return_outputs_and_weights():
    with pytest.raises(AssertionError, match=r"expected a pair \(outputs, weights\)"):
        check_exercise("11.attention", lambda q, k, v, mask=None: attention(q, k, v, mask)[0])
