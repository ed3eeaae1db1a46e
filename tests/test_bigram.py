import numpy as np
import pytest

from aigc_tf.models.bigram import BigramModel


def test_probability_is_product_of_conditionals():
    model = BigramModel(alpha=0.0).fit(["ab", "ab", "b"])
    # P(ab) = P(a|start) P(b|a) P(end|b) = 2/3 * 1 * 1
    assert np.exp(model.log_prob("ab")) == pytest.approx(2 / 3)
    assert np.exp(model.log_prob("b")) == pytest.approx(1 / 3)
    assert np.allclose(model.probs_.sum(axis=1)[[0, 2]], 1)


def test_smoothing_keeps_unseen_pairs_possible():
    model = BigramModel(alpha=0.5).fit(["ab"])
    np.testing.assert_allclose(model.probs_.sum(axis=1), 1.0)
    assert np.isfinite(model.log_prob("ba"))
    assert model.log_prob("ab") > model.log_prob("ba")


def test_samples_come_from_training_distribution():
    model = BigramModel(alpha=0.0).fit(["ab"] * 10)
    assert set(model.sample(20, seed=0)) == {"ab"}
    assert model.next_char_probs("a")["b"] == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="non-empty word"):
        BigramModel().fit(["", ""])
    model = BigramModel().fit(["abc"])
    with pytest.raises(ValueError, match=r"\['z'\] are not in the model's vocabulary"):
        model.log_prob("az")
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        BigramModel(alpha=-1)
