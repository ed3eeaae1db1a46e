import numpy as np
import pytest

from aigc_tf import basics


def test_hand_gradients_match_gradient_tape():
    x, y = basics.make_xor(64, seed=1)
    params = basics.init_params(2, 5, seed=2)
    assert basics.max_gradient_difference(params, x, y) < 1e-12


def test_hand_gradients_match_finite_differences():
    x, y = basics.make_xor(16, seed=3)
    params = basics.init_params(2, 3, seed=4)
    grads = basics.backward(params, x, y)
    eps = 1e-6
    shifted = {k: v.copy() for k, v in params.items()}
    shifted["W1"][1, 2] += eps
    numeric = (basics.bce_loss(shifted, x, y) - basics.bce_loss(params, x, y)) / eps
    assert numeric == pytest.approx(grads["W1"][1, 2], rel=1e-4)


def test_gradient_descent_learns_xor():
    x, y = basics.make_xor(400, noise=0.2, seed=0)
    params, losses = basics.train(x, y, n_hidden=8, learning_rate=2.0, steps=1500)
    assert losses[-1] < 0.5 * losses[0]
    assert basics.accuracy(params, x, y) > 0.9


def test_activation_gradients():
    assert basics.sigmoid_grad(0.0) == pytest.approx(0.25)
    assert basics.sigmoid_grad(10.0) < 1e-4
    np.testing.assert_array_equal(basics.relu_grad([-1.0, 2.0]), [0.0, 1.0])
    assert basics.sigmoid(-1000.0) == 0.0 and basics.sigmoid(1000.0) == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="same N"):
        basics.bce_loss(basics.init_params(2, 3), np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="learning_rate > 0"):
        basics.train(np.zeros((4, 2)), np.zeros(4), learning_rate=0)


def test_measured_gradients_vanish_through_sigmoids_and_survive_relu_with_he_init():
    import keras

    x, y = basics.make_xor(128, seed=0)

    def shrink_per_layer(norms):
        return (norms[0] / norms[-1]) ** (1 / (len(norms) - 1))

    sigmoid = basics.hidden_gradient_norms(x, y, "sigmoid", depth=6, width=32, seeds=(0, 1))
    relu_he = basics.hidden_gradient_norms(x, y, "relu", "he_normal", depth=6, width=32,
                                           seeds=(0, 1))
    relu_tiny = basics.hidden_gradient_norms(x, y, "relu", keras.initializers.RandomNormal(
        stddev=0.01), depth=6, width=32, seeds=(0, 1))
    assert sigmoid.shape == relu_he.shape == (6,)
    assert shrink_per_layer(sigmoid) < 0.35          # sigmoid' <= 1/4 at Glorot scale
    assert 0.7 < shrink_per_layer(relu_he) < 1.4      # He init keeps the scale
    assert shrink_per_layer(relu_tiny) < 0.2          # too-small weights: ReLU vanishes too


def test_gradient_norms_are_repeatable_and_reject_bad_settings():
    x, y = basics.make_xor(32, seed=0)
    first = basics.hidden_gradient_norms(x, y, "tanh", depth=3, width=8, seeds=(4,))
    np.testing.assert_array_equal(first, basics.hidden_gradient_norms(x, y, "tanh", depth=3,
                                                                      width=8, seeds=(4,)))
    with pytest.raises(ValueError, match="takes no seed"):
        basics.hidden_gradient_norms(x, y, "relu", "zeros", depth=2, width=4)
    with pytest.raises(ValueError, match="depth >= 1"):
        basics.hidden_gradient_norms(x, y, depth=0)
