"""Small experiments on recurrent networks: gradient flow through time and gradient clipping.

Used by the RNN-basics lesson: how the gradient of a loss at the last time step shrinks (or
grows) as it flows back to earlier inputs in ``SimpleRNN``, ``LSTM`` and ``GRU``, and a
long-memory regression task (the "adding problem") on which plain SGD diverges unless the
gradient norm is clipped.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf.models.char_rnn import RNN_LAYERS

#: ``"rnn"`` / ``"lstm"`` / ``"gru"`` -> Keras layer class (the char-RNN's choices).
RECURRENT_LAYERS = RNN_LAYERS


def gradient_norms_over_time(layer, inputs):
    """Mean norm of ``dL/dx_t`` for every time step ``t``, with ``L`` = sum of the last output.

    A small norm at early ``t`` means the last output barely depends on early inputs: the
    gradient vanished on its way back through time.

    Args:
        layer: a Keras recurrent layer (``return_sequences`` may be either).
        inputs: float array of shape ``(batch, time, features)``.

    Returns:
        NumPy array of shape ``(time,)``: the batch mean of ``||dL/dx_t||``.

    Example:
        >>> x = np.random.normal(size=(16, 50, 8)).astype("float32")
        >>> norms = gradient_norms_over_time(keras.layers.SimpleRNN(32), x)
        >>> norms.shape
        (50,)
    """
    inputs = tf.convert_to_tensor(inputs, "float32")
    if len(inputs.shape) != 3:
        raise ValueError(f"inputs must have shape (batch, time, features), got {inputs.shape}")
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs)
        last = outputs[:, -1] if len(outputs.shape) == 3 else outputs
        loss = ops.sum(last)
    grads = tape.gradient(loss, inputs)
    return ops.convert_to_numpy(ops.mean(ops.norm(grads, axis=-1), axis=0))


def adding_problem(num_examples, seq_len, seed=0):
    """The adding problem: sum the two numbers that are marked somewhere in a long sequence.

    Each step carries ``(value, marker)``; values are uniform in [0, 1], exactly two markers
    are 1 (one in each half of the sequence). The target is the sum of the two marked
    values, so the network must remember a value for up to ``seq_len`` steps.

    Args:
        num_examples: number of sequences.
        seq_len: time steps per sequence (>= 2).
        seed: NumPy seed.

    Returns:
        ``(inputs, targets)``: float32 arrays of shapes ``(num_examples, seq_len, 2)`` and
        ``(num_examples, 1)``.

    Example:
        >>> x, y = adding_problem(4, 20)
        >>> x.shape, y.shape
        ((4, 20, 2), (4, 1))
    """
    if seq_len < 2:
        raise ValueError(f"seq_len must be >= 2, got {seq_len}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(size=(num_examples, seq_len)).astype("float32")
    markers = np.zeros_like(values)
    half = seq_len // 2
    rows = np.arange(num_examples)
    markers[rows, rng.integers(0, half, num_examples)] = 1.0
    markers[rows, rng.integers(half, seq_len, num_examples)] = 1.0
    targets = (values * markers).sum(axis=1, keepdims=True)
    return np.stack([values, markers], axis=-1), targets


def make_sequence_regressor(cell="rnn", units=32, recurrent_gain=1.0, activation="tanh"):
    """A recurrent layer reading the whole sequence, then a linear read-out of one number.

    Args:
        cell: ``"rnn"`` (``SimpleRNN``), ``"lstm"`` or ``"gru"``.
        units: state size.
        recurrent_gain: gain of the orthogonal initialiser of the recurrent matrix; above 1
            the state (and the gradient) can grow from step to step.
        activation: activation of the recurrent layer (e.g. ``"relu"`` does not saturate,
            so nothing stops an explosion).

    Returns:
        An uncompiled ``keras.Sequential`` model: ``(batch, time, features) -> (batch, 1)``.

    Example:
        >>> model = make_sequence_regressor("rnn", 32, recurrent_gain=1.5, activation="relu")
        >>> x, y = adding_problem(4, 20)
        >>> model.name, tuple(model(x).shape)
        ('rnn_regressor', (4, 1))
    """
    if cell not in RECURRENT_LAYERS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {list(RECURRENT_LAYERS)}")
    recurrent = RECURRENT_LAYERS[cell](
        units,
        activation=activation,
        recurrent_initializer=keras.initializers.Orthogonal(gain=recurrent_gain),
    )
    return keras.Sequential([recurrent, keras.layers.Dense(1)], name=f"{cell}_regressor")


def set_memory_gate_bias(layer, bias):
    """Set the bias of the gate that keeps the old state: LSTM forget gate, GRU update gate.

    A large bias (e.g. 3, a gate ~95% "keep") makes the cell carry its state, and the
    gradient, almost unchanged from step to step -- what training can learn when a task
    needs long memory. The layer is built first if needed.

    Args:
        layer: a ``keras.layers.LSTM`` or ``keras.layers.GRU`` layer.
        bias: the value for every unit's keep-gate bias.

    Example:
        >>> lstm = keras.layers.LSTM(32)
        >>> lstm.build((None, None, 8))
        >>> set_memory_gate_bias(lstm, 3.0)
        >>> bias = ops.convert_to_numpy(lstm.cell.bias)  # gates: input, forget, candidate, output
        >>> [float(gate.mean()) for gate in np.split(bias, 4)]
        [0.0, 3.0, 0.0, 0.0]
    """
    cell = getattr(layer, "cell", None)
    if not isinstance(cell, (keras.layers.LSTMCell, keras.layers.GRUCell)) or not cell.use_bias:
        raise ValueError(f"expected an LSTM or GRU layer with a bias, got {layer!r}")
    if not cell.built:
        raise ValueError("build the layer first, e.g. layer.build((None, None, features))")
    units = cell.units
    values = ops.convert_to_numpy(cell.bias).copy()
    if isinstance(cell, keras.layers.LSTMCell):
        values[units : 2 * units] = bias  # gate order: input, forget, candidate, output
    else:
        # Update gate z first; h_t = z * h_{t-1} + (1 - z) * candidate. With reset_after the
        # bias has an input row and a recurrent row that add up: put it all in the first.
        values[..., :units] = 0.0
        values.reshape(-1, 3 * units)[0, :units] = bias
    cell.bias.assign(values)


def _keep_gate_columns(cell):
    """Column slice of the keep gate in the cell's packed weights, and its bias vector."""
    units = cell.units
    if isinstance(cell, keras.layers.LSTMCell):
        columns = slice(units, 2 * units)  # gate order: input, forget, candidate, output
    else:
        columns = slice(0, units)  # GRU: update gate z first
    if not cell.use_bias:
        return columns, 0.0
    bias = cell.bias[columns] if len(cell.bias.shape) == 1 else ops.sum(cell.bias[:, columns], 0)
    return columns, bias


def keep_gate_values(layer, inputs):
    """The keep gate's activation at every step: LSTM forget gate ``f_t``, GRU update gate ``z_t``.

    It is the factor by which the cell keeps its old state (``c_t = f_t c_{t-1} + ...``,
    ``h_t = z_t h_{t-1} + ...``), so the gradient along that path shrinks by about its value
    per step. Keras starts an LSTM's forget-gate bias at 1 (``unit_forget_bias=True``) and a
    GRU's biases at 0, so a fresh LSTM keeps about ``sigmoid(1) = 0.73`` and a fresh GRU
    about ``sigmoid(0) = 0.5`` of its state per step (the inputs move the gates around that).

    Args:
        layer: a ``keras.layers.LSTM`` or ``keras.layers.GRU`` layer (built here if needed).
        inputs: float array of shape ``(batch, time, features)``.

    Returns:
        NumPy array ``(batch, time, units)`` of gate values in (0, 1).

    Example:
        On zero inputs the first step's gates are the sigmoid of their initial biases:

        >>> x = np.zeros((1, 3, 4), "float32")
        >>> lstm, gru = keras.layers.LSTM(2), keras.layers.GRU(2)
        >>> [round(float(keep_gate_values(cell, x)[0, 0, 0]), 2) for cell in (lstm, gru)]
        [0.73, 0.5]
    """
    cell = getattr(layer, "cell", None)
    if not isinstance(cell, (keras.layers.LSTMCell, keras.layers.GRUCell)):
        raise ValueError(f"expected an LSTM or GRU layer, got {layer!r}")
    inputs = ops.convert_to_tensor(inputs, "float32")
    if len(inputs.shape) != 3:
        raise ValueError(f"inputs must have shape (batch, time, features), got {inputs.shape}")
    if not layer.built:
        layer.build(inputs.shape)
    columns, bias = _keep_gate_columns(cell)
    batch = ops.shape(inputs)[0]
    states = [ops.zeros((batch, cell.units))] * (2 if isinstance(cell, keras.layers.LSTMCell)
                                                 else 1)
    gates = []
    for step in range(inputs.shape[1]):
        x = inputs[:, step]
        pre_activation = (ops.matmul(x, cell.kernel[:, columns])
                          + ops.matmul(states[0], cell.recurrent_kernel[:, columns]) + bias)
        gates.append(cell.recurrent_activation(pre_activation))
        _, states = cell(x, states)
    return ops.convert_to_numpy(ops.stack(gates, axis=1))
