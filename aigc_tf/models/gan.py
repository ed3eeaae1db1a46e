"""Generative adversarial networks: the public names of the GAN family, one module per role.

* :mod:`aigc_tf.models.gan_model`: :class:`GAN`, its training step, sampling and gradient norms;
* :mod:`aigc_tf.models.conditional_gan`: :class:`ConditionalGAN`, both networks see the label;
* :mod:`aigc_tf.models.gan_losses`: the objectives and the WGAN-GP gradient penalty;
* :mod:`aigc_tf.models.gan_networks`: MLP (2-D toy) and DCGAN (MNIST) generators and
  discriminators;
* :func:`mode_coverage`, from :mod:`aigc_tf.metrics.points`: modes a 2-D toy GAN covers.

A discriminator ``D`` (outputting logits ``l``, so ``D(x) = sigmoid(l)``) learns to tell real
images from generated ones; a generator ``G`` learns to fool it. Three objectives:

* ``"minimax"``: ``L_G = E[log(1 - D(G(z)))] = -E[softplus(l_fake)]`` (saturates when ``D`` wins);
* ``"non_saturating"``: ``L_G = -E[log D(G(z))] = E[softplus(-l_fake)]``;
* ``"wgan_gp"``: a critic with ``L_D = E[l_fake] - E[l_real] + lambda * GP``, ``L_G = -E[l_fake]``.

The first two share the discriminator loss
``L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = E[softplus(-l_real)] + E[softplus(l_fake)]``.

Importing this module registers both model classes, so their ``.keras`` files load.
"""

from aigc_tf.metrics.points import mode_coverage
from aigc_tf.models.conditional_gan import ConditionalGAN
from aigc_tf.models.gan_losses import (
    LOSSES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
)
from aigc_tf.models.gan_model import GAN, SAMPLE_BATCH, UPDATES
from aigc_tf.models.gan_networks import (
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
)

__all__ = ["GAN", "LOSSES", "SAMPLE_BATCH", "UPDATES", "ConditionalGAN",
           "build_dcgan_discriminator", "build_dcgan_generator", "build_mlp_discriminator",
           "build_mlp_generator", "discriminator_loss", "generator_loss", "gradient_penalty",
           "mode_coverage"]
