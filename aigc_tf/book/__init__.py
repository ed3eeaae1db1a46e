"""The course as a book and as notebooks for pip users: ``aigc-tf book`` and ``aigc-tf notebooks``.

Examples:
    aigc-tf book site/                 # static website from README + the notebooks' outputs
    aigc-tf notebooks my_course/       # copy the lessons for Jupyter
    aigc-tf notebooks my_course/ --student   # ... and the assignments' student versions

``aigc_tf.cli`` registers these commands with :func:`add_commands`; ``python -m aigc_tf.book``
runs them on their own.
"""

import argparse
import importlib.util
import sys
from pathlib import Path

from aigc_tf.book.lessons import copy_lessons, copy_student_versions, course_notebooks
from aigc_tf.book.website import PARTS, BookResult, MissingBookTools, build_book

__all__ = ["PARTS", "BookResult", "MissingBookTools", "add_commands", "build_book",
           "copy_lessons", "copy_student_versions", "course_notebooks", "main"]

STUDENT_FOLDER = "student"
USAGE_ERROR = 2  # as aigc_tf.cli: bad input or missing tools, reported in one line


def book_command(args):
    """Build the website. Exit status 2 on missing tools or bad input (one line on standard
    error), 1 with --strict when Sphinx warned, else 0."""
    try:
        result = build_book(args.out_dir, verbose=args.verbose)
    except (MissingBookTools, ValueError, FileNotFoundError) as error:
        print(f"aigc-tf book: {error}", file=sys.stderr)
        return USAGE_ERROR
    for line in result.warnings:
        print(line, file=sys.stderr)
    print(f"{result.index} ({len(result.lessons)} lessons, {len(result.warnings)} warnings, "
          f"built in {result.seconds:.0f} s)")
    return 1 if args.strict and result.warnings else 0


def notebooks_command(args):
    """Copy the lessons (and with --student their student versions) into a folder."""
    out_dir = Path(args.dir)
    if args.student and importlib.util.find_spec("nbformat") is None:
        print('aigc-tf notebooks --student needs nbformat: pip install "aigc_tf[grading]"',
              file=sys.stderr)
        return USAGE_ERROR
    try:
        copied, kept = copy_lessons(out_dir, overwrite=args.force)
        _report(f"lessons in {out_dir}", copied, kept)
        if args.student:
            written, kept = copy_student_versions(out_dir / STUDENT_FOLDER, overwrite=args.force)
            _report(f"student versions in {out_dir / STUDENT_FOLDER}", written, kept)
    except (ValueError, FileNotFoundError) as error:
        print(f"aigc-tf notebooks: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(f"open them with: jupyter lab {out_dir}")
    return 0


def _report(what, written, kept):
    print(f"{what}: {len(written)} written")
    if kept:
        names = ", ".join(path.name for path in kept)
        print(f"  kept your existing copies (use --force to replace them): {names}")


def add_commands(subparsers):
    """Register ``book OUT_DIR`` and ``notebooks DIR [--student]`` on an argparse subparsers."""
    book = subparsers.add_parser(
        "book", help="build the course website from README and the notebooks (no execution)")
    book.add_argument("out_dir", metavar="OUT_DIR", help="output folder (index.html inside)")
    book.add_argument("--strict", action="store_true", help="exit with 1 on any Sphinx warning")
    book.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    book.set_defaults(handler=book_command)
    lessons = subparsers.add_parser(
        "notebooks", help="copy the course notebooks into a folder to open with Jupyter")
    lessons.add_argument("dir", metavar="DIR", help="destination folder")
    lessons.add_argument("--student", action="store_true",
                         help=f"also write the student versions into DIR/{STUDENT_FOLDER}")
    lessons.add_argument("--force", action="store_true",
                         help="replace notebooks that already exist in DIR")
    lessons.set_defaults(handler=notebooks_command)


def main(argv=None):
    """Run ``book`` or ``notebooks`` as ``python -m aigc_tf.book``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m aigc_tf.book",
                                     description=__doc__.splitlines()[0])
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)
