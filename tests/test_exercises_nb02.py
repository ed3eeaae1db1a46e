"""Notebook 02's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def log_weighted_densities(x, weights, means, covariances):
    columns = []
    for pi, mu, cov in zip(weights, means, covariances, strict=True):
        diff = x - mu
        mahalanobis = np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=1)
        _, log_det = np.linalg.slogdet(cov)
        columns.append(np.log(pi) - 0.5 * (mahalanobis + log_det + x.shape[1] * np.log(2 * np.pi)))
    return np.stack(columns, axis=1)


def responsibilities(x, weights, means, covariances):
    log_terms = log_weighted_densities(x, weights, means, covariances)
    unnormalised = np.exp(log_terms - log_terms.max(axis=1, keepdims=True))
    return unnormalised / unnormalised.sum(axis=1, keepdims=True)


def m_step(x, resp):
    counts = resp.sum(axis=0)
    means = resp.T @ x / counts[:, None]
    covariances = np.stack([(resp[:, k, None] * (x - means[k])).T @ (x - means[k]) / counts[k]
                            for k in range(len(counts))])
    return counts / len(x), means, covariances


def bigram_log_prob(word, probs, index):
    chain = "\n" + word + "\n"
    pairs = zip(chain[:-1], chain[1:], strict=True)
    return sum(np.log(probs[index[a], index[b]]) for a, b in pairs)


@pytest.mark.parametrize("exercise_id, answer", [
    ("02.responsibilities", responsibilities),
    ("02.m_step", m_step),
    ("02.bigram_log_prob", bigram_log_prob),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_responsibilities_outside_log_space_fail_on_the_far_point():
    def in_density_space(x, weights, means, covariances):
        with np.errstate(invalid="ignore"):
            densities = np.exp(log_weighted_densities(x, weights, means, covariances))
            return densities / densities.sum(axis=1, keepdims=True)

    with pytest.raises(AssertionError, match=r"a point far from every component.*NaN.*"
                                             r"Hint: .*log-sum-exp"):
        check_exercise("02.responsibilities", in_density_space)


def test_responsibilities_without_the_weights_are_rejected():
    def ignores_weights(x, weights, means, covariances):
        return responsibilities(x, np.ones(len(weights)), means, covariances)

    with pytest.raises(AssertionError, match=r"the same point, weights 0.8 and 0.2: "
                                             r"expected \[\[0.8, 0.2\]\], got \[\[0.5, 0.5\]\]"):
        check_exercise("02.responsibilities", ignores_weights)


def test_m_step_with_unweighted_covariances_is_rejected():
    def unweighted_covariance(x, resp):
        weights, means, _ = m_step(x, resp)
        return weights, means, np.stack([np.cov((x - m).T, bias=True).reshape(x.shape[1], -1)
                                         for m in means])

    with pytest.raises(AssertionError, match=r"02.m_step: hard assignments .*, covariances: "
                                             r"expected .*Hint: N_k"):
        check_exercise("02.m_step", unweighted_covariance)


def test_m_step_returning_a_dict_is_rejected():
    with pytest.raises(AssertionError, match="expected a triple"):
        check_exercise("02.m_step", lambda x, resp: {"weights": None})


def test_bigram_without_the_end_symbol_is_rejected():
    def no_end(word, probs, index):
        chain = "\n" + word
        pairs = zip(chain[:-1], chain[1:], strict=True)
        return sum(np.log(probs[index[a], index[b]]) for a, b in pairs)

    with pytest.raises(AssertionError, match=r"02.bigram_log_prob: the word 'a' under a bigram "
                                             r"model with alpha = 0.1: expected .*Hint: put"):
        check_exercise("02.bigram_log_prob", no_end)
