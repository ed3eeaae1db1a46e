"""Conditional GANs: :class:`ConditionalGAN`, a :class:`~aigc_tf.models.gan_model.GAN` whose
hooks pass the class label to both networks. Build the networks with ``num_classes`` (see
:mod:`aigc_tf.models.gan_networks`); import the class from :mod:`aigc_tf.models.gan`.
"""

import keras
import numpy as np
from keras import ops

from aigc_tf import data
from aigc_tf.models.gan_model import GAN


@keras.saving.register_keras_serializable(package="aigc_tf")
class ConditionalGAN(GAN):
    """A GAN whose networks both see the class label: ``G(z, y)`` and ``D(x, y)``.

    Train it on ``(images, labels)`` batches; fakes are generated for the real batch's labels.

    :meth:`generate` draws images of requested classes and :meth:`sample` of every class in
    turn, in [0, 1] like every image model of the course.

    Args:
        generator: model mapping ``[noise, labels]`` to samples.
        discriminator: model mapping ``[samples, labels]`` to logits.
        num_classes: number of labels; None reads it from the networks' label embeddings.
        **kwargs: as for :class:`GAN`.

    Example:
        >>> from aigc_tf.models.gan_networks import build_dcgan_discriminator, build_dcgan_generator
        >>> generator = build_dcgan_generator(latent_dim=32, num_classes=10)
        >>> discriminator = build_dcgan_discriminator(num_classes=10)
        >>> cgan = ConditionalGAN(generator, discriminator)
        >>> cgan.num_classes, cgan.generate([3, 7], seed=0).shape
        (10, (2, 28, 28, 1))
        >>> cgan.sample(12, seed=0).shape  # labels 0, 1, ..., 9, 0, 1
        (12, 28, 28, 1)
    """

    def __init__(self, generator, discriminator, num_classes=None, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.num_classes = _check_num_classes(generator, discriminator, num_classes)

    def _unpack(self, batch):
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("a ConditionalGAN trains on (images, labels) pairs")
        return batch[0], ops.cast(batch[1], "int32")

    def _generator_inputs(self, noise, condition):
        return [noise, condition]

    def _discriminator_inputs(self, samples, condition):
        return [samples, condition]

    def _check_condition(self, condition, count):
        data.as_labels(condition, self.num_classes, count)

    def generate(self, labels, seed=None, z=None):
        """One image per requested label, in [0, 1].

        Args:
            labels: integer labels ``(n,)`` in ``[0, num_classes)`` (or one-hot rows).
            seed: integer seed of the noise for repeatable images (None: fresh noise).
            z: optional noise ``(n, latent_dim)`` instead of drawing it; reuse one ``z`` with
                different labels to keep the style and change the class.

        Returns:
            A NumPy array ``(n, *sample_shape)`` of images in [0, 1].
        """
        labels = data.as_labels(labels, self.num_classes)
        z = self._latent(len(labels), seed) if z is None else self._checked_latent(z, len(labels))
        return self._run_generator(z, labels)

    def sample(self, n, seed=None):
        """``n`` images with labels cycling through ``0, 1, ..., num_classes - 1``, in [0, 1]."""
        return self.generate(np.arange(data.check_count(n)) % self.num_classes, seed)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def _check_num_classes(generator, discriminator, num_classes):
    """``num_classes``, or the size of the networks' label embeddings when it is None."""
    if num_classes is None:
        sizes = _embedding_sizes(generator)
        if len(sizes) != 1:
            raise ValueError("cannot read the number of classes from the generator's label "
                             "embedding; pass num_classes")
        num_classes = sizes.pop()
    num_classes = data.check_count(num_classes, "num_classes")
    for role, model in (("generator", generator), ("discriminator", discriminator)):
        sizes = _embedding_sizes(model) - {num_classes}
        if sizes:
            raise ValueError(
                f"the {role} embeds {sorted(sizes)} classes but num_classes is "
                f"{num_classes}; build it with num_classes={num_classes}"
            )
    return num_classes


def _embedding_sizes(model):
    return {layer.input_dim for layer in model.layers if isinstance(layer, keras.layers.Embedding)}
