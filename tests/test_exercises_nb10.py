"""Notebook 10's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def skipgram_pairs_by_hand(ids, window):
    pairs = []
    for i, centre in enumerate(ids):
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            if j != i:
                pairs.append((centre, ids[j]))
    return pairs


def negative_sampling_loss(centre, context, negatives):
    positive = np.logaddexp(0.0, -(context @ centre))
    negative = np.sum(np.logaddexp(0.0, negatives @ centre))
    return positive + negative


def nearest_words(vectors, vocabulary, word, k):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = unit @ unit[vocabulary.index(word)]
    cosines[vocabulary.index(word)] = -np.inf
    return [vocabulary[i] for i in np.argsort(-cosines)[:k]]


@pytest.mark.parametrize("exercise_id, answer", [
    ("10.skipgram_pairs", skipgram_pairs_by_hand),
    ("10.negative_sampling_loss", negative_sampling_loss),
    ("10.nearest_words", nearest_words),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_pairs_on_one_side_only_are_rejected_with_what_is_missing():
    def right_only(ids, window):
        return [(ids[i], ids[j]) for i in range(len(ids))
                for j in range(i + 1, min(len(ids), i + window + 1))]

    with pytest.raises(AssertionError, match=r"6 distinct ids, window 1: expected 10 pairs, got 5; "
                                             r"missing e.g. \[\(1, 0\), \(2, 1\), \(3, 2\)\]"):
        check_exercise("10.skipgram_pairs", right_only)


def test_pairs_that_drop_repeated_words_are_rejected():
    def distinct(ids, window):
        return sorted(set(skipgram_pairs_by_hand(ids, window)))

    with pytest.raises(AssertionError, match=r"'to be or not to be' as ids, window 2: expected "
                                             r"18 pairs, got 12"):
        check_exercise("10.skipgram_pairs", distinct)


def test_pairs_in_the_wrong_format_are_rejected():
    with pytest.raises(AssertionError, match=r"expected a list of \(centre, context\) pairs"):
        check_exercise("10.skipgram_pairs", lambda ids, window: 3)


def test_loss_with_the_wrong_sign_on_negatives_is_rejected():
    def wrong_sign(centre, context, negatives):
        return (np.logaddexp(0.0, -(context @ centre))
                + np.sum(np.logaddexp(0.0, -(negatives @ centre))))

    with pytest.raises(AssertionError, match=r"context aligned with the centre, one opposite "
                                             r"negative: expected 0.0134, got 5.0134"):
        check_exercise("10.negative_sampling_loss", wrong_sign)


def test_loss_averaged_over_the_negatives_is_rejected():
    def averaged(centre, context, negatives):
        return (np.logaddexp(0.0, -(context @ centre))
                + np.mean(np.logaddexp(0.0, negatives @ centre)))

    with pytest.raises(AssertionError, match=r"all vectors zero \(every score 0\), K = 2"):
        check_exercise("10.negative_sampling_loss", averaged)


def test_neighbours_by_dot_product_are_rejected():
    def by_dot_product(vectors, vocabulary, word, k):
        scores = vectors @ vectors[vocabulary.index(word)]
        scores[vocabulary.index(word)] = -np.inf
        return [vocabulary[i] for i in np.argsort(-scores)[:k]]

    with pytest.raises(AssertionError, match=r"neighbours of 'king', k = 2: expected "
                                             r"\['queen', 'night'\], got \['night', 'queen'\]"):
        check_exercise("10.nearest_words", by_dot_product)


def test_neighbours_including_the_word_itself_are_rejected():
    def with_itself(vectors, vocabulary, word, k):
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        cosines = unit @ unit[vocabulary.index(word)]
        return [vocabulary[i] for i in np.argsort(-cosines)[:k]]

    with pytest.raises(AssertionError, match=r"expected \['queen', 'night'\], got "
                                             r"\['king', 'queen'\]"):
        check_exercise("10.nearest_words", with_itself)
