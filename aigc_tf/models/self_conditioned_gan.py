"""A self-conditioned GAN: an unconditional image generator built from a conditional one.

An unconditional generator maps a connected Gaussian latent space continuously onto images, so
between two digit "islands" it has to pass through blends that look like no digit. A discrete
input removes the bridges: cluster the training images with k-means (no labels needed), train a
conditional GAN on ``(image, cluster)`` pairs, and sample from the mixture

    p(x) = sum_k pi_k p_G(x | k),    pi_k = share of training images in cluster k.

After Liu et al., "Diverse Image Generation via Self-Conditioned GANs" (CVPR 2020), who cluster
discriminator features during training; clustering the pixels once is enough for MNIST.
"""

import keras
import numpy as np
from keras import ops

from aigc_tf import clustering, data
from aigc_tf.models.gan import ConditionalGAN


@keras.saving.register_keras_serializable(package="aigc_tf")
class SelfConditionedGAN(ConditionalGAN):
    """A GAN whose networks see a k-means cluster of the data instead of a label.

    Call :meth:`cluster` on the training images first: it runs k-means on their pixels, keeps
    each cluster's share of the data (saved with the model) and returns ``(images, clusters)``
    to train on. :meth:`sample` then draws a cluster ``k ~ pi`` and noise for every sample;
    :meth:`generate` draws images of requested clusters. Both return images in [0, 1].

    Args:
        generator: model mapping ``[noise, cluster ids]`` to samples.
        discriminator: model mapping ``[samples, cluster ids]`` to logits.
        num_clusters: number of k-means clusters (the networks' number of classes).
        **kwargs: as for :class:`aigc_tf.models.gan.GAN`.

    Example:
        >>> from aigc_tf.models.gan import build_dcgan_discriminator, build_dcgan_generator
        >>> gan = SelfConditionedGAN(build_dcgan_generator(latent_dim=16, num_classes=4),
        ...                          build_dcgan_discriminator(num_classes=4), num_clusters=4)
        >>> images = np.random.default_rng(0).uniform(-1, 1, (40, 28, 28, 1)).astype("float32")
        >>> images, clusters = gan.cluster(images)
        >>> gan.sample(3, seed=0).shape
        (3, 28, 28, 1)
    """

    def __init__(self, generator, discriminator, num_clusters, **kwargs):
        num_clusters = data.check_count(num_clusters, "num_clusters")
        kwargs.pop("num_classes", None)  # always num_clusters
        super().__init__(generator, discriminator, num_classes=num_clusters, **kwargs)
        self.num_clusters = num_clusters
        self.cluster_shares = self.add_weight(
            shape=(self.num_clusters,), name="cluster_shares", trainable=False,
            initializer=keras.initializers.Constant(1.0 / self.num_clusters))

    def cluster(self, images, seed=0, iterations=20):
        """k-means on the flattened ``images``; stores the cluster shares ``pi_k``.

        Args:
            images: the training images, in the generator's output range.
            seed: seed of the k-means++ seeding.
            iterations: Lloyd iterations.

        Returns:
            ``(images, clusters)``, ready for ``aigc_tf.data.make_dataset``.
        """
        images = self.check_real_data(images).astype("float32")
        _, clusters = clustering.kmeans(images.reshape(len(images), -1), self.num_clusters,
                                        seed=seed, iterations=iterations)
        counts = np.bincount(clusters, minlength=self.num_clusters)
        self.cluster_shares.assign(counts / counts.sum())
        return images, clusters.astype("int32")

    def sample(self, n, seed=None):
        """Draw ``n`` images in [0, 1]: a cluster ``k ~ pi`` and Gaussian noise for each.

        Args:
            n: number of images (>= 1).
            seed: integer seed for repeatable samples (None: fresh clusters and noise).
        """
        n = data.check_count(n)
        rng = np.random.default_rng(seed)
        shares = ops.convert_to_numpy(self.cluster_shares).astype("float64")
        clusters = rng.choice(self.num_clusters, size=n, p=shares / shares.sum())
        noise = rng.standard_normal((n, self.latent_dim)).astype("float32")
        return self.generate(clusters, z=noise)

    def get_config(self):
        config = super().get_config()
        del config["num_classes"]  # the same as num_clusters
        config["num_clusters"] = self.num_clusters
        return config
