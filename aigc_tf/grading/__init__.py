"""Teacher tools for the checked exercises: student versions and a grade sheet.

``aigc-tf exercises student OUT_DIR [NOTEBOOKS...]`` writes each notebook (by default every
course notebook) with its solution regions replaced by nbgrader's stub and its outputs
cleared; the checks stay. ``aigc-tf exercises grade SUBMISSIONS_DIR --out grades.csv`` runs
every submitted notebook in a fresh kernel (fast mode, offline, a wall-clock limit each,
``--jobs`` at a time) and writes one row per submission: student, notebook, one 0/1 column
per checked exercise, total and reason.

Examples:
    aigc-tf exercises student handout/
    aigc-tf exercises grade submitted/ --out grades.csv --jobs 4 --timeout 600

The functions behind them live in :mod:`aigc_tf.grading.student` and
:mod:`aigc_tf.grading.grade` (also reachable as ``aigc_tf.grading.NAME``); they need the Jupyter
tools (``nbformat``, ``nbclient``, ``ipykernel``), which ``pip install "aigc_tf[grading]"``
brings along with nbgrader. They are imported on first use, so ``aigc-tf`` starts without them.
"""

import argparse
import importlib
import importlib.util
import os
import sys
from functools import partial

DEFAULT_TIMEOUT = 600
_JUPYTER_TOOLS = ("nbformat", "nbclient", "ipykernel")
# Public functions, imported from their module on first use (PEP 562).
_EXPORTS = {
    "student": ("checked_exercise_ids", "course_notebooks", "notebook_namespace",
                "reference_solutions", "strip_solutions", "student_version",
                "write_student_versions"),
    "grade": ("Submission", "find_submissions", "grade_all", "grade_submission",
              "write_grades"),
}
__all__ = ["DEFAULT_TIMEOUT", "add_commands", "main",
           *(name for names in _EXPORTS.values() for name in names)]


def __getattr__(name):
    for module, names in _EXPORTS.items():
        if name in names:
            return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _run(command, args):
    """Run a command; report missing tools or bad input in one line (exit status 2)."""
    missing = [name for name in _JUPYTER_TOOLS if importlib.util.find_spec(name) is None]
    if missing:
        print(f"aigc-tf exercises needs {', '.join(missing)}: "
              'pip install "aigc_tf[grading]"', file=sys.stderr)
        return 2
    try:
        return command(args)
    except ValueError as error:
        print(f"aigc-tf exercises: {error}", file=sys.stderr)
        return 2


def _student(args):
    from aigc_tf.grading.student import write_student_versions

    for path, regions in write_student_versions(args.out_dir, args.notebooks or None):
        print(f"{path}: {regions} solution region(s) replaced by stubs")
    return 0


def _grade(args):
    from aigc_tf.grading.grade import find_submissions, grade_all, write_grades

    submissions = find_submissions(args.submissions_dir)
    print(f"grading {len(submissions)} submission(s), {args.jobs} at a time, "
          f"{args.timeout:g} s each at most")
    graded = grade_all(submissions, timeout=args.timeout, jobs=args.jobs)
    columns = write_grades(graded, args.out)
    print(f"{args.out}: {len(graded)} row(s), {len(columns)} exercise column(s)")
    return 0


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
        return value
    return parse


def add_commands(subparsers):
    """Register ``exercises student`` and ``exercises grade`` on a command-line parser.

    Args:
        subparsers: the object returned by ``parser.add_subparsers()``; each command sets
            ``handler``, a function of the parsed arguments returning the exit status.
    """
    exercises = subparsers.add_parser(
        "exercises", help="student versions of the notebooks and grading of submissions")
    actions = exercises.add_subparsers(dest="exercises_command", required=True)
    student = actions.add_parser(
        "student", help="write notebooks with solutions stripped and outputs cleared")
    student.add_argument("out_dir", help="folder for the student versions")
    student.add_argument("notebooks", nargs="*", help="notebooks (default: the course's)")
    student.set_defaults(handler=partial(_run, _student))
    grade = actions.add_parser("grade", help="run submitted notebooks and write a grade sheet")
    grade.add_argument("submissions_dir", help="folder of NAME.ipynb or NAME/*.ipynb files")
    grade.add_argument("--out", default="grades.csv", help="CSV file (default: grades.csv)")
    grade.add_argument("--jobs", type=_positive(int), default=os.cpu_count() or 1,
                       help="notebooks graded at once, one kernel (about 1 GB) each "
                            "(default: the number of CPU cores)")
    grade.add_argument("--timeout", type=_positive(float), default=DEFAULT_TIMEOUT,
                       help=f"wall-clock seconds per notebook (default: {DEFAULT_TIMEOUT})")
    grade.set_defaults(handler=partial(_run, _grade))


def main(argv=None):
    """Run ``exercises ...`` on its own (``aigc-tf`` adds the same commands to its parser).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="aigc-tf", description=__doc__.splitlines()[0])
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)
