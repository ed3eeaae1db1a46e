"""Automatic checks for the notebooks' exercises.

Two kinds of check:

* :func:`check_exercise` (new exercises, from notebook 13 on): the student's cell holds a stub,
  the reference answer sits between nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION``
  markers, and the check runs *hidden cases* registered here under an exercise id, so the
  expected values never appear in the notebook. A stub that raises ``NotImplementedError``
  counts as not attempted, so a fresh notebook still runs top to bottom. Each notebook's
  hidden cases live in a module of this package (``nb13.py`` for notebook 13, ...).
* :func:`check` (older notebooks): compares one value with a reference value. A notebook
  exercise leaves ``answer = None`` for the student; a wrong answer raises ``AssertionError``
  with a hint; a right one prints a tick.
"""

import importlib
import pkgutil

import numpy as np


def check(name, answer, expected, atol=1e-6, hint=""):
    """Compare a student's ``answer`` with ``expected`` (numbers or arrays, within ``atol``).

    Args:
        name: short exercise name, printed in the message.
        answer: the student's value; ``None`` means not attempted yet.
        expected: the reference value.
        atol: absolute tolerance.
        hint: one sentence shown when the answer is wrong.

    Returns:
        True when correct, False when not attempted.

    Example:
        >>> check("sigmoid(0)", 0.5, 0.5)
        sigmoid(0): correct ✓
        True
    """
    if answer is None:
        print(f"{name}: not attempted yet (replace None with your answer and run again)")
        return False
    answer, expected = np.asarray(answer, dtype="float64"), np.asarray(expected, dtype="float64")
    if answer.shape != expected.shape:
        raise AssertionError(f"{name}: expected shape {expected.shape}, got {answer.shape}")
    if not np.allclose(answer, expected, atol=atol, rtol=0):
        worst = float(np.max(np.abs(answer - expected)))
        raise AssertionError(f"{name}: not quite (off by up to {worst:.3g}). {hint}".strip())
    print(f"{name}: correct ✓")
    return True


class ExerciseFailure(Exception):
    """A hidden case of an exercise failed; the message says which input and why."""


_CHECKS = {}


def exercise(exercise_id, hint):
    """Register the hidden cases of one exercise under ``exercise_id`` (``"13.frechet"``).

    The decorated function receives the student's answer and raises :class:`ExerciseFailure`
    (usually through :func:`expect_close`) on the first case it gets wrong; it returns the
    number of cases that passed.
    """
    def register(run_cases):
        _CHECKS[exercise_id] = (run_cases, hint)
        return run_cases
    return register


def expect_close(case, got, expected, rtol=1e-6, atol=1e-8):
    """Raise :class:`ExerciseFailure` naming ``case`` unless ``got`` matches ``expected``."""
    try:
        got = np.asarray(got, dtype="float64")
    except (TypeError, ValueError) as error:
        raise ExerciseFailure(
            f"{case}: the answer is not a number or an array ({error})") from None
    expected = np.asarray(expected, dtype="float64")
    if got.shape != expected.shape:
        raise ExerciseFailure(f"{case}: expected shape {expected.shape}, got {got.shape}")
    if not np.all(np.isfinite(got)):
        raise ExerciseFailure(f"{case}: the answer contains NaN or infinity")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        raise ExerciseFailure(f"{case}: expected {np.round(expected, 4).tolist()}, "
                              f"got {np.round(got, 4).tolist()}")


def _register_all():
    """Import every notebook's module of hidden cases (each registers itself on import)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def exercise_ids():
    """The ids of every registered exercise, e.g. ``["04.gan_losses", ...]``."""
    _register_all()
    return sorted(_CHECKS)


def check_exercise(exercise_id, answer):
    """Run the hidden cases of exercise ``exercise_id`` on the student's ``answer``.

    ``answer`` is usually the student's function. A stub that still raises
    ``NotImplementedError`` (or an answer of ``None``) counts as not attempted, so a fresh
    notebook runs top to bottom. A wrong answer raises ``AssertionError`` with the failing
    case and a hint, never the solution.

    Example:
        >>> def frechet_gaussians(mean_a, cov_a, mean_b, cov_b):
        ...     raise NotImplementedError
        >>> check_exercise("13.frechet_gaussians", frechet_gaussians)
        13.frechet_gaussians: not attempted yet (replace the stub and run again)
        False
    """
    _register_all()
    if exercise_id not in _CHECKS:
        raise ValueError(f"unknown exercise {exercise_id!r}; expected one of {sorted(_CHECKS)}")
    run_cases, hint = _CHECKS[exercise_id]
    if answer is None:
        print(f"{exercise_id}: not attempted yet (replace the stub and run again)")
        return False
    try:
        passed = run_cases(answer)
    except NotImplementedError:
        print(f"{exercise_id}: not attempted yet (replace the stub and run again)")
        return False
    except ExerciseFailure as failure:
        raise AssertionError(f"{exercise_id}: {failure}. Hint: {hint}") from None
    print(f"{exercise_id}: all {passed} hidden cases pass ✓")
    return True
