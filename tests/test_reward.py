"""Reward fine-tuning (notebook 17): rewards, the KL estimate, the REINFORCE loss, the tuner."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.reward import (
    LipogramReward,
    RewardFineTuner,
    frozen_copy,
    reinforce_loss,
    sequence_kl,
)
from aigc_tf.text import CharVocab

VOCAB = CharVocab("ab e")


def tiny_tuner(kl_coef=0.0, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    policy = CharRNN(VOCAB, units=16, embedding_dim=8)
    tuner = RewardFineTuner(policy, LipogramReward("e"), kl_coef=kl_coef, sample_length=12,
                            batch_size=32, seed=seed, **kwargs)
    tuner.compile(optimizer=keras.optimizers.Adam(3e-2))
    return tuner


def mean_reward(tuner, seeds=(101, 102, 103)):
    return float(np.mean([tuner.reward(list(tuner.sample_texts(seed=s))) for s in seeds]))


# ------------------------------------------------------------------------- reward


def test_lipogram_reward_counts_words_without_the_letter_in_any_case():
    reward = LipogramReward("E")
    got = reward(["be as it is", "EVEN so", "", "12 -- !", "a"])
    np.testing.assert_allclose(got, [0.75, 0.5, 0.0, 0.0, 1.0])
    assert got.dtype == np.float32


@pytest.mark.parametrize("letter", ["", "ab", "1", "é", 5])
def test_lipogram_reward_rejects_anything_but_one_ascii_letter(letter):
    with pytest.raises(ValueError, match="one ASCII letter"):
        LipogramReward(letter)


def test_lipogram_reward_rejects_a_bare_string():
    with pytest.raises(ValueError, match="list of strings"):
        LipogramReward("e")("one text")


# ------------------------------------------------------------------------- KL and loss


def test_sequence_kl_on_a_hand_checked_case():
    # Sequence 1: log(0.5/0.25) + log(0.2/0.4) + log(1/1) = log 2 - log 2 + 0 = 0.
    # Sequence 2: log(0.9/0.3) + log(0.5/0.5) + log(0.8/0.1) = log 3 + log 8 = log 24.
    policy = np.log([[0.5, 0.2, 1.0], [0.9, 0.5, 0.8]])
    reference = np.log([[0.25, 0.4, 1.0], [0.3, 0.5, 0.1]])
    got = ops.convert_to_numpy(sequence_kl(policy, reference))
    np.testing.assert_allclose(got, [0.0, np.log(24.0)], atol=1e-6)


def test_sequence_kl_averages_to_the_exact_kl_over_samples():
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.3, 0.3, 0.4])
    draws = np.random.default_rng(0).choice(3, size=(20_000, 2), p=p)
    estimate = ops.convert_to_numpy(sequence_kl(np.log(p[draws]), np.log(q[draws]))).mean()
    exact = 2 * np.sum(p * np.log(p / q))  # two independent tokens
    assert abs(estimate - exact) < 0.02


def test_sequence_kl_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shape \(batch, time\)"):
        sequence_kl(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"shape \(batch, time\)"):
        sequence_kl(np.zeros(3), np.zeros(3))


def test_reinforce_loss_value_and_gradient():
    log_probs = tf.Variable([-1.0, -2.0, -3.0])
    rewards = np.array([1.0, 0.0, 2.0], "float32")  # baseline 1: advantages 0, -1, 1
    with tf.GradientTape() as tape:
        loss = reinforce_loss(log_probs, rewards)
    np.testing.assert_allclose(float(loss), -(0 * -1 + -1 * -2 + 1 * -3) / 3, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, log_probs), [0.0, 1 / 3, -1 / 3],
                               rtol=1e-6)
    assert float(reinforce_loss([-1.0, -2.0], [5.0, 5.0])) == 0.0  # no advantage, no signal
    np.testing.assert_allclose(float(reinforce_loss([-1.0, -2.0], [1.0, 0.0], baseline=0.0)),
                               0.5)


def test_reinforce_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shape \(batch,\)"):
        reinforce_loss([-1.0, -2.0], [1.0, 0.0, 2.0])


# ------------------------------------------------------------------------- the tuner


def test_token_log_probs_match_a_numpy_log_softmax():
    tuner = tiny_tuner()
    ids = np.array([[0, 1, 2, 3], [3, 3, 1, 0]], "int32") + 3  # character ids follow specials
    got = ops.convert_to_numpy(tuner.token_log_probs(tuner.policy, ids))
    inputs = np.concatenate([np.full((2, 1), VOCAB.start_id), ids[:, :-1]], axis=1)
    logits = ops.convert_to_numpy(tuner.policy(inputs)).astype("float64")
    logits[..., [VOCAB.unknown_id, VOCAB.start_id, VOCAB.end_id]] = -np.inf
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(got, np.take_along_axis(log_softmax, ids[..., None], -1)[..., 0],
                               atol=1e-5)


def test_samples_hold_characters_only():
    ids = ops.convert_to_numpy(tiny_tuner().sample_ids())
    assert ids.shape == (32, 12)
    assert ids.min() >= 3 and ids.max() < VOCAB.size  # never <unk>, <start> or <end>


def test_kl_logged_by_a_step_is_the_estimate_on_its_own_samples():
    tuner = tiny_tuner(kl_coef=0.5)
    logs = tuner.fit(np.zeros(1), batch_size=1, epochs=1, verbose=0).history
    assert abs(logs["kl"][0]) < 1e-5  # first step: the policy is still the reference

    reference = tuner.reference
    reference.set_weights([w + 0.3 * np.random.default_rng(1).normal(size=w.shape)
                           for w in reference.get_weights()])
    tuner.seed_generator.state.assign(ops.array([7, 0], tuner.seed_generator.state.dtype))
    ids = tuner.sample_ids()
    expected = sequence_kl(tuner.token_log_probs(tuner.policy, ids),
                           tuner.token_log_probs(reference, ids))
    expected_reward = tuner.reward(list(tuner.decode(ops.convert_to_numpy(ids))))
    tuner.seed_generator.state.assign(ops.array([7, 0], tuner.seed_generator.state.dtype))
    logs = tuner.fit(np.zeros(1), batch_size=1, epochs=1, verbose=0).history
    np.testing.assert_allclose(logs["kl"][0], float(ops.mean(expected)), rtol=1e-4)
    np.testing.assert_allclose(logs["reward"][0], expected_reward.mean(), rtol=1e-5)
    assert abs(logs["kl"][0]) > 0.1  # the perturbed reference really differs


@pytest.fixture(scope="module")
def trained():
    """A tiny tuner without KL penalty, 30 steps; its mean reward before and after."""
    tuner = tiny_tuner(kl_coef=0.0)
    reference_weights = [w.copy() for w in tuner.reference.get_weights()]
    before = mean_reward(tuner)
    tuner.fit(np.zeros(30), batch_size=1, epochs=1, verbose=0)
    return tuner, before, mean_reward(tuner), reference_weights


def test_fine_tuning_raises_the_reward_and_leaves_the_reference_alone(trained):
    tuner, before, after, reference_weights = trained
    assert after > before + 0.15, (before, after)
    for kept, now in zip(reference_weights, tuner.reference.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)


def test_keras_file_round_trip(trained, tmp_path):
    tuner = trained[0]
    path = tmp_path / "tuner.keras"
    tuner.save(path)
    loaded = keras.models.load_model(path, compile=False)
    assert isinstance(loaded.reward, LipogramReward) and loaded.reward.letter == "e"
    assert (loaded.kl_coef, loaded.sample_length, loaded.batch_size) == (0.0, 12, 32)
    for model in ("policy", "reference"):
        pairs = zip(getattr(tuner, model).get_weights(), getattr(loaded, model).get_weights(),
                    strict=True)
        for saved, restored in pairs:
            np.testing.assert_array_equal(saved, restored)
    assert not np.allclose(tuner.policy.get_weights()[0], tuner.reference.get_weights()[0])


def test_fit_within_budget_returns_curves_with_held_out_bits_per_char(trained):
    run = trained[0].fit_within_budget(seconds=1, eval_every=3,
                                       held_out_text="a be ab ba " * 20)
    assert sorted(run) == ["bits_per_char", "elapsed", "kl", "loss", "reward", "steps"]
    assert len(run["reward"]) == len(run["bits_per_char"]) == len(run["steps"]) >= 1
    assert run["steps"][0] >= 1 and all(np.isfinite(run["bits_per_char"]))
    assert run["elapsed"][-1] >= 1


def test_mini_gpt_policies_sample_by_recomputing_the_prefix():
    keras.utils.set_random_seed(0)
    policy = MiniGPT(VOCAB, context_length=8, embed_dim=8, num_heads=1, num_layers=1)
    tuner = RewardFineTuner(policy, LipogramReward("e"), sample_length=3, batch_size=2)
    assert ops.convert_to_numpy(tuner.sample_ids()).shape == (2, 3)
    with pytest.raises(ValueError, match="exceeds the policy's context_length 8"):
        RewardFineTuner(policy, LipogramReward("e"), sample_length=9)


@pytest.mark.parametrize("kwargs, message", [
    ({"policy": keras.Sequential([keras.layers.Dense(2)])}, "must be a CharLanguageModel"),
    ({"reward": "e"}, "reward must be callable"),
    ({"kl_coef": -0.1}, "kl_coef must be a finite number >= 0"),
    ({"kl_coef": float("nan")}, "kl_coef must be a finite number >= 0"),
    ({"sample_length": 0}, "sample_length must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    arguments = {"policy": CharRNN(VOCAB, units=4), "reward": LipogramReward("e"), **kwargs}
    with pytest.raises(ValueError, match=message):
        RewardFineTuner(**arguments)


def test_a_reward_with_the_wrong_shape_is_reported():
    tuner = RewardFineTuner(CharRNN(VOCAB, units=4), lambda texts: [1.0], batch_size=3,
                            sample_length=4)
    with pytest.raises(ValueError, match="must return 3 finite numbers"):
        tuner._rewards(np.full((3, 4), 3))


def test_frozen_copy_is_independent_of_the_original():
    model = CharRNN(VOCAB, units=4)
    model.build()
    copy = frozen_copy(model)
    model.head.bias.assign(np.ones(VOCAB.size))
    assert not copy.trainable and np.all(copy.head.bias.numpy() == 0)
