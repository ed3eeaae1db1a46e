"""The table-driven case checker the exercise modules share: ``check_cases``."""

import numpy as np
import pytest

from aigc_tf.exercises import ExerciseFailure, check_cases

CASES = [("one value", np.array([2.0])), ("a row of three", np.array([-1.0, 0.5, 3.0])),
         ("a 2 x 2 matrix", np.array([[1.0, -2.0], [0.0, 4.0]]))]


def test_a_right_answer_passes_every_case():
    assert check_cases(lambda x: x * x, CASES, np.square) == len(CASES)


def test_a_wrong_answer_fails_naming_its_first_wrong_case():
    def right_for_one_value_only(x):
        return np.abs(x) * 2.0

    message = r"^a row of three: expected \[1.0, 0.25, 9.0\], got \[2.0, 1.0, 6.0\]$"
    with pytest.raises(ExerciseFailure, match=message):
        check_cases(right_for_one_value_only, CASES, np.square)


def test_none_fails_with_a_clear_message():
    def forgot_to_return(x):
        x * x

    with pytest.raises(ExerciseFailure, match=r"^one value: the function returned None$"):
        check_cases(forgot_to_return, CASES, np.square)


def test_tolerances_are_passed_on():
    cases = [("near 1", np.array([1.0]))]
    assert check_cases(lambda x: x + 1e-3, cases, lambda x: x, rtol=0, atol=1e-2) == 1
    with pytest.raises(ExerciseFailure, match="near 1"):
        check_cases(lambda x: x + 1e-3, cases, lambda x: x, rtol=0, atol=1e-4)


def test_an_answer_that_changes_its_inputs_corrupts_neither_reference_nor_next_case():
    shared = np.array([1.0, 2.0])
    table = {"scale": [3.0]}
    cases = [("first use of the array", shared, table), ("second use of the array", shared, table)]

    def square_in_place(x, settings):
        x *= x
        settings["scale"].append(0.0)
        return x * settings["scale"][0]

    def reference(x, settings):
        assert len(settings["scale"]) == 1, "the reference saw the student's change"
        return 3.0 * x * x

    assert check_cases(square_in_place, cases, reference) == 2
    np.testing.assert_array_equal(shared, [1.0, 2.0])
    assert table == {"scale": [3.0]}


def test_plain_python_arguments_are_passed_as_they_are():
    cases = [("the word 'abc'", "abc", 2), ("an empty word", "", 5)]
    assert check_cases(lambda word, k: len(word) * k, cases, lambda word, k: k * len(word)) == 2
