"""Notebook 07's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def conditional_input(features, labels, num_classes):
    one_hot = np.eye(num_classes, dtype="float32")[labels]
    return np.concatenate([features.astype("float32"), one_hot], axis=1)


def style_transfer_inputs(z, num_classes):
    z_rows = np.repeat(z, num_classes, axis=0)
    labels = np.tile(np.arange(num_classes), len(z))
    return z_rows, labels


@pytest.mark.parametrize("exercise_id, answer", [
    ("07.conditional_input", conditional_input),
    ("07.style_transfer_inputs", style_transfer_inputs),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_label_first_names_the_case_and_hints():
    def label_first(features, labels, num_classes):
        return np.concatenate([np.eye(num_classes)[labels], features], axis=1)

    with pytest.raises(AssertionError, match=r"07.conditional_input: one 2-D code with label 3 "
                                             r"of 10: expected .*Hint: one-hot encode"):
        check_exercise("07.conditional_input", label_first)


def test_tiled_codes_are_rejected_at_the_first_case_with_two_styles():
    def tiled(z, num_classes):
        return np.tile(z, (num_classes, 1)), np.repeat(np.arange(num_classes), len(z))

    with pytest.raises(AssertionError, match=r"07.style_transfer_inputs: three 2-D styles, "
                                             r"10 classes: z_rows: expected .*Hint: row i"):
        check_exercise("07.style_transfer_inputs", tiled)


def test_a_single_array_is_rejected():
    with pytest.raises(AssertionError, match=r"expected a pair \(z_rows, labels\)"):
        check_exercise("07.style_transfer_inputs", lambda z, n: np.repeat(z, n, axis=0))
