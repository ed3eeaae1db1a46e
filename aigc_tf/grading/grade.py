"""Grade a folder of submitted notebooks into one CSV row per submission.

Each submission runs top to bottom in a fresh Jupyter kernel (nbclient), in fast mode and
offline, with errors allowed so that one wrong exercise does not stop the cells after it.
Every ``check_exercise`` call appends its outcome to a log file named by
``AIGC_TF_GRADE_LOG``; an exercise scores 1 when its last check passed, 0 when it failed,
was not attempted or never ran. A submission that runs past its wall-clock limit, kills its
kernel or is not a readable notebook scores 0 everywhere, with the reason.

The checks run inside the student's kernel, so grades trust the submission not to forge the
log; read a suspicious notebook before publishing its grade.
"""

import csv
import json
import math
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from aigc_tf import config
from aigc_tf.exercises import GRADE_LOG_ENV
from aigc_tf.grading import DEFAULT_TIMEOUT
from aigc_tf.grading.student import checked_exercise_ids


@dataclass
class Submission:
    """One graded notebook: who sent it, which exercises it checks and how they went."""

    student: str
    path: Path
    exercise_ids: list = field(default_factory=list)
    outcomes: dict = field(default_factory=dict)  # exercise id -> "passed", "failed", ...
    failure: str = ""  # why the whole notebook scores zero ("" when it ran to the end)
    seconds: float = 0.0

    def score(self, exercise_id):
        """1 when the exercise's last check passed (and the notebook ran to the end), else 0."""
        return int(not self.failure and self.outcomes.get(exercise_id) == "passed")

    def reason(self, exercise_ids):
        """Why points were lost: the failure, or each exercise that did not pass."""
        if self.failure:
            return self.failure
        lost = [f"{exercise_id}: {self.outcomes.get(exercise_id, 'not run')}"
                for exercise_id in exercise_ids
                if exercise_id in self.exercise_ids and not self.score(exercise_id)]
        missing = [f"{exercise_id}: not in the notebook" for exercise_id in exercise_ids
                   if exercise_id not in self.exercise_ids]
        return "; ".join(lost + missing)


def find_submissions(folder):
    """Every ``.ipynb`` under ``folder``, each with its student's name.

    ``folder/alice.ipynb`` belongs to ``alice`` (the file's stem); in a sub-folder,
    ``folder/alice/13_evaluating_generators.ipynb`` (nbgrader's layout) the first folder
    name is the student. Hidden folders such as ``.ipynb_checkpoints`` are skipped.

    Returns:
        A list of :class:`Submission`, sorted by student then path.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"expected a folder of submitted notebooks, got {str(folder)!r}")
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue
        found.append(Submission(student=parts[0] if len(parts) > 1 else path.stem, path=path))
    if not found:
        raise ValueError(f"no .ipynb files under {folder}")
    return sorted(found, key=lambda submission: (submission.student, str(submission.path)))


def _private_data_dir(shared, scratch):
    """A data folder that reads the shared datasets and models but saves models privately.

    Two kernels saving the same model name at once would clash (and a student's model would
    replace the teacher's); each submission therefore gets its own ``models/`` folder of
    links, and a save replaces the link, not the shared file.
    """
    private = Path(scratch) / "data"
    try:
        (private / "models").mkdir(parents=True)
        for entry in shared.iterdir():
            if entry.name != "models":
                (private / entry.name).symlink_to(entry)
        for model in (shared / "models").glob("*"):
            (private / "models" / model.name).symlink_to(model)
    except OSError:  # no symbolic links here (Windows without the privilege): share
        return shared
    return private


def _kernel_env(log_path, data_dir, jobs):
    env = {**os.environ, **config.TEST_ENV, GRADE_LOG_ENV: str(log_path),
           config.DATA_DIR_ENV: str(data_dir)}
    # Parallel kernels share the cores: one TensorFlow thread pool each of cores / jobs.
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    env.setdefault("TF_NUM_INTRAOP_THREADS", threads)
    env.setdefault("OMP_NUM_THREADS", threads)
    return env


def _read_outcomes(log_path):
    """Each exercise's last logged outcome; lines that are not a check's record are skipped."""
    outcomes = {}
    if log_path.is_file():
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
                outcomes[str(record["exercise"])] = record["outcome"]
            except (ValueError, TypeError, KeyError):
                continue
    return outcomes


def _execute(notebook, folder, env, timeout):
    """Run ``notebook`` in a fresh kernel; return "" or why it did not run to the end."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    deadline = time.monotonic() + timeout
    client = NotebookClient(
        notebook, kernel_name="python3", allow_errors=True,
        startup_timeout=math.ceil(timeout),
        timeout_func=lambda cell: max(1, math.ceil(deadline - time.monotonic())),
        shutdown_kernel="immediate", resources={"metadata": {"path": str(folder)}})
    try:
        # The kernel process's own standard error carries only TensorFlow's and the kernel's
        # start-up chatter; what the student's code prints is captured in the notebook.
        client.execute(env=env, stderr=subprocess.DEVNULL)
    except CellTimeoutError:
        return f"timed out: still running after the {timeout:g} s limit"
    except DeadKernelError:
        return "crashed: the kernel died (exit, segmentation fault or out of memory)"
    except Exception as error:  # a broken submission must never stop the grading run
        return f"crashed: {type(error).__name__}: {error}"
    return ""


def grade_submission(submission, timeout=DEFAULT_TIMEOUT, jobs=1, shared_data=None):
    """Run one submission and fill in its exercise ids, outcomes, failure and duration.

    Args:
        submission: a :class:`Submission`.
        timeout: wall-clock limit in seconds for the whole notebook, kernel start included.
        jobs: how many submissions run at the same time (to share the CPU cores).
        shared_data: the data folder to read datasets and models from (default: the
            course's ``config.data_dir()``).

    Returns:
        The same :class:`Submission`.
    """
    start = time.perf_counter()
    try:
        notebook = nbformat.read(submission.path, as_version=4)
    except Exception as error:
        submission.failure = f"not a readable notebook: {type(error).__name__}: {error}"
        return submission
    submission.exercise_ids = checked_exercise_ids(
        "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code"))
    with tempfile.TemporaryDirectory(prefix="aigc-tf-grade-") as scratch:
        log_path = Path(scratch) / "checks.jsonl"
        data_dir = _private_data_dir(Path(shared_data or config.data_dir()), scratch)
        env = _kernel_env(log_path, data_dir, jobs)
        submission.failure = _execute(notebook, submission.path.parent, env, timeout)
        submission.outcomes = _read_outcomes(log_path)
    submission.seconds = time.perf_counter() - start
    return submission


def grade_all(submissions, timeout=DEFAULT_TIMEOUT, jobs=1, progress=print):
    """Grade ``submissions`` with up to ``jobs`` kernels running at once.

    Each kernel is its own process, so threads are enough to keep ``jobs`` of them busy;
    a pool of worker processes would only add one more TensorFlow import per worker.

    Returns:
        The graded submissions, in the order given.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    shared_data = config.data_dir()

    def grade(submission):
        try:
            grade_submission(submission, timeout, jobs, shared_data)
        except Exception as error:  # e.g. a full disk: this row scores zero, the run goes on
            submission.failure = f"not graded: {type(error).__name__}: {error}"
        passed = sum(map(submission.score, submission.exercise_ids))
        status = submission.failure or f"{passed}/{len(submission.exercise_ids)} checks pass"
        progress(f"{submission.student} ({submission.path.name}): {status} "
                 f"[{submission.seconds:.0f} s]")
        return submission

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(grade, submissions))


def exercise_columns(submissions):
    """Every exercise id checked in any submission, in order of first appearance."""
    return list(dict.fromkeys(exercise_id for submission in submissions
                              for exercise_id in submission.exercise_ids))


def write_grades(submissions, out_path):
    """Write the grade sheet atomically: student, notebook, one 0/1 column per exercise,
    total and reason.

    Returns:
        The exercise ids, in column order.
    """
    out_path = Path(out_path)
    columns = exercise_columns(submissions)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(suffix=".csv", prefix=".partial-", dir=out_path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["student", "notebook", *columns, "total", "reason"])
            for submission in submissions:
                scores = [submission.score(exercise_id) for exercise_id in columns]
                writer.writerow([submission.student, submission.path.name, *scores,
                                 sum(scores), submission.reason(columns)])
        os.replace(partial, out_path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return columns
