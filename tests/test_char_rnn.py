"""Sampling, the char-RNN (step-by-step generation, training, saving) and the RNN lab."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from aigc_tf.callbacks import TimeBudget
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.rnn_lab import (
    adding_problem,
    gradient_norms_over_time,
    make_sequence_regressor,
    set_memory_gate_bias,
)
from aigc_tf.sampling import check_sampling_args, sample_logits, top_k_logits
from aigc_tf.text import CharVocab, make_char_dataset

TEXT = "to be, or not to be: that is the question.\n" * 40
VOCAB = CharVocab(TEXT)


def softmax(x):
    x = np.asarray(x, "float64")
    e = np.exp(x - x.max())
    return e / e.sum()


# ----------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf"), "hot", True])
def test_bad_temperature_is_rejected(temperature):
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        check_sampling_args(temperature, None)


@pytest.mark.parametrize("top_k", [0, -3, 2.5, True])
def test_bad_top_k_is_rejected(top_k):
    with pytest.raises(ValueError, match="top_k must be None or an integer >= 1"):
        sample_logits(np.zeros((1, 4)), 1.0, top_k=top_k)


def test_tiny_temperature_and_greedy_equal_argmax():
    logits = np.random.RandomState(0).normal(size=(64, 30)).astype("float32") * 3
    seed = keras.random.SeedGenerator(1)
    cold = sample_logits(logits, temperature=1e-4, seed_generator=seed)
    greedy = sample_logits(logits, greedy=True)
    np.testing.assert_array_equal(cold, logits.argmax(-1))
    np.testing.assert_array_equal(greedy, logits.argmax(-1))


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampling_frequencies_match_softmax_of_scaled_logits(temperature):
    logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0], "float32")
    draws = 20_000
    ids = sample_logits(np.tile(logits, (draws, 1)), temperature, seed_generator=7)
    observed = np.bincount(np.asarray(ids), minlength=5)
    expected = softmax(logits / temperature) * draws
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    flat = sample_logits(np.tile(logits, (draws, 1)), 1.0, seed_generator=7)
    if temperature != 1.0:  # the statistic can tell temperatures apart
        assert stats.chisquare(np.bincount(np.asarray(flat), minlength=5), expected).pvalue < 1e-3


def test_top_k_only_samples_the_k_largest():
    logits = np.array([[0.1, 3.0, -2.0, 2.5, 0.0]], "float32")
    np.testing.assert_array_equal(np.isfinite(top_k_logits(logits, 2)), [[0, 1, 0, 1, 0]])
    ids = sample_logits(np.repeat(logits, 2000, 0), 5.0, top_k=2, seed_generator=3)
    assert set(np.unique(ids)) == {1, 3}
    assert top_k_logits(logits, 50).shape == (1, 5)  # k above the vocabulary keeps all


def test_sampling_works_inside_xla_function():
    seed = keras.random.SeedGenerator(0)

    @tf.function(jit_compile=True)
    def draw(logits, temperature):
        return sample_logits(logits, temperature, top_k=3, seed_generator=seed)

    logits = tf.random.normal((8, 20), seed=1)
    first, second = draw(logits, tf.constant(0.7)), draw(logits, tf.constant(0.7))
    assert first.shape == (8,) and first.dtype == tf.int32
    assert not np.array_equal(first, second) or np.unique(first).size == 1  # state advances


# ----------------------------------------------------------------------------- char-RNN


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_step_by_step_matches_full_sequence(cell):
    model = CharRNN(VOCAB, cell=cell, units=16, num_layers=2, embedding_dim=8)
    ids = VOCAB.encode("to be or")
    full = model(ids[None]).numpy()[0]
    states = model.initial_states()
    for t, token in enumerate(ids):
        logits, states = model.step(np.array([token]), states)
        np.testing.assert_allclose(logits.numpy()[0], full[t], atol=1e-5)
    assert len(states) == 2 * model.states_per_layer


def test_loss_decreases_over_a_few_steps():
    keras.utils.set_random_seed(0)
    train, _ = make_char_dataset(VOCAB.encode(TEXT), 20, 16, start_id=VOCAB.start_id)
    model = CharRNN(VOCAB, cell="gru", units=32, dropout=0.1)
    model.compile(optimizer=keras.optimizers.Adam(1e-2, clipnorm=1.0))
    history = model.fit(train, epochs=4, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


def test_generate_is_reproducible_and_respects_arguments():
    model = CharRNN(VOCAB, cell="lstm", units=16)
    first = model.generate("to ", 30, temperature=1.5, seed=3)
    assert first.startswith("to ") and len(first) == 33
    assert set(first) <= set(VOCAB.characters)
    assert model.generate("to ", 30, temperature=1.5, seed=3) == first
    assert model.generate("to ", 30, temperature=1.5, seed=4) != first
    assert len(model.generate("", 10, seed=0)) == 10  # empty prompt: starts from <start>
    assert model.generate("to", 0) == "to"
    greedy = model.generate("to", 10, greedy=True, seed=1)
    assert model.generate("to", 10, greedy=True, seed=2) == greedy


def test_end_token_stops_generation_only_when_asked():
    model = CharRNN(VOCAB, cell="gru", units=8)
    model.build()
    bias = np.zeros(VOCAB.size, "float32")
    bias[VOCAB.end_id] = 50.0  # the model all but always wants to stop
    model.head.bias.assign(bias)
    assert model.generate("to", 10, seed=0, stop_at_end=True) == "to"
    assert len(model.generate("to", 10, seed=0)) == 12


def test_generate_rejects_bad_input():
    model = CharRNN(VOCAB, cell="gru", units=8)
    with pytest.raises(ValueError, match="temperature"):
        model.generate("to", 5, temperature=0)
    with pytest.raises(ValueError, match="top_k"):
        model.generate("to", 5, top_k=0)
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['Z'\]"):
        model.generate("toZ", 5)
    with pytest.raises(ValueError, match="length"):
        model.generate("to", -1)
    with pytest.raises(ValueError, match="unknown cell 'transformer'"):
        CharRNN(VOCAB, cell="transformer")
    with pytest.raises(ValueError, match="units"):
        CharRNN(VOCAB, units=0)


def test_next_char_probabilities_are_sorted():
    model = CharRNN(VOCAB, cell="gru", units=8)
    top = model.next_char_probabilities("to b", k=4)
    probs = [p for _, p in top]
    assert len(top) == 4 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6


def test_keras_round_trip_generates_identical_text(tmp_path):
    model = CharRNN(VOCAB, cell="gru", units=16, num_layers=2, dropout=0.1)
    model.compile(optimizer="adam")
    train, _ = make_char_dataset(VOCAB.encode(TEXT), 20, 16, validation_split=0)
    model.fit(train, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "char_rnn.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.vocab == VOCAB and loaded.get_config() == model.get_config()
    ids = VOCAB.encode("not to be")[None]
    np.testing.assert_allclose(loaded(ids), model(ids), atol=1e-6)
    assert loaded.generate("to", 40, 0.8, top_k=5, seed=11) == model.generate(
        "to", 40, 0.8, top_k=5, seed=11
    )


def test_fit_within_budget_stops_on_time_and_anneals():
    train, val = make_char_dataset(VOCAB.encode(TEXT), 20, 8, repeat=True)
    model = CharRNN(VOCAB, cell="gru", units=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    run = model.fit_within_budget(train, val, seconds=0.5, eval_every=5, final_lr_fraction=0.5)
    assert 1 <= run["steps"] < 5000 and run["seconds"] < 60
    assert len(run["loss"]) == len(run["val_loss"]) == -(-run["steps"] // 5)
    assert len(run["elapsed"]) == len(run["loss"]) and run["elapsed"] == sorted(run["elapsed"])
    assert run["eval_steps"][-1] == run["steps"]
    assert run["eval_steps"][:-1] == [5 * (i + 1) for i in range(len(run["loss"]) - 1)]
    # The rate annealed to half during fit and is back at its base: the next budget starts
    # from 1e-2 again instead of compounding the decay.
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-2)
    model.fit_within_budget(train, val, seconds=0.3, eval_every=5, final_lr_fraction=0.5)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-2)


def test_time_budget_learning_rate_warms_up_then_decays():
    budget = TimeBudget(100, final_lr_fraction=0.1, warmup_fraction=0.2)
    factors = [budget.lr_factor(u) for u in (0.0, 0.1, 0.2, 0.6, 1.0)]
    assert factors == pytest.approx([0.0, 0.5, 1.0, 0.55, 0.1])
    assert TimeBudget(10).lr_factor(0.5) == pytest.approx(0.55)
    assert not TimeBudget(10, final_lr_fraction=1).shapes_learning_rate
    for kwargs in ({"seconds": 0}, {"seconds": 1, "final_lr_fraction": 0},
                   {"seconds": 1, "warmup_fraction": 1}):
        with pytest.raises(ValueError, match="must be"):
            TimeBudget(**kwargs)


# ----------------------------------------------------------------------------- rnn_lab


def test_gradient_vanishes_through_time_unless_the_keep_gate_is_open():
    x = np.random.RandomState(0).normal(size=(4, 40, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    plain = gradient_norms_over_time(keras.layers.SimpleRNN(16), x)
    assert plain.shape == (40,) and plain[0] < 1e-2 * plain[-1]
    lstm = keras.layers.LSTM(16)
    lstm.build(x.shape)
    set_memory_gate_bias(lstm, 3.0)
    kept = gradient_norms_over_time(lstm, x)
    assert kept[0] > 0.1 * kept[-1]
    with pytest.raises(ValueError, match="LSTM or GRU"):
        set_memory_gate_bias(keras.layers.SimpleRNN(4), 1.0)
    with pytest.raises(ValueError, match=r"shape \(batch, time, features\)"):
        gradient_norms_over_time(keras.layers.GRU(4), x[0])


def test_adding_problem_targets_are_the_marked_sums():
    x, y = adding_problem(8, 10, seed=1)
    assert x.shape == (8, 10, 2) and y.shape == (8, 1)
    assert (x[..., 1].sum(axis=1) == 2).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(axis=1), rtol=1e-6)
    model = make_sequence_regressor("gru", 4, recurrent_gain=1.5)
    assert model(x).shape == (8, 1)
    with pytest.raises(ValueError, match="seq_len must be >= 2"):
        adding_problem(8, 1)
