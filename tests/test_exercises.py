import numpy as np
import pytest

from aigc_tf.exercises import check


def test_check_accepts_right_answer(capsys):
    assert check("mean", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9]) is True
    assert "correct" in capsys.readouterr().out


def test_check_reports_unattempted(capsys):
    assert check("mean", None, 3.0) is False
    assert "not attempted" in capsys.readouterr().out


def test_check_rejects_wrong_value_and_shape():
    with pytest.raises(AssertionError, match=r"off by up to 0.5\). Use the mean"):
        check("mean", 2.5, 3.0, hint="Use the mean.")
    with pytest.raises(AssertionError, match=r"expected shape \(2,\)"):
        check("vector", [1.0, 2.0, 3.0], [1.0, 2.0])
