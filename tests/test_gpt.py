"""MiniGPT: causal outputs, training, generation, .keras round-trip, bad inputs."""

import keras
import numpy as np
import pytest

from aigc_tf.config import set_seed
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.text import CharVocab, make_char_dataset

TEXT = "to be, or not to be: that is the question.\n" * 40
CONTEXT = 16


def _model(**kwargs):
    set_seed(0)
    options = dict(context_length=CONTEXT, embed_dim=32, num_heads=2, num_layers=2)
    return MiniGPT(CharVocab(TEXT), **(options | kwargs))


@pytest.fixture(scope="module")
def trained():
    model = _model()
    ids = model.vocab.encode(TEXT)
    train, _ = make_char_dataset(ids, seq_len=CONTEXT, batch_size=16, start_id=model.vocab.start_id)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(train, epochs=12, shuffle=False, verbose=0)
    return model, history.history["loss"]


def test_logits_shape_and_causality():
    model = _model()
    ids = model.vocab.encode(TEXT[:CONTEXT])[None]
    changed = ids.copy()
    changed[0, 10:] = model.vocab.encode("q" * (CONTEXT - 10))
    before, after = np.asarray(model(ids)), np.asarray(model(changed))
    assert before.shape == (1, CONTEXT, model.vocab.size)
    np.testing.assert_allclose(before[:, :10], after[:, :10], rtol=1e-5, atol=1e-5)
    assert not np.allclose(before[:, 10:], after[:, 10:])


def test_loss_decreases(trained):
    _, losses = trained
    assert losses[-1] < 0.5 * losses[0]


def test_generate_is_reproducible_and_crops_long_text(trained):
    model, _ = trained
    text = model.generate("to be", length=3 * CONTEXT, temperature=0.8, seed=3)
    assert text.startswith("to be") and len(text) == len("to be") + 3 * CONTEXT
    assert text == model.generate("to be", length=3 * CONTEXT, temperature=0.8, seed=3)
    assert model.generate("", length=5, seed=0) != ""
    long_prompt = TEXT[: 2 * CONTEXT]
    assert model.generate(long_prompt, length=4, seed=0).startswith(long_prompt)


def _both_ways(model, *args, **kwargs):
    """The text of ``generate`` with the key/value cache and with full recomputation."""
    try:
        model.use_kv_cache = True
        cached = model.generate(*args, **kwargs)
        model.use_kv_cache = False
        return cached, model.generate(*args, **kwargs)
    finally:
        model.use_kv_cache = True


# One sampling setting (a compiled function each): a high temperature makes the texts
# diverge at once if a single logit differs.
@pytest.mark.parametrize(("prompt", "length", "seed"), [
    ("to be", 3 * CONTEXT, 3),  # context shifts at 16, 24, 32, ... characters
    ("", CONTEXT, 5),
    (TEXT[: 2 * CONTEXT], CONTEXT + 3, 11),  # prompt longer than the window
])
def test_key_value_cache_gives_the_text_of_full_recomputation(trained, prompt, length, seed):
    model, _ = trained
    cached, recomputed = _both_ways(model, prompt, length, temperature=1.5, seed=seed)
    assert len(cached) == len(prompt) + length
    assert cached == recomputed  # token for token


def test_greedy_continues_the_memorised_text(trained):
    model, _ = trained
    assert model.generate("to be, or not", length=8, greedy=True) == "to be, or not to be: "


def test_keras_file_round_trip_generates_identical_text(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "gpt.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    ids = model.vocab.encode(TEXT[:CONTEXT])[None]
    np.testing.assert_allclose(np.asarray(loaded(ids)), np.asarray(model(ids)), atol=1e-5)
    expected = model.generate("that ", length=30, temperature=1.0, top_k=5, seed=7)
    assert loaded.generate("that ", length=30, temperature=1.0, top_k=5, seed=7) == expected


def test_bad_inputs_raise_clear_errors(trained):
    model, _ = trained
    with pytest.raises(ValueError, match="temperature"):
        model.generate("to", length=5, temperature=0)
    with pytest.raises(ValueError, match="top_k"):
        model.generate("to", length=5, top_k=0)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        model.generate("xyz", length=5)
    with pytest.raises(ValueError, match="length"):
        model.generate("to", length=-1)
    with pytest.raises(ValueError, match="divisible"):
        _model(embed_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="context_length"):
        _model(context_length=1)
    with pytest.raises(ValueError, match="max_length"):
        model(np.zeros((1, CONTEXT + 1), "int32"))
