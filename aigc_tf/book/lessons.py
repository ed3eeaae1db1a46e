"""The course notebooks for pip users: where the installed package keeps them, and copying them.

A wheel ships the lessons as data files (``share/aigc_tf/notebooks`` under the install prefix,
declared in ``pyproject.toml``), so the top-level ``notebooks/`` folder of the repository stays
where it is. In a source checkout the lessons are read from that folder directly.
"""

import os
import re
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "aigc_tf"
SHIPPED_FOLDER = ("share", "aigc_tf", "notebooks")
_LESSON_NAME = re.compile(r"^\d\d_\w+\.ipynb$")


def is_lesson(path):
    """True for a course notebook's file name, ``NN_topic.ipynb``.

    Example:
        >>> [is_lesson(Path(name)) for name in ("04_dcgan_mnist.ipynb", "conftest.py")]
        [True, False]
    """
    return bool(_LESSON_NAME.match(Path(path).name))


def _checkout_notebooks():
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        return []
    return sorted(path for path in (root / "notebooks").glob("*.ipynb") if is_lesson(path))


def _installed_notebooks():
    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        return []
    found = [file for file in files
             if file.parts[-4:-1] == SHIPPED_FOLDER and is_lesson(file.name)]
    return sorted((Path(file.locate()).resolve() for file in found), key=lambda p: p.name)


def course_notebooks():
    """The lesson notebooks in course order: the checkout's ``notebooks/``, else the installed copy.

    Returns:
        A list of paths sorted by lesson number.

    Raises:
        FileNotFoundError: when neither a checkout nor an installed wheel holds any lesson.

    Example:
        >>> course_notebooks()[0].name
        '00_start_here.ipynb'
    """
    found = _checkout_notebooks() or _installed_notebooks()
    if not found:
        raise FileNotFoundError(
            "no course notebooks found: expected notebooks/NN_*.ipynb in a source checkout or "
            f"{'/'.join(SHIPPED_FOLDER)} in the installed {DISTRIBUTION} package")
    return found


def copy_file_atomically(source, target):
    """Copy ``source`` to ``target`` under a temporary name first, then rename it."""
    target = Path(target)
    handle, partial = tempfile.mkstemp(prefix=".partial-", suffix=target.suffix,
                                       dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def copy_lessons(out_dir, notebooks=None, overwrite=False):
    """Copy the lesson notebooks into ``out_dir``; a learner's existing copy is kept.

    Args:
        out_dir: destination folder (created if missing).
        notebooks: notebook paths; by default :func:`course_notebooks`.
        overwrite: replace notebooks that already exist in ``out_dir``.

    Returns:
        ``(copied, kept)``: lists of destination paths written and left untouched.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     copied, kept = copy_lessons(folder, course_notebooks()[:1])
        ...     again = copy_lessons(folder, course_notebooks()[:1])
        >>> [path.name for path in copied], [path.name for path in again[1]]
        (['00_start_here.ipynb'], ['00_start_here.ipynb'])
    """
    out_dir = Path(out_dir)
    sources = _checked_sources(notebooks)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"expected a folder for the notebooks, got the file {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for source in sources:
        target = out_dir / source.name
        if target.exists() and not overwrite:
            kept.append(target)
            continue
        copy_file_atomically(source, target)
        copied.append(target)
    return copied, kept


def copy_student_versions(out_dir, notebooks=None, overwrite=False):
    """Write the student version of each lesson (solutions stubbed out) into ``out_dir``.

    The versions come from :func:`aigc_tf.grading.write_student_versions`. A student notebook
    that already exists in ``out_dir`` holds the learner's answers: it is kept unless
    ``overwrite`` is true.

    Returns:
        ``(written, kept)``: lists of destination paths.
    """
    from aigc_tf import grading

    out_dir = Path(out_dir)
    sources = _checked_sources(notebooks)
    kept = [out_dir / source.name for source in sources
            if (out_dir / source.name).exists() and not overwrite]
    todo = [source for source in sources if out_dir / source.name not in kept]
    written = [path for path, _ in grading.write_student_versions(out_dir, todo)] if todo else []
    return written, kept


def _checked_sources(notebooks):
    sources = [Path(path) for path in (course_notebooks() if notebooks is None else notebooks)]
    for source in sources:
        if not source.is_file():
            raise ValueError(f"expected a notebook file, got {str(source)!r}")
    return sources
