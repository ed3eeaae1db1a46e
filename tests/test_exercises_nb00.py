"""Notebook 00's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def rescale(images, from_range, to_range):
    (from_low, from_high), (to_low, to_high) = from_range, to_range
    unit = (images - from_low) / (from_high - from_low)
    return to_low + unit * (to_high - to_low)


def nearest_neighbour_labels(train_images, train_labels, images):
    train_rows = train_images.reshape(len(train_images), -1)
    rows = images.reshape(len(images), -1)
    squared_distances = ((rows**2).sum(axis=1)[:, None] + (train_rows**2).sum(axis=1)[None]
                         - 2 * rows @ train_rows.T)
    return train_labels[np.argmin(squared_distances, axis=1)]


@pytest.mark.parametrize("exercise_id, answer", [
    ("00.rescale", rescale),
    ("00.nearest_neighbour_labels", nearest_neighbour_labels),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_rescale_that_forgets_the_source_range_names_the_case_and_hints():
    def assumes_unit_pixels(images, from_range, to_range):
        return to_range[0] + images * (to_range[1] - to_range[0])

    with pytest.raises(AssertionError, match=r"00.rescale: images in \(-1, 1\) mapped to "
                                             r"\(0, 1\): expected .*Hint: first map from_range"):
        check_exercise("00.rescale", assumes_unit_pixels)


def test_nearest_by_dot_product_is_rejected():
    def largest_dot_product(train_images, train_labels, images):
        train_rows = train_images.reshape(len(train_images), -1)
        return train_labels[np.argmax(images.reshape(len(images), -1) @ train_rows.T, axis=1)]

    with pytest.raises(AssertionError, match=r"00.nearest_neighbour_labels: .*expected .*"
                                             r"Hint: flatten every image"):
        check_exercise("00.nearest_neighbour_labels", largest_dot_product)


def test_nearest_index_instead_of_label_is_rejected():
    def returns_indices(train_images, train_labels, images):
        return np.arange(len(images))

    with pytest.raises(AssertionError, match=r"queries that are copies of training images "
                                             r"3, 7, 7 and 0: expected"):
        check_exercise("00.nearest_neighbour_labels", returns_indices)
