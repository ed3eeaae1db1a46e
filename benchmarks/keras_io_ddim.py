"""A pixel-space diffusion model written the way keras-io's DDIM example writes it (our code).

The reference of ``diffusion_benchmark.py``. It follows keras-io's "Denoising Diffusion
Implicit Models" (examples/generative/ddim.py, A. Béres, 2022) in every setting that
matters on a CPU budget:

* a residual U-Net with widths ``[32, 64, 96, 128]`` and block depth 2 (BatchNorm without
  centre and scale, swish convolutions, average pooling, bilinear upsampling, zero-initialised
  output), fed the noise *variance* through 32 sinusoidal features (frequencies 1 to 1,000)
  concatenated to the first feature map;
* continuous diffusion time with the example's cosine-ish schedule: the angle runs linearly
  from ``arccos(0.95)`` to ``arccos(0.02)``, signal rate ``cos``, noise rate ``sin``;
* pixels normalised to zero mean and unit variance (its ``Normalization`` layer);
* the loss: mean absolute error on the noise; AdamW (1e-3, weight decay 1e-4); batch 64;
  EMA of the weights with decay 0.999;
* deterministic DDIM sampling (its ``reverse_diffusion``), 20 steps as in its plots.

The one change MNIST forces: the U-Net halves the resolution three times, so 28x28 digits are
padded to 32x32 with zeros (background) and the samples cropped back.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

WIDTHS = (32, 64, 96, 128)
BLOCK_DEPTH = 2
EMBEDDING_DIMS = 32
EMBEDDING_MAX_FREQUENCY = 1000.0
MIN_SIGNAL_RATE = 0.02
MAX_SIGNAL_RATE = 0.95
BATCH_SIZE = 64
EMA = 0.999
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4
SAMPLING_STEPS = 20
PADDED_SIZE = 32
PAD = (PADDED_SIZE - 28) // 2


class NoiseVarianceEmbedding(keras.layers.Layer):
    """keras-io's ``sinusoidal_embedding``: ``[sin(2 pi f x), cos(2 pi f x)]`` of a variance."""

    def call(self, variances):
        frequencies = np.exp(np.linspace(0.0, math.log(EMBEDDING_MAX_FREQUENCY),
                                         EMBEDDING_DIMS // 2))
        speeds = ops.convert_to_tensor(2.0 * math.pi * frequencies, "float32")
        return ops.concatenate([ops.sin(speeds * variances), ops.cos(speeds * variances)],
                               axis=-1)


def _residual_block(x, width):
    residual = x if x.shape[-1] == width else keras.layers.Conv2D(width, 1)(x)
    x = keras.layers.BatchNormalization(center=False, scale=False)(x)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="swish")(x)
    x = keras.layers.Conv2D(width, 3, padding="same")(x)
    return keras.layers.Add()([x, residual])


def build_network(widths=WIDTHS, block_depth=BLOCK_DEPTH, size=PADDED_SIZE):
    """keras-io's ``get_network`` for ``size x size x 1`` images."""
    noisy_images = keras.Input((size, size, 1))
    noise_variances = keras.Input((1, 1, 1))
    e = NoiseVarianceEmbedding()(noise_variances)
    e = keras.layers.UpSampling2D(size=size, interpolation="nearest")(e)
    x = keras.layers.Concatenate()([keras.layers.Conv2D(widths[0], 1)(noisy_images), e])
    skips = []
    for width in widths[:-1]:
        for _ in range(block_depth):
            x = _residual_block(x, width)
            skips.append(x)
        x = keras.layers.AveragePooling2D(2)(x)
    for _ in range(block_depth):
        x = _residual_block(x, widths[-1])
    for width in reversed(widths[:-1]):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
        for _ in range(block_depth):
            x = _residual_block(keras.layers.Concatenate()([x, skips.pop()]), width)
    output = keras.layers.Conv2D(1, 1, kernel_initializer="zeros")(x)
    return keras.Model([noisy_images, noise_variances], output, name="residual_unet")


def pad_digits(images):
    """``(N, 28, 28, 1)`` in [0, 1] to ``(N, 32, 32, 1)``, zero (background) borders."""
    return np.pad(np.asarray(images, "float32"), ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)))


class KerasIoDiffusion(keras.Model):
    """keras-io's ``DiffusionModel`` training step and sampler, for padded MNIST digits."""

    def __init__(self, images, widths=WIDTHS, block_depth=BLOCK_DEPTH, seed=0, **kwargs):
        super().__init__(**kwargs)
        padded = pad_digits(images)
        self.mean, self.std = float(padded.mean()), float(padded.std())
        self.network = build_network(widths, block_depth)
        self.ema_network = keras.models.clone_model(self.network)
        self.ema_network.set_weights(self.network.get_weights())
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.noise_loss_tracker = keras.metrics.Mean(name="n_loss")

    @property
    def metrics(self):
        return [self.noise_loss_tracker]

    @staticmethod
    def diffusion_schedule(times):
        start, end = math.acos(MAX_SIGNAL_RATE), math.acos(MIN_SIGNAL_RATE)
        angles = start + times * (end - start)
        return ops.sin(angles), ops.cos(angles)  # noise rates, signal rates

    def denoise(self, noisy, noise_rates, signal_rates, training):
        network = self.network if training else self.ema_network
        pred_noises = network([noisy, noise_rates**2], training=training)
        return pred_noises, (noisy - noise_rates * pred_noises) / signal_rates

    def train_step(self, images):
        images = (images - self.mean) / self.std
        count = ops.shape(images)[0]
        noises = keras.random.normal(ops.shape(images), seed=self.seed_generator)
        times = keras.random.uniform((count, 1, 1, 1), seed=self.seed_generator)
        noise_rates, signal_rates = self.diffusion_schedule(times)
        noisy = signal_rates * images + noise_rates * noises
        with tf.GradientTape() as tape:
            pred_noises, _ = self.denoise(noisy, noise_rates, signal_rates, training=True)
            loss = ops.mean(ops.abs(noises - pred_noises))
        weights = self.network.trainable_weights
        self.optimizer.apply(tape.gradient(loss, weights), weights)
        for weight, average in zip(self.network.weights, self.ema_network.weights, strict=True):
            average.assign(EMA * average + (1.0 - EMA) * weight)
        self.noise_loss_tracker.update_state(loss)
        return {"n_loss": self.noise_loss_tracker.result()}

    @tf.function
    def _reverse_diffusion(self, noise, steps):
        step_size = 1.0 / ops.cast(steps, "float32")
        count = ops.shape(noise)[0]
        next_noisy, pred_images = noise, noise
        for step in tf.range(steps):
            times = ops.ones((count, 1, 1, 1)) - ops.cast(step, "float32") * step_size
            noise_rates, signal_rates = self.diffusion_schedule(times)
            pred_noises, pred_images = self.denoise(next_noisy, noise_rates, signal_rates,
                                                    training=False)
            next_noise_rates, next_signal_rates = self.diffusion_schedule(times - step_size)
            next_noisy = next_signal_rates * pred_images + next_noise_rates * pred_noises
        return pred_images

    def sample(self, n, seed=0, steps=SAMPLING_STEPS, batch_size=250):
        """``n`` digits in [0, 1], shape ``(n, 28, 28, 1)`` (DDIM, ``steps`` steps)."""
        rng = np.random.default_rng(seed)
        chunks = []
        for start in range(0, n, batch_size):
            noise = rng.standard_normal((min(batch_size, n - start), PADDED_SIZE, PADDED_SIZE, 1))
            images = self._reverse_diffusion(tf.constant(noise, "float32"), tf.constant(steps))
            chunks.append(np.clip(ops.convert_to_numpy(images) * self.std + self.mean, 0, 1))
        return np.concatenate(chunks)[:, PAD:PAD + 28, PAD:PAD + 28, :]


def build_reference(images, widths=WIDTHS, block_depth=BLOCK_DEPTH, seed=0):
    """The compiled reference model for ``images`` in [0, 1]; train it on ``pad_digits``.

    The example's sizes are the defaults; smaller ones are only for smoke tests.
    """
    model = KerasIoDiffusion(images, widths, block_depth, seed=seed)
    model.compile(optimizer=keras.optimizers.AdamW(LEARNING_RATE, weight_decay=WEIGHT_DECAY))
    return model
