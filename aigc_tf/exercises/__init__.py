"""Automatic checks for the notebooks' exercises.

:func:`check_exercise`: the student's cell holds a stub, the reference answer sits between
nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers, and the check runs *hidden
cases* registered here under an exercise id, so the expected values never appear in the
notebook. A stub that raises ``NotImplementedError`` counts as not attempted, so a fresh
notebook still runs top to bottom. Each notebook's hidden cases live in a module of this
package (``nb13.py`` for notebook 13, ...).

When the environment variable ``AIGC_TF_GRADE_LOG`` names a file, every
:func:`check_exercise` call also appends one JSON line to it (exercise id, outcome ``passed``,
``failed`` or ``not attempted``, and the message): ``aigc-tf exercises grade`` reads these lines
to fill in its grade sheet.
"""

import importlib
import json
import os
import pkgutil

import numpy as np


class ExerciseFailure(Exception):
    """A hidden case of an exercise failed; the message says which input and why."""


_CHECKS = {}


def exercise(exercise_id, hint):
    """Register the hidden cases of one exercise under ``exercise_id`` (``"13.frechet"``).

    The decorated function receives the student's answer and raises :class:`ExerciseFailure`
    (usually through :func:`check_cases` or :func:`expect_close`) on the first case it gets
    wrong; it returns the number of cases that passed.
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


def _copied(value):
    """A copy of ``value`` the student's function may change freely (arrays, lists, dicts)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(item) for item in value)
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    return value


def check_cases(answer, cases, reference, rtol=1e-6, atol=1e-8):
    """Check ``answer`` against ``reference`` on every ``(name, *arguments)`` case, in order.

    The student's ``answer`` gets copies of the arguments (arrays, lists and dicts), so one
    that changes its inputs in place cannot corrupt the reference or the next case;
    ``reference`` gets the originals.

    Args:
        answer: The student's function.
        cases: A sequence of tuples ``(name, *arguments)``; ``name`` names the case in the
            failure message.
        reference: A function of the same arguments returning the expected value.
        rtol: Relative tolerance, as in :func:`expect_close`.
        atol: Absolute tolerance, as in :func:`expect_close`.

    Returns:
        The number of cases, all passed.

    Raises:
        ExerciseFailure: On the first case whose answer is ``None`` or not close to the
            reference's, naming that case.

    Example:
        >>> cases = [("x = 2", np.array([2.0])), ("x = -1, 3", np.array([-1.0, 3.0]))]
        >>> check_cases(lambda x: x * x, cases, np.square)
        2
        >>> check_cases(lambda x: 2 * x, cases, np.square)
        Traceback (most recent call last):
        ...
        aigc_tf.exercises.ExerciseFailure: x = -1, 3: expected [1.0, 9.0], got [-2.0, 6.0]
    """
    for name, *arguments in cases:
        got = answer(*(_copied(argument) for argument in arguments))
        if got is None:
            raise ExerciseFailure(f"{name}: the function returned None")
        expect_close(name, got, reference(*arguments), rtol=rtol, atol=atol)
    return len(cases)


def _register_all():
    """Import every notebook's module of hidden cases (each registers itself on import)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def exercise_ids():
    """The ids of every registered exercise, e.g. ``["04.gan_losses", ...]``."""
    _register_all()
    return sorted(_CHECKS)


GRADE_LOG_ENV = "AIGC_TF_GRADE_LOG"


def _record(exercise_id, outcome, message):
    """Append one check's outcome to the grade log, when ``AIGC_TF_GRADE_LOG`` names one."""
    log_path = os.environ.get(GRADE_LOG_ENV)
    if not log_path:
        return
    line = json.dumps({"exercise": exercise_id, "outcome": outcome, "message": message})
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(line + "\n")


def _not_attempted(exercise_id):
    message = f"{exercise_id}: not attempted yet (replace the stub and run again)"
    _record(exercise_id, "not attempted", message)
    print(message)
    return False


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
        return _not_attempted(exercise_id)
    try:
        passed = run_cases(answer)
    except NotImplementedError:
        return _not_attempted(exercise_id)
    except ExerciseFailure as failure:
        message = f"{exercise_id}: {failure}. Hint: {hint}"
        _record(exercise_id, "failed", message)
        raise AssertionError(message) from None
    except Exception as error:  # the student's code crashed: record it, show its traceback
        _record(exercise_id, "failed", f"{exercise_id}: {type(error).__name__}: {error}")
        raise
    message = f"{exercise_id}: all {passed} hidden cases pass ✓"
    _record(exercise_id, "passed", message)
    print(message)
    return True
