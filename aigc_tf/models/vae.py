"""Variational autoencoders: the reparameterisation trick, the ELBO and an honest likelihood.

A VAE models ``p(x) = int p(x|z) p(z) dz`` with ``p(z) = N(0, I)`` and trains an encoder
``q(z|x) = N(mu(x), diag(sigma^2(x)))`` by maximising the evidence lower bound

    log p(x) >= ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)).

We minimise ``reconstruction + beta * KL`` per example, averaged over the batch, where
``reconstruction = -log p(x|z)`` for one sample ``z = mu + sigma * eps`` and the Gaussian KL
has the closed form ``-1/2 sum(1 + log sigma^2 - mu^2 - sigma^2)``. With ``beta = 1`` the loss
is the negative ELBO in nats. :meth:`VAE.log_likelihood` estimates ``log p(x)`` itself with
importance weighting (the IWAE bound), which tightens as the number of samples grows.

Decoders output *logits*; ``reconstruction="bce"`` is a Bernoulli likelihood on pixels in
[0, 1] and ``reconstruction="mse"`` a Gaussian with fixed variance 1/2, whose negative
log-likelihood is the summed squared error plus the constant ``D/2 log(pi)`` (the constant
is left out of the training loss and put back by :meth:`VAE.log_likelihood`).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf import data
from aigc_tf.data import first_batch
from aigc_tf.models.replicas import replica_loss
from aigc_tf.models.vae_losses import (
    RECONSTRUCTIONS,
    _standard_normal_log_pdf,
    gaussian_kl,
    reconstruction_loss,
)
from aigc_tf.models.vae_networks import (
    Sampling,
    build_conv_decoder,
    build_conv_encoder,
    build_mlp_decoder,
    build_mlp_encoder,
)

__all__ = ["CVAE", "RECONSTRUCTIONS", "VAE", "Sampling", "build_conv_decoder",
           "build_conv_encoder", "build_mlp_decoder", "build_mlp_encoder", "gaussian_kl",
           "reconstruction_loss"]


def _batches(arrays, batch_size):
    count = len(arrays[0])
    for start in range(0, count, batch_size):
        yield [a[start:start + batch_size] for a in arrays]


@keras.saving.register_keras_serializable(package="aigc_tf")
class VAE(keras.Model):
    """Variational autoencoder trained on ``reconstruction + beta * KL``.

    ``fit`` takes images in [0, 1] (or ``(images, anything)`` pairs); :meth:`sample` and
    :meth:`decode` return images in [0, 1] (pixel probabilities). The trackers
    ``loss``, ``reconstruction_loss`` and ``kl_loss`` are per-example averages over the
    epoch, and ``loss == reconstruction_loss + beta * kl_loss`` holds for the reported
    values, in training and in ``evaluate``. With ``beta = 1`` the loss is the negative
    ELBO in nats.

    Args:
        encoder: a model ``x -> [z_mean, z_log_var]`` (e.g. :func:`build_conv_encoder`).
        decoder: a model ``z -> logits`` with the image shape (e.g. :func:`build_conv_decoder`).
        beta: weight of the KL term, ``>= 0`` (1 gives the ELBO).
        reconstruction: ``"bce"`` (Bernoulli) or ``"mse"`` (Gaussian, fixed variance).
        seed: optional integer seed for the sampling noise.
        **kwargs: passed to ``keras.Model``.

    Example:
        >>> vae = VAE(build_conv_encoder(2), build_conv_decoder(2))
        >>> vae.compile(optimizer="adam")
        >>> from aigc_tf import data
        >>> x, _ = data.load_mnist("test")
        >>> history = vae.fit(x[:256], batch_size=64, epochs=1, verbose=0)
        >>> images = vae.sample(4, seed=0)
        >>> images.shape, bool(images.min() >= 0 and images.max() <= 1)
        ((4, 28, 28, 1), True)
        >>> bool(np.array_equal(images, vae.sample(4, seed=0)))  # same seed, same images
        True
    """

    def __init__(self, encoder, decoder, beta=1.0, reconstruction="bce", seed=None, **kwargs):
        super().__init__(**kwargs)
        if not float(beta) >= 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(
                f"reconstruction must be one of {RECONSTRUCTIONS}, got {reconstruction!r}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.reconstruction = reconstruction
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.prior_seed = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True  # all weights live in the encoder and decoder, built already

    @property
    def latent_dim(self):
        return int(self.decoder.inputs[0].shape[-1])

    @property
    def image_shape(self):
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    # -- conditioning hooks (the CVAE overrides these) --------------------------------------
    def _split(self, inputs):
        """``(images, conditions)`` from model inputs; conditions is a list of extra inputs."""
        if isinstance(inputs, (tuple, list)):
            inputs = inputs[0]
        return inputs, []

    def _unpack(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._split(x if y is None else (x, y))

    def _condition_inputs(self, labels, count):
        return []

    @staticmethod
    def _inputs(first, conditions):
        return [first, *conditions] if conditions else first

    def _check_images(self, x):
        """Shape check that also works on symbolic tensors inside the train step."""
        shape = tuple(x.shape[1:])
        if shape != self.image_shape:
            raise ValueError(
                f"images must have shape (N, {', '.join(map(str, self.image_shape))}), "
                f"got (N, {', '.join(map(str, shape))})"
            )
        return ops.cast(x, "float32")

    def _checked_images(self, images):
        """Images given to a public method, checked by :func:`aigc_tf.data.check_images`."""
        images = data.check_images(images, self.image_shape, value_range=(0, 1),
                                   why=" (the decoder's sigmoid output range)")
        return ops.convert_to_tensor(images, "float32")

    def check_data(self, x, y=None):
        """Raise ``ValueError`` for training data the model cannot use.

        Checks the images with :func:`aigc_tf.data.check_images` (shape, not empty, finite,
        in [0, 1]) and, for a :class:`CVAE`, that labels are integers in range. Arrays are
        checked whole, a ``tf.data.Dataset`` by its first batch (inside the compiled train
        step a bad value could no longer raise a readable error).
        """
        batch = first_batch(x) if y is None else (x, y)
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        if isinstance(inputs, (tuple, list)):
            inputs, labels = inputs[0], inputs[1] if len(inputs) > 1 else None
        self._condition_inputs(labels, len(self._checked_images(inputs)))

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` after :meth:`check_data` (and its ``validation_data``)."""
        self.check_data(x, y)
        if kwargs.get("validation_data") is not None:
            self.check_data(kwargs["validation_data"])
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """``keras.Model.evaluate`` after :meth:`check_data`."""
        self.check_data(x, y)
        return super().evaluate(x, y, **kwargs)

    # -- core computations -------------------------------------------------------------
    def _per_example_losses(self, x, conditions, training):
        z_mean, z_log_var = self.encoder(self._inputs(x, conditions), training=training)
        z = self.sampling([z_mean, z_log_var])
        logits = self.decoder(self._inputs(z, conditions), training=training)
        recon = reconstruction_loss(x, logits, self.reconstruction)
        return recon, gaussian_kl(z_mean, z_log_var)

    def _update_trackers(self, recon, kl):
        # Weight each batch by its size so uneven last batches average per example.
        batch = ops.shape(recon)[0]
        recon, kl = ops.mean(recon), ops.mean(kl)
        loss = recon + self.beta * kl
        for tracker, value in ((self.loss_tracker, loss), (self.reconstruction_tracker, recon),
                               (self.kl_tracker, kl)):
            tracker.update_state(value, sample_weight=batch)

    def train_step(self, data):
        x, conditions = self._unpack(data)
        x = self._check_images(x)
        with tf.GradientTape() as tape:
            recon, kl = self._per_example_losses(x, conditions, training=True)
            loss = replica_loss(ops.mean(recon) + self.beta * ops.mean(kl))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        self._update_trackers(recon, kl)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, conditions = self._unpack(data)
        recon, kl = self._per_example_losses(self._check_images(x), conditions, training=False)
        self._update_trackers(recon, kl)
        return {m.name: m.result() for m in self.metrics}

    def call(self, inputs, training=False):
        """Reconstruct images (pixel probabilities) from the posterior means."""
        x, conditions = self._split(inputs)
        z_mean, _ = self.encoder(self._inputs(self._check_images(x), conditions),
                                 training=training)
        return ops.sigmoid(self.decoder(self._inputs(z_mean, conditions), training=training))

    # -- public helpers (NumPy in, NumPy out) -------------------------------------------
    def encode(self, images, labels=None, batch_size=500):
        """Posterior parameters ``(z_mean, z_log_var)`` as NumPy arrays."""
        images = self._checked_images(images)
        conditions = self._condition_inputs(labels, len(images))
        means, log_vars = [], []
        for batch in _batches([images, *conditions], batch_size):
            z_mean, z_log_var = self.encoder(self._inputs(batch[0], batch[1:]), training=False)
            means.append(ops.convert_to_numpy(z_mean))
            log_vars.append(ops.convert_to_numpy(z_log_var))
        return np.concatenate(means), np.concatenate(log_vars)

    def decode(self, z, labels=None, batch_size=500):
        """Pixel probabilities ``sigmoid(decoder(z))`` in [0, 1], shape ``(N, 28, 28, 1)``."""
        z = ops.convert_to_tensor(data.check_images(z, (self.latent_dim,), name="z"), "float32")
        conditions = self._condition_inputs(labels, len(z))
        outputs = [ops.convert_to_numpy(ops.sigmoid(
            self.decoder(self._inputs(batch[0], batch[1:]), training=False)))
            for batch in _batches([z, *conditions], batch_size)]
        return np.concatenate(outputs)

    def reconstruct(self, images, labels=None):
        """Decode the posterior mean of each image: pixel probabilities."""
        z_mean, _ = self.encode(images, labels)
        return self.decode(z_mean, labels)

    def sample_latent(self, n, seed=None):
        """``n`` draws from the prior ``N(0, I)`` as a NumPy array ``(n, latent_dim)``.

        Args:
            n: number of draws (>= 1).
            seed: integer seed for repeatable draws (None: the model's own noise stream).
        """
        shape = (data.check_count(n), self.latent_dim)
        return ops.convert_to_numpy(
            keras.random.normal(shape, seed=self.prior_seed if seed is None else seed))

    def sample(self, n, seed=None):
        """Generate ``n`` images in [0, 1]: ``z ~ N(0, I)``, then ``sigmoid(decoder(z))``.

        Args:
            n: number of images (>= 1).
            seed: integer seed for repeatable images (None: fresh draws each call).

        Returns:
            Pixel probabilities, NumPy ``(n, 28, 28, 1)``.
        """
        return self.decode(self.sample_latent(n, seed))

    def _log_p_x_given_z(self, x, logits):
        log_p = -reconstruction_loss(x, logits, self.reconstruction)
        if self.reconstruction == "mse":  # Gaussian with variance 1/2: normaliser pi^(-D/2)
            log_p = log_p - 0.5 * float(np.prod(self.image_shape)) * math.log(math.pi)
        return log_p

    def _importance_log_weights(self, x, conditions, k):
        """``log p(x|z_i) + log p(z_i) - log q(z_i|x)`` for k draws per image: ``(N, k)``."""
        z_mean, z_log_var = self.encoder(self._inputs(x, conditions), training=False)
        count = ops.shape(z_mean)[0]
        eps = keras.random.normal((count, k, self.latent_dim), seed=self.sampling.seed_generator)
        std = ops.exp(0.5 * z_log_var)[:, None, :]
        z = z_mean[:, None, :] + std * eps
        log_q = _standard_normal_log_pdf(eps) - ops.sum(ops.log(std), axis=-1)
        log_prior = _standard_normal_log_pdf(z)
        flat_z = ops.reshape(z, (-1, self.latent_dim))
        flat_conditions = [ops.repeat(c, k, axis=0) for c in conditions]
        logits = self.decoder(self._inputs(flat_z, flat_conditions), training=False)
        log_lik = self._log_p_x_given_z(ops.repeat(x, k, axis=0), logits)
        return ops.reshape(log_lik, (count, k)) + log_prior - log_q

    def log_likelihood(self, images, k=100, labels=None, images_per_batch=None):
        """Importance-weighted estimate of ``log p(x)`` (the IWAE bound with ``k`` samples).

        ``log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)``, ``z_i ~ q(z|x)``. Its
        expectation is a lower bound on ``log p(x)`` that never decreases with ``k``; ``k=1``
        is the (single-sample) ELBO. For a CVAE pass ``labels``: it then estimates
        ``log p(x|y)``.

        Args:
            images: images in [0, 1], shape ``(N, 28, 28, 1)``.
            k: importance samples per image.
            labels: class labels (CVAE only).
            images_per_batch: images per decoder call (default: about 4,000 decodes).

        Returns:
            dict with ``log_px`` (NumPy ``(N,)``, nats), ``nll_nats`` (mean ``-log p(x)``) and
            ``bits_per_dim`` (``nll_nats / (D ln 2)``, D = pixels).

        Example:
            >>> result = vae.log_likelihood(x_test[:100], k=50)  # doctest: +SKIP
            >>> result["nll_nats"], result["bits_per_dim"]  # doctest: +SKIP
        """
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        images = self._checked_images(images)
        conditions = self._condition_inputs(labels, len(images))
        per_batch = images_per_batch or max(1, 4000 // k)
        log_px = []
        for batch in _batches([images, *conditions], per_batch):
            log_w = self._importance_log_weights(batch[0], batch[1:], k)
            log_px.append(ops.convert_to_numpy(ops.logsumexp(log_w, axis=1) - math.log(k)))
        log_px = np.concatenate(log_px).astype("float64")
        nll = float(-log_px.mean())
        dims = float(np.prod(self.image_shape))
        return {"log_px": log_px, "nll_nats": nll, "bits_per_dim": nll / (dims * math.log(2))}

    def elbo(self, images, labels=None, batch_size=500):
        """Per-example ELBO in nats (one reparameterised sample, closed-form KL), ``(N,)``.

        This is the ``beta = 1`` bound whatever the model's ``beta``.
        """
        images = self._checked_images(images)
        conditions = self._condition_inputs(labels, len(images))
        values = []
        for batch in _batches([images, *conditions], batch_size):
            x, rest = batch[0], batch[1:]
            z_mean, z_log_var = self.encoder(self._inputs(x, rest), training=False)
            z = self.sampling([z_mean, z_log_var])
            logits = self.decoder(self._inputs(z, rest), training=False)
            value = self._log_p_x_given_z(x, logits) - gaussian_kl(z_mean, z_log_var)
            values.append(ops.convert_to_numpy(value))
        return np.concatenate(values).astype("float64")

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "reconstruction": self.reconstruction,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("encoder", "decoder"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


@keras.saving.register_keras_serializable(package="aigc_tf")
class CVAE(VAE):
    """Conditional VAE: ``q(z|x, y)`` and ``p(x|z, y)`` both see the one-hot label ``y``.

    Build the encoder and decoder with ``num_classes`` set, then ``fit`` on
    ``(images, labels)`` pairs with integer labels in ``[0, num_classes)``. The networks
    take one-hot labels; every public method takes integer labels (or one-hot rows).

    Args:
        encoder: a model ``[x, one_hot(y)] -> [z_mean, z_log_var]``.
        decoder: a model ``[z, one_hot(y)] -> logits``.
        num_classes: number of labels (must match the one-hot inputs of both networks).
        **kwargs: ``beta``, ``reconstruction``, ``seed`` and ``keras.Model`` arguments.

    Example:
        >>> cvae = CVAE(build_conv_encoder(8, num_classes=10),
        ...             build_conv_decoder(8, num_classes=10), num_classes=10)
        >>> cvae.generate([3, 3, 7], seed=0).shape
        (3, 28, 28, 1)
        >>> cvae.sample(12, seed=0).shape  # labels 0, 1, ..., 9, 0, 1
        (12, 28, 28, 1)
    """

    def __init__(self, encoder, decoder, num_classes=10, **kwargs):
        super().__init__(encoder, decoder, **kwargs)
        for part in (encoder, decoder):
            if len(part.inputs) != 2 or part.inputs[1].shape[-1] != num_classes:
                raise ValueError(
                    f"the {part.name} must take two inputs, the second a one-hot label of "
                    f"size num_classes={num_classes}; build it with num_classes={num_classes}"
                )
        self.num_classes = int(num_classes)

    def _one_hot(self, labels):
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)

    def _split(self, inputs):
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise ValueError("a CVAE needs (images, labels) pairs")
        return inputs[0], [self._one_hot(inputs[1])]

    def _condition_inputs(self, labels, count):
        if labels is None:
            raise ValueError("a CVAE needs labels")
        return [self._one_hot(data.as_labels(labels, self.num_classes, count))]

    def generate(self, labels, seed=None, z=None):
        """Images of the requested classes in [0, 1]: ``sigmoid(decoder(z, one_hot(labels)))``.

        Args:
            labels: integer labels ``(N,)`` in ``[0, num_classes)`` (or one-hot rows).
            seed: integer seed of the prior draws for repeatable images (None: fresh draws).
            z: optional latent codes ``(N, latent_dim)`` instead of prior draws; reuse one
                ``z`` with different labels to keep the style and change the class.

        Returns:
            Pixel probabilities, NumPy ``(N, 28, 28, 1)``.
        """
        labels = data.as_labels(labels, self.num_classes)
        z = self.sample_latent(len(labels), seed) if z is None else z
        return self.decode(z, labels)

    def sample(self, n, seed=None):
        """``n`` images with labels cycling through ``0, 1, ..., num_classes - 1``, in [0, 1]."""
        return self.generate(np.arange(data.check_count(n)) % self.num_classes, seed)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
