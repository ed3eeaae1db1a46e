"""Neural-network basics by hand: a two-layer sigmoid network in NumPy.

The forward pass, the binary cross-entropy loss and the chain-rule gradients are written out
so that lesson 01 can check them against ``tf.GradientTape``; :func:`hidden_gradient_norms`
measures how the gradient shrinks or survives on its way back through a deep Keras network.

Network (N examples, D inputs, H hidden units, one output):

    z1 = x W1 + b1,   h = sigmoid(z1),   z2 = h W2 + b2,   p = sigmoid(z2)
    L  = -mean(y log p + (1 - y) log(1 - p))
"""

import numpy as np

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow."""
    x = np.asarray(x, dtype="float64")
    return np.exp(-np.logaddexp(0.0, -x))


def sigmoid_grad(x):
    """Derivative ``sigmoid(x) * (1 - sigmoid(x))``: at most 0.25, tiny for large ``|x|``."""
    s = sigmoid(x)
    return s * (1.0 - s)


def relu_grad(x):
    """Derivative of ``max(0, x)``: 1 for ``x > 0``, else 0."""
    return (np.asarray(x) > 0).astype("float64")


def init_params(n_inputs, n_hidden, seed=0, scale=1.0):
    """Random parameters of a ``n_inputs -> n_hidden -> 1`` network (float64).

    Example:
        >>> params = init_params(2, 8)
        >>> params["W1"].shape, params["W2"].shape
        ((2, 8), (8, 1))
    """
    if n_inputs < 1 or n_hidden < 1:
        raise ValueError(f"n_inputs and n_hidden must be >= 1, got {n_inputs}, {n_hidden}")
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0, scale / np.sqrt(n_inputs), (n_inputs, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0, scale / np.sqrt(n_hidden), (n_hidden, 1)),
        "b2": np.zeros(1),
    }


def _check_xy(x, y):
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64").reshape(-1, 1)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x must be (N, D) and y (N,) with the same N; got {x.shape}, {y.shape}")
    return x, y


def forward(params, x):
    """Forward pass; returns the probabilities ``p`` (N, 1) and the intermediate values."""
    z1 = x @ params["W1"] + params["b1"]
    h = sigmoid(z1)
    z2 = h @ params["W2"] + params["b2"]
    p = sigmoid(z2)
    return p, {"x": x, "h": h, "z2": z2}


def bce_loss(params, x, y):
    """Mean binary cross-entropy, computed from the logits ``z2`` for numerical stability."""
    x, y = _check_xy(x, y)
    _, cache = forward(params, x)
    z2 = cache["z2"]
    # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z
    return float(np.mean(np.logaddexp(0.0, z2) - y * z2))


def backward(params, x, y):
    """Gradients of :func:`bce_loss` by the chain rule, written out by hand.

    Returns a dict with the same keys as ``params``.
    """
    x, y = _check_xy(x, y)
    p, cache = forward(params, x)
    h = cache["h"]
    dz2 = (p - y) / len(x)                 # dL/dz2: sigmoid + BCE simplify to p - y
    dh = dz2 @ params["W2"].T              # dL/dh
    dz1 = dh * h * (1.0 - h)               # sigmoid'(z1) = h (1 - h)
    return {
        "W1": x.T @ dz1,
        "b1": dz1.sum(axis=0),
        "W2": h.T @ dz2,
        "b2": dz2.sum(axis=0),
    }


def tape_gradients(params, x, y):
    """The same gradients computed by ``tf.GradientTape`` (float64), for checking."""
    import tensorflow as tf

    x, y = _check_xy(x, y)
    variables = {name: tf.Variable(params[name]) for name in PARAM_NAMES}
    with tf.GradientTape() as tape:
        h = tf.sigmoid(x @ variables["W1"] + variables["b1"])
        logits = h @ variables["W2"] + variables["b2"]
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, variables)
    return {name: grads[name].numpy() for name in PARAM_NAMES}


def max_gradient_difference(params, x, y):
    """Largest absolute difference between :func:`backward` and :func:`tape_gradients`."""
    by_hand, by_tape = backward(params, x, y), tape_gradients(params, x, y)
    return max(float(np.max(np.abs(by_hand[k] - by_tape[k]))) for k in PARAM_NAMES)


def accuracy(params, x, y):
    """Share of examples where ``p > 0.5`` matches the 0/1 label."""
    x, y = _check_xy(x, y)
    p, _ = forward(params, x)
    return float(np.mean((p > 0.5) == (y > 0.5)))


def train(x, y, n_hidden=8, learning_rate=1.0, steps=2000, seed=0):
    """Full-batch gradient descent ``w <- w - lr * dL/dw`` with the hand-written gradients.

    Returns ``(params, losses)`` where ``losses[i]`` is the loss before step ``i``.

    Example:
        >>> x, y = make_xor(200)
        >>> params, losses = train(x, y, steps=500)
        >>> print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, accuracy {accuracy(params, x, y)}")
        loss 0.717 -> 0.025, accuracy 1.0
    """
    if learning_rate <= 0 or steps < 1:
        raise ValueError(f"need learning_rate > 0 and steps >= 1, got {learning_rate}, {steps}")
    x, y = _check_xy(x, y)
    params = init_params(x.shape[1], n_hidden, seed)
    losses = []
    for _ in range(steps):
        losses.append(bce_loss(params, x, y))
        grads = backward(params, x, y)
        for name in PARAM_NAMES:
            params[name] = params[name] - learning_rate * grads[name]
    return params, np.array(losses)


def make_xor(n=400, noise=0.25, seed=0):
    """XOR-style 2-D data: label 1 where the two coordinates have opposite signs.

    A linear model cannot separate it; one hidden layer can.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2)) * 2 - 1
    x = corners + noise * rng.standard_normal((n, 2))
    y = (corners[:, 0] != corners[:, 1]).astype("float64")
    return x.astype("float64"), y


def _seeded_initializer(initializer, seed):
    """A copy of a Keras initializer (name or instance) with its own ``seed``."""
    import keras

    initializer = keras.initializers.get(initializer)
    settings = initializer.get_config()
    if "seed" not in settings:
        raise ValueError(f"initializer {type(initializer).__name__} takes no seed; expected a "
                         "random one such as 'glorot_uniform', 'he_normal' or RandomNormal")
    settings["seed"] = seed
    return type(initializer).from_config(settings)


def _hidden_gradient_norms_once(x, y, activation, kernel_initializer, depth, width, seed):
    import keras
    import tensorflow as tf

    hidden = [keras.layers.Dense(width, activation=activation,
                                 kernel_initializer=_seeded_initializer(kernel_initializer,
                                                                        seed * 1000 + layer))
              for layer in range(depth)]
    output = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed))
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        h, outputs = tf.constant(x, "float32"), []
        for layer in hidden:
            h = layer(h)
            outputs.append(h)
        loss = loss_fn(tf.constant(y[:, None], "float32"), output(h))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, outputs)])


def hidden_gradient_norms(x, y, activation="sigmoid", kernel_initializer="glorot_uniform",
                          depth=10, width=64, seeds=(0, 1, 2)):
    """Measure the gradient reaching each hidden layer of a freshly initialised deep network.

    The network is ``depth`` Dense layers of ``width`` units with ``activation`` and then one
    logit, trained with binary cross-entropy. ``tf.GradientTape`` gives the gradient of the
    loss on ``(x, y)`` with respect to every hidden layer's output ``h_l``; on its way down from
    layer ``l + 1`` to layer ``l`` it is multiplied by the local derivatives of the activation
    and by the weights, so both the activation and the initialisation decide whether it
    survives.

    Args:
        x: inputs, shape (N, D).
        y: 0/1 labels, shape (N,).
        activation: Keras activation of the hidden layers (``"sigmoid"``, ``"relu"``, ...).
        kernel_initializer: Keras initializer (name or instance) of the hidden kernels.
        depth: number of hidden layers.
        width: units per hidden layer.
        seeds: one network is drawn per seed; the norms are their geometric mean, because a
            single draw can be off by a few tens of percent.

    Returns:
        Array of shape (depth,): the norm of ``dL/dh_l`` for l = 1 (next to the input) to
        ``depth`` (next to the output).

    Example:
        >>> x, y = make_xor(32)
        >>> norms = hidden_gradient_norms(x, y, "sigmoid", depth=4, width=16, seeds=(0,))
        >>> norms.shape, bool(norms[0] < norms[-1] / 10)  # far smaller next to the input
        ((4,), True)
    """
    x, y = _check_xy(x, y)
    if depth < 1 or width < 1 or not seeds:
        raise ValueError(f"need depth >= 1, width >= 1 and at least one seed; got {depth}, "
                         f"{width}, {seeds}")
    norms = [_hidden_gradient_norms_once(x, y[:, 0], activation, kernel_initializer, depth,
                                         width, seed) for seed in seeds]
    return np.exp(np.mean(np.log(norms), axis=0))
