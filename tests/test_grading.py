"""Teacher tools: student versions of the notebooks and grading a class of submissions."""

import csv
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from aigc_tf.exercises import GRADE_LOG_ENV
from aigc_tf.grading import main
from aigc_tf.grading.grade import Submission, find_submissions, grade_submission, write_grades
from aigc_tf.grading.student import (
    course_notebooks,
    notebook_namespace,
    reference_solutions,
    strip_solutions,
    student_version,
    write_student_versions,
)

SOLVED = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"


def test_strip_solutions_leaves_nbgraders_stub_at_the_regions_indent():
    code = "y = 1\n" + SOLVED + "\ncheck_exercise('00.double', double)"
    stripped, regions = strip_solutions(code)
    assert regions == 1
    assert stripped == ("y = 1\ndef double(x):\n    # YOUR CODE HERE\n"
                        "    raise NotImplementedError()\ncheck_exercise('00.double', double)")


@pytest.mark.parametrize("code, problem", [
    ("### BEGIN SOLUTION\nx = 1", "without a matching"),
    ("x = 1\n### END SOLUTION", "without a 'BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
])
def test_strip_solutions_rejects_broken_markers(code, problem):
    with pytest.raises(ValueError, match=problem):
        strip_solutions(code)


def test_student_version_strips_code_and_text_clears_outputs_and_keeps_the_original():
    code = new_code_cell(SOLVED + "\ncheck_exercise('00.double', double)", execution_count=3,
                         outputs=[new_output("stream", name="stdout", text="passed")])
    text = new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    marked = new_code_cell("answer = 42", metadata={"nbgrader": {"solution": True}})
    notebook = new_notebook(cells=[code, text, marked])
    student = student_version(notebook)
    assert "return 2 * x" not in student.cells[0].source
    assert "check_exercise('00.double', double)" in student.cells[0].source
    assert (student.cells[0].outputs, student.cells[0].execution_count) == ([], None)
    assert student.cells[1].source == "Why?\nYOUR ANSWER HERE"
    assert student.cells[2].source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert "return 2 * x" in notebook.cells[0].source and notebook.cells[0].outputs


def test_student_version_names_the_broken_cell(tmp_path):
    source = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1"),
                                       new_code_cell("### BEGIN SOLUTION")]), source)
    with pytest.raises(ValueError, match=r"broken.ipynb: cell 1: .*without a matching"):
        write_student_versions(tmp_path / "out", [source])


def test_student_versions_never_overwrite_their_sources(tmp_path):
    source = tmp_path / "lesson.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(SOLVED)]), source)
    with pytest.raises(ValueError, match="would overwrite the solutions"):
        write_student_versions(tmp_path, [source])
    assert "return 2 * x" in source.read_text()


def test_student_command_writes_every_course_notebook(tmp_path, capsys):
    assert main(["exercises", "student", str(tmp_path)]) == 0, capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.glob("*.ipynb")) == [
        path.name for path in course_notebooks()]


@pytest.fixture(params=course_notebooks(), ids=lambda path: path.name[:2])
def lesson(request):
    """A course notebook as the teacher has it, and its student version."""
    solved = nbformat.read(request.param, as_version=4)
    return solved, student_version(solved)


def test_no_student_version_contains_solution_text_or_output(lesson):
    solved, student = lesson
    text = "\n".join(cell.source for cell in student.cells)
    assert "SOLUTION" not in text
    leaked = []
    for _, code in reference_solutions(solved):
        for region in code.split("### BEGIN SOLUTION")[1:]:
            lines = region.split("### END SOLUTION")[0].splitlines()
            leaked += [line.strip() for line in lines if len(line.strip()) >= 20
                       and line.strip() in text]  # shorter lines are too generic to give away
    assert not leaked, f"the student version still shows the solution: {leaked}"
    assert not any(cell.get("outputs") for cell in student.cells)
    assert len(student.cells) == len(solved.cells)


def test_student_exercises_run_and_report_not_attempted(lesson, tmp_path, monkeypatch):
    solved, student = lesson
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv(GRADE_LOG_ENV, str(log))
    solved_units = reference_solutions(solved)
    for _, code in solved_units:
        namespace = notebook_namespace(student)
        exec(compile(strip_solutions(code)[0], "<student cell>", "exec"), namespace)
    records = [json.loads(line) for line in log.read_text().splitlines()] if solved_units else []
    assert [record["outcome"] for record in records] == ["not attempted"] * len(records)
    assert [record["exercise"] for record in records] == [
        exercise_id for ids, _ in solved_units for exercise_id in ids]


def test_student_versions_match_nbgraders_own(lesson):
    pytest.importorskip("nbgrader")
    from nbconvert.preprocessors import ClearOutputPreprocessor
    from nbgrader.preprocessors import ClearSolutions

    solved, student = lesson
    resources = {}
    for step in (ClearSolutions(enforce_metadata=False), ClearOutputPreprocessor()):
        solved, resources = step.preprocess(solved, resources)
    assert [cell.source for cell in student.cells] == [cell.source for cell in solved.cells]


def test_find_submissions_names_students_by_file_or_folder(tmp_path):
    for relative in ("zoe.ipynb", "adam/13_evaluating_generators.ipynb",
                     ".ipynb_checkpoints/zoe-checkpoint.ipynb", "notes.txt"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}")
    found = find_submissions(tmp_path)
    assert [(s.student, s.path.name) for s in found] == [
        ("adam", "13_evaluating_generators.ipynb"), ("zoe", "zoe.ipynb")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .ipynb files"):
        find_submissions(tmp_path / "empty")
    with pytest.raises(ValueError, match="expected a folder"):
        find_submissions(tmp_path / "zoe.ipynb")


def test_unreadable_notebook_scores_zero_with_a_reason(tmp_path):
    path = tmp_path / "mallory.ipynb"
    path.write_text("this is not json")
    graded = grade_submission(Submission("mallory", path), timeout=5)
    assert graded.failure.startswith("not a readable notebook")


def test_outcomes_keep_each_exercises_last_check_and_skip_stray_lines(tmp_path):
    from aigc_tf.grading.grade import _read_outcomes

    log = tmp_path / "checks.jsonl"
    log.write_text('{"exercise": "06.bits_per_dim", "outcome": "failed", "message": ""}\n'
                   "printed by a student\n[1, 2]\n"
                   '{"exercise": "06.bits_per_dim", "outcome": "passed", "message": ""}\n')
    assert _read_outcomes(log) == {"06.bits_per_dim": "passed"}
    assert _read_outcomes(tmp_path / "never_written.jsonl") == {}


def test_grade_sheet_scores_the_last_check_and_explains_lost_points(tmp_path):
    ran = Submission("ann", tmp_path / "a.ipynb", ["06.bits_per_dim", "13.frechet_gaussians"],
                     {"06.bits_per_dim": "passed", "13.frechet_gaussians": "not attempted"})
    partial = Submission("bob", tmp_path / "b.ipynb", ["06.bits_per_dim"],
                         {"06.bits_per_dim": "passed"})
    crashed = Submission("cy", tmp_path / "c.ipynb", ["06.bits_per_dim"],
                         {"06.bits_per_dim": "passed"}, failure="crashed: the kernel died")
    write_grades([ran, partial, crashed], tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows == [
        ["student", "notebook", "06.bits_per_dim", "13.frechet_gaussians", "total", "reason"],
        ["ann", "a.ipynb", "1", "0", "1", "13.frechet_gaussians: not attempted"],
        ["bob", "b.ipynb", "1", "0", "1", "13.frechet_gaussians: not in the notebook"],
        ["cy", "c.ipynb", "0", "0", "0", "crashed: the kernel died"],
    ]


IMPORTS = "import math\n\nimport numpy as np\n\nfrom aigc_tf.exercises import check_exercise"
BITS = """def bits_per_dim(nll_nats, num_dims):
    ### BEGIN SOLUTION
    return {bits}
    ### END SOLUTION


check_exercise("06.bits_per_dim", bits_per_dim)"""
FRECHET = """def frechet_gaussians(mean_a, cov_a, mean_b, cov_b):
    ### BEGIN SOLUTION
    return {frechet}
    ### END SOLUTION


check_exercise("13.frechet_gaussians", frechet_gaussians)"""
RIGHT = {"bits": "nll_nats / (num_dims * math.log(2))",
         "frechet": "float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)"
                    " - 2 * np.sqrt(np.clip(np.linalg.eigvals(cov_a @ cov_b).real, 0, None))"
                    ".sum())"}
WRONG = {"bits": "nll_nats / num_dims", "frechet": "float(np.sum((mean_a - mean_b) ** 2))"}


def synthetic_submission(path, first_cell, answers, last_cell=""):
    cells = [first_cell, BITS.format(**answers), FRECHET.format(**answers), last_cell]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(code) for code in cells if code]), path)


def test_a_class_of_four_grades_to_the_expected_sheet(tmp_path):
    """All correct, all wrong, one crashing, one never ending: one row each, zeros and reasons
    for the last two, and the wrong answers' errors do not stop the cells after them."""
    submitted = tmp_path / "submitted"
    synthetic_submission(submitted / "ada.ipynb", IMPORTS, RIGHT,
                         last_cell="print('ran to the end')")
    synthetic_submission(submitted / "ben" / "lesson.ipynb", IMPORTS, WRONG)
    synthetic_submission(submitted / "cat.ipynb", "import os\nos._exit(1)", RIGHT)
    synthetic_submission(submitted / "dan.ipynb", "import time\nwhile True:\n    time.sleep(0.2)",
                         RIGHT)
    out = tmp_path / "grades.csv"
    assert main(["exercises", "grade", str(submitted), "--out", str(out),
                 "--jobs", "4", "--timeout", "45"]) == 0
    with open(out, newline="") as file:
        rows = list(csv.reader(file))
    assert rows == [
        ["student", "notebook", "06.bits_per_dim", "13.frechet_gaussians", "total", "reason"],
        ["ada", "ada.ipynb", "1", "1", "2", ""],
        ["ben", "lesson.ipynb", "0", "0", "0", "06.bits_per_dim: failed; "
                                               "13.frechet_gaussians: failed"],
        ["cat", "cat.ipynb", "0", "0", "0",
         "crashed: the kernel died (exit, segmentation fault or out of memory)"],
        ["dan", "dan.ipynb", "0", "0", "0", "timed out: still running after the 45 s limit"],
    ]
