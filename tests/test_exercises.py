import json
import re

import nbformat
import numpy as np
import pytest

from aigc_tf import exercises
from aigc_tf.exercises import GRADE_LOG_ENV, check_exercise, exercise_ids
from aigc_tf.grading.student import (
    checked_exercise_ids,
    course_notebooks,
    notebook_namespace,
    reference_solutions,
)


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


def test_check_exercise_logs_each_outcome_for_grading(tmp_path, monkeypatch, capsys):
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv(GRADE_LOG_ENV, str(log))
    from aigc_tf.metrics.images import gaussian_frechet_distance

    check_exercise("13.frechet_gaussians", stub)
    with pytest.raises(AssertionError):
        check_exercise("13.frechet_gaussians", frechet_without_cross_term)
    with pytest.raises(ZeroDivisionError):
        check_exercise("13.frechet_gaussians", lambda *args: 1 / 0)
    check_exercise("13.frechet_gaussians", gaussian_frechet_distance)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [record["outcome"] for record in records] == [
        "not attempted", "failed", "failed", "passed"]
    assert "Hint: FD =" in records[1]["message"]
    assert "ZeroDivisionError" in records[2]["message"]
    assert {record["exercise"] for record in records} == {"13.frechet_gaussians"}


# Every notebook's checked exercises, run with the reference solution from its solution region.
UNITS = [(path, ids, code) for path in course_notebooks()
         for ids, code in reference_solutions(nbformat.read(path, as_version=4))]
UNIT_IDS = [f"{path.name[:2]}:{'+'.join(ids)}" for path, ids, _ in UNITS]


def run_in_notebook(code, path):
    """Execute an exercise's cell(s) with the imports and functions of the notebook at ``path``."""
    namespace = notebook_namespace(nbformat.read(path, as_version=4))
    exec(compile(code, "<exercise cell>", "exec"), namespace)


def run_unit(code, path, log_path, monkeypatch):
    """Execute an exercise's cell(s) and return the outcomes that the checks logged."""
    monkeypatch.setenv(GRADE_LOG_ENV, str(log_path))
    run_in_notebook(code, path)
    if not log_path.is_file():
        return {}
    return {record["exercise"]: record["outcome"]
            for record in map(json.loads, log_path.read_text().splitlines())}


def answers_checked_by(code, path, monkeypatch):
    """The (exercise id, answer) pairs that the cell(s) hand to ``check_exercise``."""
    calls = []
    monkeypatch.setattr(exercises, "check_exercise",
                        lambda exercise_id, answer: calls.append((exercise_id, answer)))
    run_in_notebook(code, path)
    return calls


def first_value_off_by_one(value):
    """A systematically wrong answer: the (first) returned value moved by one, negated or
    misspelt."""
    if isinstance(value, (tuple, list)):
        return type(value)([first_value_off_by_one(value[0]), *value[1:]])
    if isinstance(value, str):
        return value + "_"
    array = np.asarray(value)
    return ~array if array.dtype == bool else array + 1


def solution_lines(code):
    """Lines of a solution region long enough that seeing one would give the answer away."""
    lines, inside = [], False
    for line in code.splitlines():
        inside = (inside or "BEGIN SOLUTION" in line) and "END SOLUTION" not in line
        if inside and "SOLUTION" not in line and len(line.strip()) >= 20:
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("path, ids, code", UNITS, ids=UNIT_IDS)
def test_reference_solution_in_the_notebook_passes(path, ids, code, tmp_path, monkeypatch,
                                                   capsys):
    outcomes = run_unit(code, path, tmp_path / "checks.jsonl", monkeypatch)
    assert outcomes == {exercise_id: "passed" for exercise_id in ids}, capsys.readouterr().out


@pytest.mark.parametrize("path, ids, code", UNITS, ids=UNIT_IDS)
def test_wrong_answer_is_rejected_with_a_hint_and_no_solution(path, ids, code, monkeypatch):
    calls = answers_checked_by(code, path, monkeypatch)
    monkeypatch.undo()
    assert [exercise_id for exercise_id, _ in calls] == ids
    for exercise_id, answer in calls:
        def wrong(*args, answer=answer, **kwargs):
            return first_value_off_by_one(answer(*args, **kwargs))

        with pytest.raises(AssertionError, match=rf"^{re.escape(exercise_id)}: .+Hint: ") as error:
            check_exercise(exercise_id, wrong)
        leaked = [line for line in solution_lines(code) if line in str(error.value)]
        assert not leaked, f"the hint shows the solution: {leaked}"


def test_every_check_in_a_notebook_has_a_reference_solution():
    for path in course_notebooks():
        notebook = nbformat.read(path, as_version=4)
        code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        with_solution = {exercise_id for ids, _ in reference_solutions(notebook)
                         for exercise_id in ids}
        assert set(checked_exercise_ids(code)) == with_solution, path.name


def test_every_registered_exercise_is_checked_in_a_notebook():
    checked = {exercise_id for _, ids, _ in UNITS for exercise_id in ids}
    assert set(exercise_ids()) <= checked, sorted(set(exercise_ids()) - checked)
