"""The package as a pip user gets it: build the wheel from a copy of the sources, install it
(not editable) into a fresh virtual environment, copy the lessons with ``notebooks DIR`` and run
notebook 00 from that folder in fast mode.

Everything stays offline: the wheel is built without build isolation (the dev extra brings
``setuptools>=77``) and installed with ``--no-index --no-deps`` into a venv that sees this
environment's packages, so only ``aigc_tf`` itself is new there.
``HOME`` points to a temporary folder, so the installed package's data folder (``~/.aigc_tf``)
is fresh too.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from aigc_tf.book import course_notebooks, main

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_start_here.ipynb"
EXERCISE_LESSON = "04_dcgan_mnist.ipynb"
COPY_LESSONS = """
import sys
from aigc_tf.book import main
from aigc_tf.book.website import readme_text
assert readme_text().startswith("# aigc_tf"), "no README in the installed metadata"
sys.exit(main(["notebooks", sys.argv[1]]))
"""
RUN_NOTEBOOK = """
import sys, nbclient, nbformat
path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(notebook, path)
"""


def _setuptools_major():
    return int(metadata.version("setuptools").split(".")[0])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    if _setuptools_major() < 77:
        pytest.skip("building the wheel offline needs setuptools>=77 (pip install -e '.[dev]')")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "aigc_tf", source / "aigc_tf",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (source / "notebooks").mkdir()
    for path in course_notebooks():
        shutil.copy(path, source / "notebooks" / path.name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                    "--no-build-isolation", "--no-index", "--quiet", "-w", str(out)],
                   check=True, capture_output=True, text=True)
    (built,) = out.glob("aigc_tf-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh venv holding only the wheel; it sees this environment's packages through a
    ``.pth`` file (placed after its own site-packages, so the wheel's ``aigc_tf`` wins)."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip()
    ours = [path for path in sys.path if Path(path).name in ("site-packages", "dist-packages")]
    (Path(site_packages) / "parent_environment.pth").write_text("\n".join(ours) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                   check=True, capture_output=True, text=True)
    return python


@pytest.fixture(scope="module")
def user_env(tmp_path_factory):
    """A learner's environment: fast and offline (as in the tests), a fresh home folder."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "AIGC_TF_DATA_DIR")}
    env["HOME"] = str(tmp_path_factory.mktemp("home"))
    return env


def test_wheel_ships_the_lessons_and_the_judge(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(Path(name).name for name in names
                     if "/share/aigc_tf/notebooks/" in name)
    assert shipped == [path.name for path in course_notebooks()]
    assert "aigc_tf/models/mnist_judge.weights.h5" in names
    assert not [name for name in names if name.endswith("conftest.py")]


def test_installed_package_copies_and_runs_a_lesson(venv, user_env, tmp_path):
    def run(*args):
        return subprocess.run([str(venv), *args], cwd=tmp_path, env=user_env, check=True,
                              capture_output=True, text=True).stdout

    lessons = tmp_path / "my_course"
    run("-c", COPY_LESSONS, str(lessons))
    assert sorted(path.name for path in lessons.glob("*.ipynb")) == [
        path.name for path in course_notebooks()]

    run("-c", RUN_NOTEBOOK, str(lessons / LESSON), str(lessons))
    notebook = json.loads((lessons / LESSON).read_text(encoding="utf-8"))
    printed = "".join("".join(output.get("text", ""))
                      for cell in notebook["cells"] for output in cell.get("outputs", []))
    assert "fast mode: True" in printed
    # The installed package's data folder, not this checkout's data/: the wheel ran.
    assert str(Path(user_env["HOME"]) / ".aigc_tf") in printed
    assert "predicted:" in printed  # the judge's weights came with the wheel


def test_notebooks_command_keeps_a_learners_copy(tmp_path, capsys):
    assert main(["notebooks", str(tmp_path)]) == 0
    lesson = tmp_path / LESSON
    lesson.write_text("my answers")
    assert main(["notebooks", str(tmp_path)]) == 0
    assert lesson.read_text() == "my answers"
    assert f"kept your existing copies (use --force to replace them): {LESSON}" in (
        capsys.readouterr().out)
    assert main(["notebooks", str(tmp_path), "--force"]) == 0
    assert lesson.read_bytes() == course_notebooks()[0].read_bytes()


def test_notebooks_command_writes_student_versions_beside_the_lessons(tmp_path):
    assert main(["notebooks", str(tmp_path), "--student"]) == 0
    lesson = (tmp_path / EXERCISE_LESSON).read_text(encoding="utf-8")
    student = (tmp_path / "student" / EXERCISE_LESSON).read_text(encoding="utf-8")
    assert "### BEGIN SOLUTION" in lesson
    assert "### BEGIN SOLUTION" not in student and "raise NotImplementedError()" in student
    assert len(list((tmp_path / "student").glob("*.ipynb"))) == len(course_notebooks())


def test_notebooks_command_rejects_a_file_in_one_line(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("not a folder")
    assert main(["notebooks", str(target)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
