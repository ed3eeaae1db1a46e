"""Notebook 01's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf import basics
from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def tanh_gradients(params, x, y):
    y = y.reshape(-1, 1)
    h = np.tanh(x @ params["W1"] + params["b1"])
    p = basics.sigmoid(h @ params["W2"] + params["b2"])
    dz2 = (p - y) / len(x)
    dz1 = (dz2 @ params["W2"].T) * (1 - h**2)
    return x.T @ dz1, dz1.sum(axis=0), h.T @ dz2, dz2.sum(axis=0)


def softmax_cross_entropy_grad(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    probs[np.arange(len(labels)), labels] -= 1.0
    return probs / len(logits)


@pytest.mark.parametrize("exercise_id, answer", [
    ("01.tanh_gradients", tanh_gradients),
    ("01.softmax_xent_grad", softmax_cross_entropy_grad),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_sigmoid_network_gradients_are_rejected_with_the_parameter_named():
    def sigmoid_gradients(params, x, y):
        grads = basics.backward(params, x, y)
        return tuple(grads[name] for name in basics.PARAM_NAMES)

    with pytest.raises(AssertionError, match=r"01.tanh_gradients: the XOR data, 2 inputs, 8 hidden"
                                             r" units, dL/dW1: expected .*Hint: .*1 - h\*\*2"):
        check_exercise("01.tanh_gradients", sigmoid_gradients)


def test_gradients_of_the_summed_loss_are_rejected():
    def without_the_mean(params, x, y):
        return tuple(len(x) * gradient for gradient in tanh_gradients(params, x, y))

    with pytest.raises(AssertionError, match=r"01.tanh_gradients: the XOR data.*, dL/dW1: "
                                             r"expected"):
        check_exercise("01.tanh_gradients", without_the_mean)


def test_a_dict_instead_of_four_gradients_is_rejected():
    with pytest.raises(AssertionError, match=r"expected four gradients \(dW1, db1, dW2, db2\)"):
        check_exercise("01.tanh_gradients", lambda params, x, y: basics.backward(params, x, y))


def test_softmax_gradient_without_the_mean_is_rejected():
    def summed_loss(logits, labels):
        return softmax_cross_entropy_grad(logits, labels) * len(logits)

    with pytest.raises(AssertionError, match=r"01.softmax_xent_grad: two examples, 2 classes: "
                                             r"expected .*Hint: the multi-class version"):
        check_exercise("01.softmax_xent_grad", summed_loss)


def test_softmax_gradient_that_overflows_is_rejected():
    def unshifted(logits, labels):
        with np.errstate(over="ignore", invalid="ignore"):
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probs[np.arange(len(labels)), labels] -= 1.0
        return probs / len(logits)

    with pytest.raises(AssertionError, match=r"logits around 1000: the answer contains NaN"):
        check_exercise("01.softmax_xent_grad", unshifted)
