"""Hidden cases for notebook 01 (backpropagation by hand).

Expected gradients come from ``tf.GradientTape`` (float64), not from the formulas the student
is asked for.
"""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close

_PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _tape_tanh_gradients(params, x, y):
    """Gradients of the mean binary cross-entropy of a tanh-hidden-layer network, by the tape."""
    import tensorflow as tf

    variables = {name: tf.Variable(params[name]) for name in _PARAM_NAMES}
    with tf.GradientTape() as tape:
        h = tf.tanh(x @ variables["W1"] + variables["b1"])
        logits = h @ variables["W2"] + variables["b2"]
        loss = tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=y[:, None], logits=logits))
    grads = tape.gradient(loss, variables)
    return {name: grads[name].numpy() for name in _PARAM_NAMES}


def _random_network(rng, n_inputs, n_hidden, weight_scale=1.0):
    return {"W1": weight_scale * rng.normal(size=(n_inputs, n_hidden)),
            "b1": rng.normal(size=n_hidden),
            "W2": weight_scale * rng.normal(size=(n_hidden, 1)),
            "b2": rng.normal(size=1)}


def _tanh_cases():
    from aigc_tf.basics import make_xor

    rng = np.random.default_rng(1)
    x_xor, y_xor = make_xor(400, noise=0.25, seed=7)
    cases = [("the XOR data, 2 inputs, 8 hidden units", _random_network(rng, 2, 8), x_xor, y_xor),
             ("one example, 1 input, 1 hidden unit", _random_network(rng, 1, 1),
              np.array([[0.5]]), np.array([1.0]))]
    for n, n_inputs, n_hidden, scale in ((7, 3, 5, 1.0), (30, 4, 16, 4.0)):
        name = f"{n} random examples, {n_inputs} inputs, {n_hidden} hidden units"
        if scale != 1.0:
            name += " and large weights (saturated units)"
        cases.append((name, _random_network(rng, n_inputs, n_hidden, scale),
                      rng.normal(size=(n, n_inputs)), rng.integers(2, size=n).astype("float64")))
    return cases


@exercise("01.tanh_gradients",
          hint="the six lines of basics.backward still hold, with tanh'(z1) = 1 - h**2 in place "
               "of the sigmoid's h * (1 - h); the output is still a sigmoid, so dL/dz2 = "
               "(p - y) / N with y reshaped to a column (N, 1)")
def _tanh_gradients_cases(tanh_gradients):
    cases = _tanh_cases()
    for name, params, x, y in cases:
        got = tanh_gradients({k: v.copy() for k, v in params.items()}, x.copy(), y.copy())
        if not isinstance(got, (tuple, list)) or len(got) != len(_PARAM_NAMES):
            raise ExerciseFailure(f"{name}: expected four gradients (dW1, db1, dW2, db2), "
                                  f"got {type(got).__name__}")
        expected = _tape_tanh_gradients(params, x, y)
        for param, got_gradient in zip(_PARAM_NAMES, got, strict=True):
            expect_close(f"{name}, dL/d{param}", got_gradient, expected[param],
                         rtol=1e-6, atol=1e-10)
    return len(cases)


def _tape_softmax_gradient(logits, labels):
    import tensorflow as tf

    logits = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    return tape.gradient(loss, logits).numpy()


@exercise("01.softmax_xent_grad",
          hint="the multi-class version of p - y: (softmax(logits) - one_hot(labels)) / N, "
               "N the number of rows; subtract each row's maximum before exp, or large logits "
               "overflow")
def _softmax_xent_grad_cases(softmax_cross_entropy_grad):
    rng = np.random.default_rng(11)
    cases = [("one example, 3 classes, label 2", np.array([[1.0, 2.0, 3.0]]), np.array([2])),
             ("two examples, 2 classes", np.array([[0.0, 0.0], [2.0, -1.0]]), np.array([1, 0])),
             ("16 examples, 10 classes", rng.normal(size=(16, 10)), rng.integers(10, size=16)),
             ("5 examples, 4 classes, logits around 1000", 1000 + rng.normal(size=(5, 4)),
              rng.integers(4, size=5))]
    return check_cases(softmax_cross_entropy_grad, cases, _tape_softmax_gradient, rtol=1e-6,
                       atol=1e-10)
