"""Hidden cases for notebook 10 (word embeddings)."""

from collections import Counter

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise


def _as_pairs(case, answer):
    try:
        pairs = [(int(centre), int(context)) for centre, context in answer]
    except (TypeError, ValueError):
        raise ExerciseFailure(f"{case}: expected a list of (centre, context) pairs of ids, "
                              f"got {type(answer).__name__}") from None
    return Counter(pairs)


@exercise("10.skipgram_pairs",
          hint="every position is a centre once; its context words are the positions at distance "
               "1 to window on BOTH sides, clipped at the ends of the sequence; a word that "
               "occurs twice gives its pairs twice")
def _skipgram_pairs_cases(skipgram_pairs_by_hand):
    from aigc_tf.models.word2vec import skipgram_pairs

    cases = [("6 distinct ids, window 1", np.arange(6), 1),
             ("5 distinct ids, window 2", np.array([4, 0, 3, 1, 2]), 2),
             ("'to be or not to be' as ids, window 2", np.array([0, 1, 2, 3, 0, 1]), 2),
             ("3 ids, window 5 (longer than the sequence)", np.array([7, 8, 9]), 5)]
    for name, ids, window in cases:
        centres, contexts = skipgram_pairs(ids, window=window)
        expected = Counter(zip(centres.tolist(), contexts.tolist(), strict=True))
        got = _as_pairs(name, skipgram_pairs_by_hand(ids.copy(), window))
        if got != expected:
            missing = sorted((expected - got).elements())
            extra = sorted((got - expected).elements())
            raise ExerciseFailure(
                f"{name}: expected {sum(expected.values())} pairs, got {sum(got.values())}"
                + (f"; missing e.g. {missing[:3]}" if missing else "")
                + (f"; not expected e.g. {extra[:3]}" if extra else ""))
    return len(cases)


@exercise("10.negative_sampling_loss",
          hint="one -log sigmoid term for the true context's score and one per negative for "
               "MINUS its score, all added up (not averaged); -log sigmoid(s) = "
               "np.logaddexp(0, -s) without overflow")
def _negative_sampling_loss_cases(negative_sampling_loss):
    rng = np.random.default_rng(10)
    cases = [("all vectors zero (every score 0), K = 2", np.zeros(3), np.zeros(3),
              np.zeros((2, 3))),
             ("context aligned with the centre, one opposite negative", np.array([1.0, 2.0]),
              np.array([1.0, 2.0]), np.array([[-1.0, -2.0]]))]
    for dim, negatives in ((8, 5), (16, 3)):
        cases.append((f"random {dim}-d vectors, K = {negatives}", rng.normal(size=dim),
                      rng.normal(size=dim), rng.normal(size=(negatives, dim))))
    return check_cases(negative_sampling_loss, cases, _negative_sampling_loss, rtol=1e-6,
                       atol=1e-9)


def _negative_sampling_loss(centre, context, negative):
    return (np.logaddexp(0.0, -context @ centre)
            + np.sum(np.logaddexp(0.0, negative @ centre)))


@exercise("10.nearest_words",
          hint="rank by the cosine a.b / (|a| |b|), not by the dot product (vectors of frequent "
               "words are longer); leave the word itself out; most similar first")
def _nearest_words_cases(nearest_words):
    rng = np.random.default_rng(100)
    vocabulary = ["king", "queen", "cat", "dog", "night"]
    # queen is closest to king in angle; night is long and points 45 degrees away, so a dot
    # product would rank it first.
    vectors = np.array([[1.0, 0.0], [0.9, 0.3], [0.0, 1.0], [-0.2, 1.0], [5.0, 5.0]])
    cases = [("5 words in 2-D, neighbours of 'king', k = 2", vectors, vocabulary, "king", 2),
             ("5 words in 2-D, neighbours of 'cat', k = 3", vectors, vocabulary, "cat", 3)]
    words = [f"w{i}" for i in range(40)]
    random_vectors = rng.normal(size=(40, 6)) * rng.uniform(0.2, 5.0, size=(40, 1))
    cases.append(("40 random words in 6-D, neighbours of 'w7', k = 5", random_vectors, words,
                  "w7", 5))
    for name, table, vocab, word, k in cases:
        unit = table / np.linalg.norm(table, axis=1, keepdims=True)
        cosines = unit @ unit[vocab.index(word)]
        cosines[vocab.index(word)] = -np.inf
        expected = [vocab[i] for i in np.argsort(-cosines)[:k]]
        got = nearest_words(table.copy(), list(vocab), word, k)
        if list(got) != expected:
            raise ExerciseFailure(f"{name}: expected {expected}, got {list(got)}")
    return len(cases)
