"""Notebook 08's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# Reference answers, copied from the notebook's solution regions.
def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    units = h.shape[-1]
    a = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = (a[:, k * units:(k + 1) * units] for k in range(4))
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c_new), c_new


def clip_by_global_norm(grads, c):
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    return [g * min(1.0, c / norm) for g in grads]


@pytest.mark.parametrize("exercise_id, answer", [
    ("08.lstm_step", lstm_step),
    ("08.clip_by_global_norm", clip_by_global_norm),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_lstm_with_gates_in_another_order_is_rejected():
    def gates_i_f_o_g(x, h, c, kernel, recurrent_kernel, bias):
        units = h.shape[-1]
        a = x @ kernel + h @ recurrent_kernel + bias
        i, f, o, g = (a[:, k * units:(k + 1) * units] for k in range(4))
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c_new), c_new

    with pytest.raises(AssertionError, match=r"08.lstm_step: one sequence, 3 features, 2 units, "
                                             r"zero state, h_new: expected .*Hint: Keras packs"):
        check_exercise("08.lstm_step", gates_i_f_o_g)


def test_lstm_that_ignores_the_old_cell_is_caught_on_a_random_state():
    def no_forget(x, h, c, kernel, recurrent_kernel, bias):
        return lstm_step(x, h, np.zeros_like(c), kernel, recurrent_kernel, bias)

    # With a zero state the first case cannot tell; the second names the wrong cell state.
    with pytest.raises(AssertionError, match=r"batch of 4, 5 features, 3 units, random state, "
                                             r"h_new"):
        check_exercise("08.lstm_step", no_forget)


def test_lstm_returning_only_h_is_rejected():
    with pytest.raises(AssertionError, match=r"expected a pair \(h_new, c_new\)"):
        check_exercise("08.lstm_step", lambda *args: lstm_step(*args)[0])


def test_clipping_each_array_separately_is_rejected():
    def per_array(grads, c):
        return [g * min(1.0, c / np.linalg.norm(g)) for g in grads]

    with pytest.raises(AssertionError, match=r"two arrays with joint norm 13, c = 1, array 0: "
                                             r"expected \[0.2308, 0.3077\], got \[0.6, 0.8\]"):
        check_exercise("08.clip_by_global_norm", per_array)


def test_clipping_that_always_rescales_is_rejected():
    def always(grads, c):
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        return [g * c / norm for g in grads]

    with pytest.raises(AssertionError, match=r"joint norm 5 below c = 10 \(nothing to clip\)"):
        check_exercise("08.clip_by_global_norm", always)
