import keras
import numpy as np
import pytest

from aigc_tf.rnn_lab import (
    adding_problem,
    gradient_norms_over_time,
    keep_gate_values,
    set_memory_gate_bias,
)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_adding_problem_targets_are_the_two_marked_values():
    x, y = adding_problem(50, 12, seed=3)
    markers = x[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :6].sum(axis=1) == 1)  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)


def test_gradient_norms_vanish_back_through_a_simple_rnn():
    x = np.random.default_rng(0).normal(size=(8, 40, 4)).astype("float32")
    norms = gradient_norms_over_time(keras.layers.SimpleRNN(16), x)
    assert norms.shape == (40,)
    assert norms[0] < 1e-2 * norms[-1]


def _keep_gates_by_hand(layer, x):
    """The keep gate from the layer's weights and the states Keras computes."""
    cell = layer.cell
    units = cell.units
    sequence_layer = type(layer)(units, return_sequences=True)
    sequence_layer.build(x.shape)
    sequence_layer.set_weights(layer.get_weights())
    states = keras.ops.convert_to_numpy(sequence_layer(x))
    previous = np.concatenate([np.zeros((len(x), 1, units)), states[:, :-1]], axis=1)
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in layer.get_weights())
    if isinstance(cell, keras.layers.LSTMCell):
        columns, bias = slice(units, 2 * units), bias[units:2 * units]
    else:
        columns, bias = slice(0, units), bias[:, :units].sum(axis=0)  # reset_after: two rows
    return sigmoid(x @ kernel[:, columns] + previous @ recurrent[:, columns] + bias)


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
def test_keep_gate_values_match_the_gate_equation(layer_class):
    x = np.random.default_rng(1).normal(size=(3, 7, 4)).astype("float32")
    layer = layer_class(5)
    layer.build(x.shape)
    layer.set_weights([np.random.default_rng(2).normal(scale=0.5, size=w.shape)
                       for w in layer.get_weights()])
    gates = keep_gate_values(layer, x)
    assert gates.shape == (3, 7, 5)
    np.testing.assert_allclose(gates, _keep_gates_by_hand(layer, x), rtol=1e-4, atol=1e-5)


def test_fresh_lstm_keeps_more_than_a_fresh_gru_and_an_opened_gate_keeps_most():
    x = np.random.default_rng(0).normal(size=(8, 30, 4)).astype("float32")
    lstm, gru = keras.layers.LSTM(16), keras.layers.GRU(16)
    opened = keras.layers.LSTM(16)
    opened.build(x.shape)
    set_memory_gate_bias(opened, 3.0)
    means = [keep_gate_values(layer, x).mean() for layer in (gru, lstm, opened)]
    assert 0.4 < means[0] < 0.6 < means[1] < 0.85 < means[2]


def test_keep_gate_values_reject_other_layers_and_shapes():
    with pytest.raises(ValueError, match="expected an LSTM or GRU layer"):
        keep_gate_values(keras.layers.SimpleRNN(4), np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match=r"shape \(batch, time, features\)"):
        keep_gate_values(keras.layers.LSTM(4), np.zeros((3, 2)))
