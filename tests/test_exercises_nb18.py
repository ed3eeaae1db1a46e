"""Notebook 18's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def balanced_accuracy(scores, is_generated, threshold):
    scores, is_generated = np.asarray(scores, "float64"), np.asarray(is_generated, bool)
    flagged = scores >= threshold
    detected = np.mean(flagged[is_generated])
    real_passed = np.mean(~flagged[~is_generated])
    return float((detected + real_passed) / 2)


def copy_share(samples, train_images, reference_images, threshold):
    train = np.asarray(train_images, "float64").reshape(len(train_images), -1)

    def nearest_distance(images):
        rows = np.asarray(images, "float64").reshape(len(images), -1)
        return np.linalg.norm(rows[:, None] - train[None], axis=-1).min(axis=1)

    ratios = nearest_distance(samples) / np.median(nearest_distance(reference_images))
    return float(np.mean(ratios < threshold))


@pytest.mark.parametrize("exercise_id, answer", [
    ("18.balanced_accuracy", balanced_accuracy),
    ("18.copy_share", copy_share),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_plain_accuracy_is_rejected():
    def accuracy(scores, is_generated, threshold):
        return float(np.mean((np.asarray(scores) >= threshold) == np.asarray(is_generated)))

    with pytest.raises(AssertionError, match=r"18.balanced_accuracy: 90 real.*Hint: flag"):
        check_exercise("18.balanced_accuracy", accuracy)


def test_strict_threshold_is_rejected():
    def strict(scores, is_generated, threshold):
        return balanced_accuracy(np.asarray(scores) - 1e-12, is_generated, threshold)

    with pytest.raises(AssertionError, match=r"exactly the threshold"):
        check_exercise("18.balanced_accuracy", strict)


def test_mean_instead_of_median_is_rejected():
    def with_mean(samples, train_images, reference_images, threshold):
        train = np.asarray(train_images, "float64").reshape(len(train_images), -1)

        def nearest_distance(images):
            rows = np.asarray(images, "float64").reshape(len(images), -1)
            return np.linalg.norm(rows[:, None] - train[None], axis=-1).min(axis=1)

        ratios = nearest_distance(samples) / np.mean(nearest_distance(reference_images))
        return float(np.mean(ratios < threshold))

    with pytest.raises(AssertionError, match=r"reference that holds training images"):
        check_exercise("18.copy_share", with_mean)


def test_unnormalised_distance_is_rejected():
    def raw_distance(samples, train_images, reference_images, threshold):
        train = np.asarray(train_images, "float64").reshape(len(train_images), -1)
        rows = np.asarray(samples, "float64").reshape(len(samples), -1)
        nearest = np.linalg.norm(rows[:, None] - train[None], axis=-1).min(axis=1)
        return float(np.mean(nearest < threshold))

    with pytest.raises(AssertionError, match=r"18.copy_share: .*Hint: for each sample"):
        check_exercise("18.copy_share", raw_distance)


def test_a_stub_counts_as_not_attempted(capsys):
    def stub(scores, is_generated, threshold):
        raise NotImplementedError

    assert check_exercise("18.balanced_accuracy", stub) is False
    assert "not attempted" in capsys.readouterr().out.lower()
