import numpy as np
import pytest

from aigc_tf.exercises import check, check_exercise, exercise_ids


def test_check_accepts_right_answer(capsys):
    assert check("mean", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9]) is True
    assert "correct" in capsys.readouterr().out


def test_check_reports_unattempted(capsys):
    assert check("mean", None, 3.0) is False
    assert "not attempted" in capsys.readouterr().out


def test_check_rejects_wrong_value_and_shape():
    with pytest.raises(AssertionError, match=r"off by up to 0.5\). Use the mean"):
        check("mean", 2.5, 3.0, hint="Use the mean.")
    with pytest.raises(AssertionError, match=r"expected shape \(2,\)"):
        check("vector", [1.0, 2.0, 3.0], [1.0, 2.0])


def frechet_without_cross_term(mean_a, cov_a, mean_b, cov_b):
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b))


def stub(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("exercise_id", exercise_ids())
def test_every_exercise_counts_a_stub_as_not_attempted(exercise_id, capsys):
    assert check_exercise(exercise_id, stub) is False
    assert "not attempted" in capsys.readouterr().out


def test_every_notebook_with_checks_has_at_least_two():
    per_notebook = {}
    for exercise_id in exercise_ids():
        notebook = exercise_id.split(".")[0]
        per_notebook[notebook] = per_notebook.get(notebook, 0) + 1
    assert min(per_notebook.values()) >= 2, per_notebook


def test_check_exercise_passes_the_reference_answers(capsys):
    from aigc_tf.metrics.images import gaussian_frechet_distance, precision_recall

    assert check_exercise("13.frechet_gaussians", gaussian_frechet_distance) is True
    assert check_exercise(
        "13.knn_precision", lambda real, fake, k: precision_recall(real, fake, k)["precision"]
    ) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_check_exercise_names_the_failing_case_and_hints():
    first_case = r"two 1-D Gaussians N\(0, 1\) and N\(2, 4\): expected 5.0, got 9.0"
    with pytest.raises(AssertionError, match=first_case + ".*Hint: FD ="):
        check_exercise("13.frechet_gaussians", frechet_without_cross_term)
    with pytest.raises(AssertionError, match=r"fakes equal to the reals \(k=3\)"):
        check_exercise("13.knn_precision", lambda real, fake, k: 0.5)


def test_check_exercise_rejects_non_numbers_and_unknown_ids():
    with pytest.raises(AssertionError, match="not a number or an array"):
        check_exercise("13.frechet_gaussians", lambda *args: "a string")
    with pytest.raises(ValueError, match="unknown exercise 'nope'"):
        check_exercise("nope", stub)
