"""Skip-gram word embeddings: tokens, pairs, training, cosine neighbours, round-trip, errors."""

import keras
import numpy as np
import pytest

from aigc_tf.config import set_seed
from aigc_tf.models.word2vec import SkipGram, build_word_vocab, skipgram_pairs, tokenize_words

# Two word families that never share a sentence: animals and colours.
ANIMALS = ["cat", "dog", "horse", "cow"]
COLOURS = ["red", "blue", "green", "pink"]


def _tiny_corpus(sentences=400, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(sentences):
        family, verb = (ANIMALS, "runs") if i % 2 else (COLOURS, "shines")
        a, b = rng.choice(family, 2, replace=False)
        lines.append(f"the {a} {verb} and the {b} {verb}.")
    return " ".join(lines)


def _trained_model(epochs=8):
    set_seed(0)
    words = tokenize_words(_tiny_corpus())
    vocab, counts = build_word_vocab(words, min_count=1)
    model = SkipGram(vocab, counts, embed_dim=16, num_negatives=4, seed=0)
    centres, contexts = skipgram_pairs(model.encode(words), window=2)
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    history = model.fit(centres, contexts, batch_size=256, epochs=epochs, verbose=0)
    return model, history.history["loss"]


@pytest.fixture(scope="module")
def trained():
    return _trained_model()


def test_tokenize_and_vocab():
    assert tokenize_words("Thou art; I'll GO.") == ["thou", "art", "i'll", "go"]
    vocab, counts = build_word_vocab(["a", "b", "a", "c", "a", "b"], min_count=2)
    assert vocab == ["a", "b"] and counts.tolist() == [3, 2]


def test_skipgram_pairs_are_neighbours_within_the_window():
    centres, contexts = skipgram_pairs(np.array([0, 1, 2, 3]), window=2)
    pairs = set(zip(centres.tolist(), contexts.tolist(), strict=True))
    assert pairs == {(a, b) for a in range(4) for b in range(4) if 0 < abs(a - b) <= 2}


def test_loss_decreases(trained):
    model, losses = trained
    # Zero context vectors at the start give every one of the 1 + K terms a loss of log 2.
    initial = (1 + model.num_negatives) * np.log(2)
    assert losses[-1] < losses[0] < initial
    assert losses[-1] < 0.7 * initial


def test_most_similar_finds_the_same_family(trained):
    model, _ = trained
    for family in (ANIMALS, COLOURS):
        neighbours = [word for word, _ in model.most_similar(family[0], k=3)]
        assert set(neighbours) == set(family[1:]), neighbours
    (_, best), *_ = model.most_similar("cat", k=3)
    assert best == pytest.approx(model.similarity("cat", model.most_similar("cat", 1)[0][0]))
    assert model.similarity("cat", "dog") > model.similarity("cat", "red")


def test_cosine_similarity_formula(trained):
    model, _ = trained
    a, b = model.vector("cat"), model.vector("red")
    expected = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert model.similarity("cat", "red") == pytest.approx(expected, rel=1e-5)


def test_keras_file_round_trip(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "skipgram.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.vectors(), model.vectors())
    assert loaded.most_similar("dog", k=3) == model.most_similar("dog", k=3)


def test_bad_inputs_raise_clear_errors(trained):
    model, _ = trained
    with pytest.raises(ValueError, match="unknown word 'unicorn'"):
        model.most_similar("unicorn")
    with pytest.raises(ValueError, match="k must be"):
        model.most_similar("cat", k=0)
    with pytest.raises(ValueError, match="at least 2 words"):
        build_word_vocab(["lonely"], min_count=1)
    with pytest.raises(ValueError, match="counts"):
        SkipGram(["a", "b"], [1])
    with pytest.raises(ValueError, match="window"):
        skipgram_pairs(np.arange(5), window=0)
