"""GAN objectives: the discriminator and generator losses and the WGAN-GP gradient penalty.

A discriminator ``D`` outputs logits ``l`` (``D(x) = sigmoid(l)``). Three objectives:

* ``"minimax"``: ``L_G = E[log(1 - D(G(z)))] = -E[softplus(l_fake)]`` (saturates when ``D`` wins);
* ``"non_saturating"``: ``L_G = -E[log D(G(z))] = E[softplus(-l_fake)]``;
* ``"wgan_gp"``: a critic with ``L_D = E[l_fake] - E[l_real] + lambda * GP``, ``L_G = -E[l_fake]``.

The first two share the discriminator loss
``L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = E[softplus(-l_real)] + E[softplus(l_fake)]``.
"""

import tensorflow as tf
from keras import ops

LOSSES = ("minimax", "non_saturating", "wgan_gp")


def _check_loss(loss):
    if loss not in LOSSES:
        raise ValueError(f"unknown GAN loss {loss!r}; expected one of {list(LOSSES)}")


def discriminator_loss(real_logits, fake_logits, loss="non_saturating"):
    """Discriminator (or critic) loss from its logits on a real and a generated batch.

    Args:
        real_logits: ``D``'s logits on real data.
        fake_logits: ``D``'s logits on generated data.
        loss: ``"minimax"``, ``"non_saturating"`` (both use binary cross-entropy) or
            ``"wgan_gp"`` (the Wasserstein critic loss, without the gradient penalty).

    Example:
        >>> import numpy as np
        >>> round(float(discriminator_loss(np.array([0.0]), np.array([0.0]))), 3)  # 2 log 2
        1.386
    """
    _check_loss(loss)
    if loss == "wgan_gp":
        return ops.mean(fake_logits) - ops.mean(real_logits)
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def generator_loss(fake_logits, loss="non_saturating"):
    """Generator loss from the discriminator's logits on generated data.

    Args:
        fake_logits: ``D``'s logits on ``G(z)``.
        loss: ``"minimax"`` (``E[log(1 - D(G(z)))]``), ``"non_saturating"``
            (``-E[log D(G(z))]``) or ``"wgan_gp"`` (``-E[critic(G(z))]``).

    Example:
        >>> import numpy as np
        >>> round(float(generator_loss(np.array([0.0]), "non_saturating")), 3)  # log 2
        0.693
        >>> round(float(generator_loss(np.array([0.0]), "minimax")), 3)  # log(1 - 1/2)
        -0.693
    """
    _check_loss(loss)
    if loss == "minimax":
        return -ops.mean(ops.softplus(fake_logits))
    if loss == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))
    return -ops.mean(fake_logits)


def gradient_penalty(critic, real, fake, mix, critic_extra_inputs=None):
    """WGAN-GP penalty ``E[(||grad_x critic(x_hat)|| - 1)^2]`` on interpolations.

    ``x_hat = mix * real + (1 - mix) * fake``. The norm is ``sqrt(sum g^2 + 1e-12)`` so its
    gradient stays finite where ``g = 0`` (plain ``sqrt`` has an infinite slope there).

    Args:
        critic: a model mapping a batch (plus optional extra inputs) to logits.
        real: real batch.
        fake: generated batch of the same shape.
        mix: interpolation coefficients in [0, 1], shape ``(batch,)``.
        critic_extra_inputs: optional extra critic input (e.g. labels).

    Example:
        >>> import numpy as np
        >>> from aigc_tf.models.gan_networks import build_mlp_discriminator
        >>> critic = build_mlp_discriminator(data_dim=2)
        >>> x = np.zeros((4, 2), "float32")
        >>> float(gradient_penalty(critic, x, x, np.full((4,), 0.5, "float32"))) >= 0
        True
    """
    mix = ops.reshape(ops.cast(mix, real.dtype), (-1,) + (1,) * (len(real.shape) - 1))
    blended = mix * real + (1.0 - mix) * fake
    with tf.GradientTape() as tape:
        tape.watch(blended)
        inputs = blended if critic_extra_inputs is None else [blended, critic_extra_inputs]
        scores = critic(inputs, training=True)
    grads = tape.gradient(scores, blended)
    axes = tuple(range(1, len(real.shape)))
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=axes) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))
