"""DCGAN on MNIST: our GAN class vs a plain loop written the way the TF DCGAN tutorial does.

Two measurements in one run, on the same data (whatever ``load_mnist`` gives: the offline
4,000-image subset on a machine without the Keras dataset file):

1. Throughput on the SAME architecture (the tutorial's networks, batch 256, Adam 1e-4):
   the reference ``tf.function`` + ``GradientTape`` step vs ``aigc_tf.models.gan.GAN``,
   timed in turns. Like for like, ``GAN(update="simultaneous")`` runs the tutorial's
   algorithm (both networks updated from one forward pass), with and without XLA (fixed
   batch shapes). The default ``update="alternating"`` scores the fakes again with the
   updated discriminator: one more discriminator forward pass per step, also timed. Rates
   count from the first step's end to the last step's end (see ``BatchClock``).
2. Quality after the same wall-clock budget: the tutorial recipe vs our CPU-sized DCGAN
   (small networks, batch 64, Adam 2e-4 with beta1 0.5), plain and self-conditioned (the
   same networks conditioned on k-means clusters of the pixels; no labels, and the clustering
   counts against its budget). 1,000 samples each are scored with the library's metric suite
   (``aigc_tf.metrics.evaluate_images``): MNIST-FD and KID against the held-out digits (with
   the real-versus-real FD floor at the same sample size), precision and recall, within-class
   diversity, class balance (total-variation distance to the real class shares), the judge's
   confident share (confidence >= 0.9) and the share of near-copies of training images.
   Confidence alone rewards collapse; read it beside diversity and recall.

Usage:
    python benchmarks/dcgan_benchmark.py --budget-seconds 300
"""

import argparse
import time
from functools import partial

import keras
import numpy as np
import tensorflow as tf

from aigc_tf import config, data
from aigc_tf.callbacks import TimeBudget
from aigc_tf.metrics.images import evaluate_images
from aigc_tf.models.gan import GAN, build_dcgan_discriminator, build_dcgan_generator
from aigc_tf.models.self_conditioned_gan import SelfConditionedGAN

TUTORIAL_LATENT = 100
TUTORIAL_BATCH = 256
REFERENCE_LABEL = "reference tf.function loop"
NUM_CLUSTERS = 50


def tutorial_generator():
    """The TF tutorial's generator: Dense 7x7x256, Conv2DTranspose 128 -> 64 -> 1 (5x5)."""
    return keras.Sequential([
        keras.Input((TUTORIAL_LATENT,)),
        keras.layers.Dense(7 * 7 * 256, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Reshape((7, 7, 256)),
        keras.layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(),
        keras.layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                     activation="tanh"),
    ])


def tutorial_discriminator():
    """The TF tutorial's discriminator: Conv 64 -> 128 (5x5, stride 2), Dropout 0.3, logit."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(64, 5, strides=2, padding="same"),
        keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Conv2D(128, 5, strides=2, padding="same"),
        keras.layers.LeakyReLU(),
        keras.layers.Dropout(0.3),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ])


class BatchClock(keras.callbacks.Callback):
    """Images/s between the first and the last batch end.

    Leaves out what happens before the first step and after the last: deleting a
    ``tf.data`` iterator at the end of a loop or a ``fit`` sometimes blocks for seconds on
    this machine, which would swamp a 20-step timing.
    """

    def __init__(self, batch_size=None):
        super().__init__()
        self.batch_size = batch_size
        self.ticks = []

    def tick(self, images):
        self.ticks.append((time.perf_counter(), images))

    def on_train_batch_end(self, batch, logs=None):
        self.tick(self.batch_size)

    def rate(self):
        (first, _), (last, _) = self.ticks[0], self.ticks[-1]
        return sum(images for _, images in self.ticks[1:]) / (last - first)


class ReferenceLoop:
    """A hand-written GAN step in the style of the TF tutorial (tf.function + GradientTape)."""

    def __init__(self, generator, discriminator, learning_rate=1e-4):
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer = keras.optimizers.Adam(learning_rate)
        self.d_optimizer = keras.optimizers.Adam(learning_rate)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(self, images):
        noise = tf.random.normal([tf.shape(images)[0], TUTORIAL_LATENT])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            real_out = self.discriminator(images, training=True)
            fake_out = self.discriminator(fake, training=True)
            g_loss = self.bce(tf.ones_like(fake_out), fake_out)
            d_loss = (self.bce(tf.ones_like(real_out), real_out)
                      + self.bce(tf.zeros_like(fake_out), fake_out))
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars, strict=True))

    def train(self, images, max_steps=None, budget_seconds=None):
        """Run steps over shuffled batches until ``max_steps`` or the time budget.

        Returns ``(steps, images/s)``; like the tutorial, the last batch of each pass is short.
        """
        dataset = (tf.data.Dataset.from_tensor_slices(images)
                   .shuffle(len(images)).batch(TUTORIAL_BATCH).repeat())
        start, steps, clock = time.perf_counter(), 0, BatchClock()
        for batch in dataset:
            self.step(batch)
            steps += 1
            clock.tick(len(batch))
            if max_steps is not None and steps >= max_steps:
                break
            if budget_seconds is not None and time.perf_counter() - start >= budget_seconds:
                break
        return steps, clock.rate()


def our_gan(generator, discriminator, learning_rate, beta_1, jit_compile=False, cls=GAN,
            **kwargs):
    gan = cls(generator, discriminator, seed=0, **kwargs)
    gan.compile(keras.optimizers.Adam(learning_rate, beta_1),
                keras.optimizers.Adam(learning_rate, beta_1), jit_compile=jit_compile)
    return gan


def fit_steps(gan, arrays, batch_size, steps=None, budget_seconds=None):
    """Train ``gan`` on ``arrays`` (images, or a tuple of images and conditions) for ``steps``
    steps or ``budget_seconds``; returns ``(steps, images/s)``."""
    dataset = data.make_dataset(arrays, batch_size, drop_remainder=True, repeat=True)
    budget = TimeBudget(budget_seconds or float("inf"), final_lr_fraction=1.0)
    clock = BatchClock(batch_size)  # fixed batch shapes: every batch is full
    examples = len(arrays[0] if isinstance(arrays, tuple) else arrays)
    steps_per_epoch = steps or examples // batch_size
    epochs = 1 if steps else 10_000
    gan.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0,
            callbacks=[budget, clock])
    return budget.steps, clock.rate()


def _fit_rate(gan, images, steps):
    return fit_steps(gan, images, TUTORIAL_BATCH, steps=steps)[1]


OUR_STEPS = {  # label: (update, jit_compile)
    "aigc_tf GAN, simultaneous": ("simultaneous", False),
    "aigc_tf GAN, simultaneous, XLA": ("simultaneous", True),
    "aigc_tf GAN, alternating": ("alternating", False),
}


def throughput(images, steps, rounds=5):
    """Median images/s on the tutorial architecture, by label: the reference loop and the
    variants of our GAN in ``OUR_STEPS``.

    After a warm-up (tracing, XLA compilation) they take turns, ``rounds`` times ``steps``
    steps each, so a change in machine load hits all alike.
    """
    config.set_seed(0)
    reference = ReferenceLoop(tutorial_generator(), tutorial_discriminator())
    reference.train(images, max_steps=2)  # tracing
    # Each runner returns images/s.
    runners = {REFERENCE_LABEL: lambda: reference.train(images, max_steps=steps)[1]}
    for label, (update, jit) in OUR_STEPS.items():
        config.set_seed(0)
        gan = our_gan(tutorial_generator(), tutorial_discriminator(), 1e-4, 0.9, jit_compile=jit,
                      update=update)
        fit_steps(gan, images, TUTORIAL_BATCH, steps=2)  # tracing / XLA compilation
        runners[label] = partial(_fit_rate, gan, images, steps)
    rates = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            rates[name].append(run())
    return {name: float(np.median(values)) for name, values in rates.items()}


def gaussian_noise(samples, latent_dim):
    return np.random.default_rng(123).standard_normal((samples, latent_dim)).astype("float32")


def self_conditioned_run(images, budget_seconds):
    """Cluster, then train the self-conditioned DCGAN for the rest of the budget."""
    start = time.perf_counter()
    gan = our_gan(build_dcgan_generator(latent_dim=64, num_classes=NUM_CLUSTERS),
                  build_dcgan_discriminator(num_classes=NUM_CLUSTERS), 2e-4, 0.5,
                  cls=SelfConditionedGAN, num_clusters=NUM_CLUSTERS)
    training_pairs = gan.cluster(images)
    steps, rate = fit_steps(gan, training_pairs, 64,
                            budget_seconds=budget_seconds - (time.perf_counter() - start))
    return gan, steps, rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-seconds", type=float, default=300,
                        help="training time per recipe in the quality comparison")
    parser.add_argument("--throughput-steps", type=int, default=20,
                        help="timed steps per implementation and round (batch 256)")
    parser.add_argument("--throughput-rounds", type=int, default=5,
                        help="timed rounds per implementation, taken in turns (median reported)")
    parser.add_argument("--samples", type=int, default=1000, help="samples scored per recipe")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)

    config.quiet_tf()
    images, _ = data.load_mnist("train", value_range=(-1, 1))
    rows = []
    if not args.skip_throughput:
        rates = throughput(images, args.throughput_steps, args.throughput_rounds)
        print(f"\nThroughput, tutorial architecture, batch {TUTORIAL_BATCH} (median of "
              f"{args.throughput_rounds} rounds taken in turns, {args.throughput_steps} steps "
              "each):")
        for label, rate in rates.items():
            print(f"  {label:30s}: {rate:8.1f} images/s  "
                  f"({rate / rates[REFERENCE_LABEL]:.2f}x)")
        print(flush=True)

    config.set_seed(0)
    reference = ReferenceLoop(tutorial_generator(), tutorial_discriminator())
    steps, rate = reference.train(images, budget_seconds=args.budget_seconds)
    samples = reference.generator(gaussian_noise(args.samples, TUTORIAL_LATENT), training=False)
    rows.append(("tutorial recipe (bs 256, Adam 1e-4)", steps, rate,
                 (keras.ops.convert_to_numpy(samples) + 1.0) / 2.0))  # tanh [-1, 1] -> [0, 1]

    config.set_seed(0)
    gan = our_gan(build_dcgan_generator(latent_dim=64), build_dcgan_discriminator(), 2e-4, 0.5)
    steps, rate = fit_steps(gan, images, 64, budget_seconds=args.budget_seconds)
    rows.append(("aigc_tf DCGAN (bs 64, Adam 2e-4/0.5)", steps, rate,
                 gan.generate(gaussian_noise(args.samples, gan.latent_dim))))

    config.set_seed(0)
    gan, steps, rate = self_conditioned_run(images, args.budget_seconds)
    rows.append((f"  self-conditioned, {NUM_CLUSTERS} k-means clusters", steps, rate,
                 gan.sample(args.samples, seed=123)))

    print(f"\nQuality after {args.budget_seconds:.0f} s of training on {len(images):,} images "
          f"({args.samples} samples each):")
    print(f"  {'recipe':38s} {'steps':>6s} {'img/s':>7s}  metric suite")
    for name, steps, rate, samples in rows:
        suite = evaluate_images(samples, value_range=(0, 1))
        print(f"  {name:38s} {steps:6d} {rate:7.1f}  {suite['summary']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
