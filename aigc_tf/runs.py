"""Training runs on disk: the run folder, atomic writes, resumable checkpoints, progress.

``aigc-tf train`` keeps everything about one run in one folder::

    run.json        the settings and the status ("running" or "finished")
    backup/         the last complete checkpoint (model, every optimizer, epoch); removed
                    when the run finishes
    history.csv     one row of losses per epoch
    logs/           TensorBoard event files
    samples/        a sample grid (or text) per epoch
    samples.png     the final sample grid (samples.txt for a text model)
    model.keras     the trained model
    metrics.json    the evaluation suite's numbers

Every file that a reader may pick up is written under a temporary name and then renamed, so a
run killed at any moment leaves either the previous complete file or the new one.
"""

import csv
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

RUN_FILE = "run.json"
BACKUP_DIR = "backup"
HISTORY_FILE = "history.csv"
LOG_DIR = "logs"
SAMPLES_DIR = "samples"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
CHECKPOINT_POINTER = "checkpoint.json"
CHECKPOINT_WEIGHTS = "latest.weights.h5"
CHECKPOINT_METADATA = "training_metadata.json"


@dataclasses.dataclass
class Settings:
    """What ``aigc-tf train`` was asked to do; saved in ``run.json`` so a resumed run repeats it.

    ``epochs`` or ``minutes`` is the training budget (the recipe's default when both are
    None); ``batch_size`` None means the recipe's default; ``text`` is a corpus file for a text
    model; ``strategy`` is ``"default"``, ``"mirrored"`` or ``"multi-worker"``.
    """

    model: str
    epochs: int | None = None
    minutes: float | None = None
    batch_size: int | None = None
    seed: int = 0
    fast: bool = False
    text: str | None = None
    strategy: str = "default"


# Settings a resumed run must keep: changing them would train a different model.
RUN_DEFINING = ("epochs", "minutes", "batch_size", "seed", "fast", "text")


def fsync(path):
    """Flush ``path`` to disk (a rename after it then survives a crash too)."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def write_atomically(path, write):
    """Call ``write(temporary_path)``, then rename the result to ``path``.

    A reader (or a resumed run) sees either the old file or the complete new one, never a
    half-written file, even if the process is killed during ``write``.

    Args:
        path: the final file.
        write: a function that writes the file it is given.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     target = write_atomically(Path(folder) / "a.txt",
        ...                               lambda tmp: tmp.write_text("done"))
        ...     target.read_text(), sorted(p.name for p in Path(folder).iterdir())
        ('done', ['a.txt'])
    """
    path = Path(path)
    partial = path.with_name(f".partial-{path.name}")
    try:
        write(partial)
        fsync(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_json(path, value):
    """Write ``value`` as indented JSON, atomically (see :func:`write_atomically`)."""
    text = json.dumps(value, indent=2, default=_json_default) + "\n"
    return write_atomically(path, lambda tmp: tmp.write_text(text))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def read_json(path, what):
    """Read a JSON file, with one clear ``ValueError`` if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{what} {str(path)!r} is unreadable ({error})") from None


def latest_checkpoint(backup_dir):
    """The folder of the last complete checkpoint in ``backup_dir``, or None.

    Checkpoints are folders named by ``checkpoint.json``, which is replaced atomically once a
    new checkpoint is complete (see :class:`aigc_tf.training.AtomicBackupAndRestore`).
    """
    pointer = Path(backup_dir) / CHECKPOINT_POINTER
    if not pointer.is_file():
        return None
    return Path(backup_dir) / read_json(pointer, "checkpoint pointer")["folder"]


def check_writable_folder(folder):
    """Raise ``ValueError`` unless ``folder`` exists as a writable folder or can be created."""
    folder = Path(folder)
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"cannot write to {str(folder)!r}: {str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write to {str(folder)!r}: {str(existing)!r} is read-only")


class RunFolder:
    """The folder of one training run (see the module docstring for its files).

    Args:
        path: the folder.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     run = RunFolder(Path(folder) / "dcgan", Settings("dcgan", epochs=3)).start()
        ...     RunFolder.open(run.path, "dcgan").settings.epochs
        3
    """

    def __init__(self, path, settings, status="running"):
        self.path = Path(path)
        self.settings = settings
        self.status = status

    @property
    def backup_dir(self):
        return self.path / BACKUP_DIR

    @property
    def history_path(self):
        return self.path / HISTORY_FILE

    @property
    def log_dir(self):
        return self.path / LOG_DIR

    @property
    def samples_dir(self):
        return self.path / SAMPLES_DIR

    @property
    def model_path(self):
        return self.path / MODEL_FILE

    @property
    def metrics_path(self):
        return self.path / METRICS_FILE

    @classmethod
    def check_new(cls, path):
        """Raise ``ValueError`` unless ``path`` can hold a new run (absent or empty folder)."""
        path = Path(path)
        check_writable_folder(path)
        if (path / RUN_FILE).is_file():
            existing = cls.read(path)
            if existing.status == "finished":
                raise ValueError(f"{str(path)!r} already holds a finished "
                                 f"{existing.settings.model} run; choose another --out")
            raise ValueError(
                f"{str(path)!r} already holds a {existing.settings.model} run; continue it "
                f"with --resume {path} or choose another --out"
            )
        if path.is_dir() and any(path.iterdir()):
            raise ValueError(f"{str(path)!r} is not empty; choose a new or empty --out folder")

    def start(self):
        """Create the folder and its ``run.json`` (once every check has passed)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.save()
        return self

    @classmethod
    def open(cls, path, model):
        """Open the unfinished run in ``path`` to resume it; it must be a run of ``model``."""
        path = Path(path)
        if not (path / RUN_FILE).is_file():
            raise ValueError(
                f"{str(path)!r} holds no aigc-tf run (no {RUN_FILE}); start one with "
                f"aigc-tf train {model} --out {path}"
            )
        run = cls.read(path)
        settings = run.settings
        if settings.model != model:
            raise ValueError(
                f"{str(path)!r} holds a {settings.model} run, not {model}; resume it with "
                f"aigc-tf train {settings.model} --resume {path}"
            )
        if run.status == "finished":
            raise ValueError(f"the {model} run in {str(path)!r} has already finished")
        check_writable_folder(path)
        return run

    @classmethod
    def read(cls, path):
        """The run saved in ``path`` (``ValueError`` if its ``run.json`` is not one)."""
        saved = read_json(Path(path) / RUN_FILE, "run file")
        try:
            return cls(path, Settings(**saved["settings"]), saved["status"])
        except (KeyError, TypeError):
            raise ValueError(f"{str(Path(path) / RUN_FILE)!r} is not an aigc-tf run file") from None

    def save(self):
        write_json(self.path / RUN_FILE,
                   {"settings": dataclasses.asdict(self.settings), "status": self.status})

    def finish(self):
        self.status = "finished"
        self.save()

    def checkpoint(self):
        """The last complete checkpoint's metadata (``epoch``, ``train_seconds``), or None."""
        folder = latest_checkpoint(self.backup_dir)
        if folder is None:
            return None
        return read_json(folder / CHECKPOINT_METADATA, "checkpoint metadata")

    def drop_history_after(self, epochs):
        """Keep the first ``epochs`` rows of ``history.csv``: epochs the checkpoint holds.

        A run killed after logging an epoch but before checkpointing it repeats that epoch
        when resumed; without this the history would list it twice.
        """
        if not self.history_path.is_file():
            return
        with open(self.history_path, newline="") as handle:
            rows = list(csv.reader(handle))
        kept = rows[:1] + [row for row in rows[1:] if row and int(row[0]) < epochs]

        def write(tmp):
            with open(tmp, "w", newline="") as handle:
                csv.writer(handle).writerows(kept)

        write_atomically(self.history_path, write)
