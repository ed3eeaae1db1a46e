"""Course-wide switches: fast mode, offline mode, data directory, seeding, TF logging.

Environment variables read here (all optional):

* ``AIGC_TF_FAST=1`` shrinks every notebook's training so the test suite runs in minutes.
  Notebooks read their parameters through :func:`pick`.
* ``AIGC_TF_OFFLINE=1`` never touches the network: loaders go straight to their offline
  fallback. The test suite sets it.
* ``AIGC_TF_DATA_DIR`` overrides where datasets and trained helper models are cached.
"""

import os
import random
from pathlib import Path

import numpy as np

FAST_ENV = "AIGC_TF_FAST"
OFFLINE_ENV = "AIGC_TF_OFFLINE"
DATA_DIR_ENV = "AIGC_TF_DATA_DIR"

_TRUE_WORDS = {"1", "true", "yes", "on"}

#: Environment for the test suite and its notebook kernels: fast, offline, quiet.
TEST_ENV = {FAST_ENV: "1", OFFLINE_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _flag(name):
    return os.environ.get(name, "").strip().lower() in _TRUE_WORDS


def is_fast():
    """Return True when fast mode (``AIGC_TF_FAST=1``) is switched on."""
    return _flag(FAST_ENV)


def is_offline():
    """Return True when loaders must not use the network (``AIGC_TF_OFFLINE=1``)."""
    return _flag(OFFLINE_ENV)


def pick(full, fast):
    """Choose a notebook parameter: ``fast`` in fast mode, ``full`` otherwise.

    Example:
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {FAST_ENV: "1"}):  # AIGC_TF_FAST=1, as in the tests
        ...     pick(full=30, fast=1)
        1
        >>> with mock.patch.dict(os.environ, {FAST_ENV: "0"}):
        ...     pick(full=30, fast=1)
        30
    """
    return fast if is_fast() else full


def data_dir():
    """Directory for cached datasets and trained helper models (created on first use).

    ``AIGC_TF_DATA_DIR`` wins; inside a source checkout it is the project's ``data/``
    folder; for an installed package it is ``~/.aigc_tf``.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        path = Path(override).expanduser()
    else:
        checkout = Path(__file__).resolve().parent.parent
        is_checkout = (checkout / "pyproject.toml").is_file()
        path = checkout / "data" if is_checkout else Path.home() / ".aigc_tf"
    path.mkdir(parents=True, exist_ok=True)
    return path


def quiet_tf():
    """Import TensorFlow without its C++ start-up chatter; keep only its Python errors.

    Messages that TensorFlow's C++ core prints while loading (CUDA probes on a machine with no
    GPU) ignore ``TF_CPP_MIN_LOG_LEVEL``, so the import runs with the process's standard
    error pointed at ``/dev/null``. An import error still surfaces as a Python exception.
    """
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import keras  # noqa: F401  (keras pulls in tensorflow's C++ libraries too)
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def set_seed(seed=42, deterministic=False):
    """Seed Python, NumPy, TensorFlow and Keras in one call.

    Args:
        seed: integer seed.
        deterministic: also switch on TensorFlow op determinism (same numbers on every
            run at some cost in speed; it stays on for the rest of the process).

    Example:
        >>> import keras
        >>> set_seed(0)
        >>> first = np.random.rand(3), keras.random.uniform((3,))
        >>> set_seed(0)
        >>> again = np.random.rand(3), keras.random.uniform((3,))
        >>> [bool(np.all(a == b)) for a, b in zip(first, again)]  # the same numbers again
        [True, True]
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    import keras
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
