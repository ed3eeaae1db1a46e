"""The VAE's two loss terms: the Gaussian KL to the prior and the reconstruction likelihood.

Decoders output *logits*; ``"bce"`` is a Bernoulli likelihood on pixels in [0, 1] and
``"mse"`` a Gaussian with fixed variance 1/2, whose negative log-likelihood is the summed
squared error plus the constant ``D/2 log(pi)`` (left out of the training loss).
"""

import math

from keras import ops

RECONSTRUCTIONS = ("bce", "mse")
_LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(z_mean, z_log_var):
    """KL(N(mu, diag(sigma^2)) || N(0, I)) per example, summed over latent dimensions.

    ``KL = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)``.

    Args:
        z_mean: encoder means, shape ``(N, latent_dim)``.
        z_log_var: encoder log-variances, same shape.

    Returns:
        A tensor of shape ``(N,)``, in nats.

    Example:
        >>> import numpy as np
        >>> float(gaussian_kl(np.zeros((1, 2)), np.zeros((1, 2)))[0]) == 0  # q is the prior
        True
        >>> kl = gaussian_kl([[1.0, 0.0], [2.0, 0.0]], np.zeros((2, 2)))  # mean moved by 1, 2
        >>> [round(float(value), 3) for value in kl]  # mu^2 / 2 nats
        [0.5, 2.0]
    """
    z_mean = ops.convert_to_tensor(z_mean, "float32")
    z_log_var = ops.convert_to_tensor(z_log_var, "float32")
    terms = 1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)
    return -0.5 * ops.sum(terms, axis=-1)


def reconstruction_loss(x, logits, kind="bce"):
    """Per-example reconstruction loss, summed over pixels.

    Args:
        x: images in [0, 1], shape ``(N, H, W, C)``.
        logits: decoder outputs (pre-sigmoid), same shape.
        kind: ``"bce"``: Bernoulli ``-log p(x|z)``; ``"mse"``: summed squared error between
            ``x`` and ``sigmoid(logits)`` (Gaussian ``-log p(x|z)`` up to a constant).

    Returns:
        A tensor of shape ``(N,)``.

    Example:
        >>> import numpy as np
        >>> x = np.full((1, 28, 28, 1), 0.5, "float32")
        >>> round(float(reconstruction_loss(x, np.zeros_like(x))[0]), 2)  # 784 * log 2
        543.43
        >>> round(784 * math.log(2), 2)  # sigmoid(0) = 0.5: a coin flip for every pixel
        543.43
    """
    if kind not in RECONSTRUCTIONS:
        raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}, got {kind!r}")
    x = ops.convert_to_tensor(x, "float32")
    logits = ops.convert_to_tensor(logits, "float32")
    if kind == "bce":
        per_pixel = ops.binary_crossentropy(x, logits, from_logits=True)
    else:
        per_pixel = ops.square(x - ops.sigmoid(logits))
    return ops.sum(ops.reshape(per_pixel, (ops.shape(x)[0], -1)), axis=-1)


def _standard_normal_log_pdf(z):
    """``log N(z; 0, I)`` summed over the last axis."""
    return -0.5 * ops.sum(ops.square(z) + _LOG_2PI, axis=-1)
