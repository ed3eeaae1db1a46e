"""Automatic checks for the notebooks' exercises.

A notebook exercise leaves ``answer = None`` for the student; :func:`check` then says "not
attempted yet" instead of failing, so a fresh notebook still runs top to bottom. A wrong answer
raises ``AssertionError`` with a hint; a right one prints a tick.
"""

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
