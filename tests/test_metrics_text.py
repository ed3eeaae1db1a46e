"""Text metrics: bits/char against Keras's own loss, distinct-n, real words, copying."""

import math
import random

import numpy as np
import pytest

from aigc_tf.config import set_seed
from aigc_tf.metrics.text import (
    bits_per_char,
    distinct_n,
    distinct_ngrams,
    evaluate_text,
    known_word_share,
    longest_copied_substring,
    nll_to_metrics,
    text_summary_line,
)
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.text import CharVocab, load_corpus, make_char_dataset

GPT_CONTEXT = 32


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def vocab(corpus):
    return CharVocab(corpus)


def _tiny_model(kind, vocab):
    set_seed(0)
    if kind == "gpt":
        model = MiniGPT(vocab, context_length=GPT_CONTEXT, embed_dim=16, num_heads=2,
                        num_layers=1)
    else:
        model = CharRNN(vocab, cell="gru", units=16, embedding_dim=8)
    model.compile()
    return model


def _random_letters(count, seed=0):
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz     ") for _ in range(count))


def _naive_longest_copy(generated, training_text):
    best, best_start = 0, 0
    for start in range(len(generated)):
        for end in range(start + best + 1, len(generated) + 1):
            if generated[start:end] not in training_text:
                break
            best, best_start = end - start, start
    return {"length": best, "text": generated[best_start : best_start + best]}


# ----------------------------------------------------------------------------- likelihood


def test_nll_to_metrics_by_hand():
    metrics = nll_to_metrics(math.log(2))
    assert metrics["bits_per_char"] == pytest.approx(1.0)
    assert metrics["perplexity"] == pytest.approx(2.0)
    assert nll_to_metrics(0)["perplexity"] == 1.0
    assert nll_to_metrics(math.log(65))["perplexity"] == pytest.approx(65)


@pytest.mark.parametrize("kind, tolerance", [("rnn", 0.01), ("gpt", 0.5)])
def test_untrained_model_scores_near_uniform_and_matches_keras_evaluate(
    kind, tolerance, corpus, vocab
):
    # At initialisation the logits are nearly equal, so the loss is about ln(vocab size):
    # measured within 0.002 for the GRU and 0.16-0.29 above for the MiniGPT (seeds 0-2).
    model = _tiny_model(kind, vocab)
    text, seq_len, split = corpus[:20_000], 32, 0.2
    _, val = make_char_dataset(vocab.encode(text), seq_len, batch_size=16,
                               validation_split=split, start_id=vocab.start_id)
    held_out = text[round(len(text) * (1 - split)) :]  # make_char_dataset's validation tail
    result = bits_per_char(model, held_out, seq_len=seq_len, batch_size=16)
    assert result["num_chars"] == (len(held_out) - 1) // seq_len * seq_len
    assert result["nats_per_char"] == pytest.approx(model.evaluate(val, verbose=0), abs=1e-4)
    assert 0 <= result["nats_per_char"] - math.log(vocab.size) < tolerance
    assert result["bits_per_char"] == pytest.approx(result["nats_per_char"] / math.log(2))


def test_window_length_defaults_to_the_gpt_context(corpus, vocab):
    model = _tiny_model("gpt", vocab)
    result = bits_per_char(model, corpus[:1000])
    assert result["num_chars"] == (1000 - 1) // GPT_CONTEXT * GPT_CONTEXT
    with pytest.raises(ValueError, match="longer than the model's context length 32"):
        bits_per_char(model, corpus[:1000], seq_len=GPT_CONTEXT + 1)


def test_bits_per_char_rejects_bad_input(corpus, vocab):
    model = _tiny_model("rnn", vocab)
    with pytest.raises(ValueError, match="must be a CharLanguageModel"):
        bits_per_char("not a model", corpus[:500])
    with pytest.raises(ValueError, match="held-out text is empty"):
        bits_per_char(model, "")
    with pytest.raises(ValueError, match="held-out text must be a str, got list"):
        bits_per_char(model, ["to be"])
    with pytest.raises(ValueError, match="5 characters, too short for one window of seq_len=8"):
        bits_per_char(model, "to be", seq_len=8)
    with pytest.raises(ValueError, match=r"not in the model's vocabulary: \['~'\]"):
        bits_per_char(model, corpus[:500] + "~", seq_len=8)
    with pytest.raises(ValueError, match="seq_len must be a positive integer"):
        bits_per_char(model, corpus[:500], seq_len=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        bits_per_char(model, corpus[:500], batch_size=0)
    for bad in (-0.1, float("nan"), "1.5"):
        with pytest.raises(ValueError, match="nats_per_char must be a finite number >= 0"):
            nll_to_metrics(bad)


def test_nan_logits_are_reported(corpus, vocab):
    model = _tiny_model("rnn", vocab)
    model.build()
    model.head.bias.assign(np.full(vocab.size, np.nan, "float32"))
    with pytest.raises(ValueError, match="NaN or infinite logits"):
        bits_per_char(model, corpus[:500], seq_len=50)


# ----------------------------------------------------------------------------- diversity


def test_distinct_n_by_hand():
    assert distinct_n("a b a b", 1) == 0.5
    assert distinct_n("a b a b", 2) == pytest.approx(2 / 3)
    assert distinct_n("A b, a B!", 1) == 0.5  # lower-cased words, punctuation ignored
    assert distinct_n("o'er the o'er", 1) == pytest.approx(2 / 3)  # "o'er" is one word
    assert distinct_ngrams("a b a b", ns=(1, 2)) == {"distinct_1": 0.5, "distinct_2": 2 / 3}


def test_distinct_n_is_low_for_loops_and_high_for_real_text(corpus):
    looping = distinct_ngrams("to be or not " * 50)
    assert all(value < 0.05 for value in looping.values())
    real = distinct_ngrams(corpus[200_000:205_000])
    assert real["distinct_1"] > 0.3 and real["distinct_2"] > 0.5 and real["distinct_3"] > 0.8


def test_known_word_share_separates_real_words_from_gibberish(corpus):
    assert known_word_share(corpus[200_000:205_000], corpus[:200_000]) > 0.9
    assert known_word_share(_random_letters(5000), corpus) < 0.3
    assert known_word_share("to be or nto be", "to be, or not to be") == 0.8


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: distinct_n("", 1), "text is empty"),
        (lambda: distinct_n(b"to be", 1), "text must be a str, got bytes"),
        (lambda: distinct_n("to be", 0), "n must be a positive integer, got 0"),
        (lambda: distinct_n("to be", 2.0), "n must be a positive integer"),
        (lambda: distinct_n("to be", 3), "text has 2 words; distinct-3 needs at least 3"),
        (lambda: distinct_ngrams("to be", ns=()), "ns must name at least one"),
        (lambda: known_word_share("?!", "to be"), "generated text has no words"),
        (lambda: known_word_share("to be", None), "training text must be a str"),
        (lambda: longest_copied_substring("", "to be"), "generated text is empty"),
        (lambda: longest_copied_substring("to", ""), "training text is empty"),
    ],
)
def test_text_metrics_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- copying


def test_longest_copy_of_a_training_excerpt_is_the_excerpt(corpus):
    excerpt = corpus[1000:1300]
    assert longest_copied_substring(excerpt, corpus) == {"length": 300, "text": excerpt}
    framed = "\u00a7" * 50 + excerpt + "\u00a7" * 50  # a character the corpus lacks
    assert longest_copied_substring(framed, corpus) == {"length": 300, "text": excerpt}


def test_longest_copy_of_unseen_characters_is_empty(corpus):
    assert longest_copied_substring("\u00a7\u00b6\u2603" * 20, corpus) == {"length": 0, "text": ""}


def test_longest_copy_by_hand():
    found = longest_copied_substring("so to be or not, they say", "to be, or not to be")
    assert found == {"length": 7, "text": " or not"}
    assert longest_copied_substring("abcabc", "xbcax") == {"length": 3, "text": "bca"}


def test_longest_copy_agrees_with_brute_force():
    rng = random.Random(0)
    for _ in range(300):
        alphabet = rng.choice(["ab", "abc ", "a\u00e9\u20ac\U0001f600"])
        training = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 150)))
        generated = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 100)))
        if rng.random() < 0.5:  # plant a long copy
            start = rng.randrange(len(training))
            generated = generated[:10] + training[start : start + 90] + generated[10:]
        expected = _naive_longest_copy(generated, training)
        assert longest_copied_substring(generated, training) == expected


# ----------------------------------------------------------------------------- all together


def test_evaluate_text_without_a_model(corpus):
    generated = corpus[300_000:302_000] + _random_letters(500)
    training = corpus[:300_000] + "\u00a7" + corpus[300_500:301_000] + "\u00a7"
    results = evaluate_text(generated, training)
    assert results["copy_length"] == 500 and len(results["copied_text"]) == 500
    assert {"distinct_1", "distinct_2", "distinct_3", "known_word_share"} <= results.keys()
    assert "bits_per_char" not in results
    assert results["summary"] == text_summary_line(results)
    assert results["summary"].endswith("longest copy 500 chars")


def test_evaluate_text_with_a_model(corpus, vocab):
    model = _tiny_model("gpt", vocab)
    held_out = corpus[-2000:]
    results = evaluate_text(corpus[:3000], corpus[:100_000], model, held_out)
    assert results["nats_per_char"] == bits_per_char(model, held_out)["nats_per_char"]
    assert results["copy_length"] == 3000
    assert results["summary"].startswith(f"{results['bits_per_char']:.2f} bits/char (perplexity ")
    with pytest.raises(ValueError, match="give both model and held_out_text"):
        evaluate_text(corpus[:3000], corpus, model=model)


def test_summary_line_format():
    results = {"bits_per_char": 2.3112, "perplexity": 4.966, "distinct_1": 0.411,
               "distinct_2": 0.834, "distinct_3": 0.951, "known_word_share": 0.92,
               "copy_length": 23}
    assert text_summary_line(results) == (
        "2.31 bits/char (perplexity 4.97) · distinct-1/2/3 0.41/0.83/0.95 · real words 92.0% · "
        "longest copy 23 chars"
    )
    with pytest.raises(ValueError, match="results must come from evaluate_text"):
        text_summary_line({"distinct_1": 0.5})
