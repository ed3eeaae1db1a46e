"""Latent diffusion on a laptop CPU: an autoencoder's codes, a small MLP denoiser, DDIM.

A pixel-space U-Net makes a training step every 1-2 seconds on a 2-core CPU (batch 128), far
too few for digits in minutes. Large image generators avoid the cost the same way we do here:
an autoencoder compresses each image to a short code, the diffusion model learns the
distribution of the codes (standardised per dimension) and its samples are decoded back to
images. :func:`train_latent_diffusion` runs the course's recipe on a wall-clock budget that
includes the autoencoder; :func:`build_latent_diffusion` builds the model for given codes.

The recipe (:data:`RECIPE`), measured by ``benchmarks/diffusion_benchmark.py`` on the offline
MNIST subset (4,000 training digits) on an idle 2-core CPU, 300 s in total: the autoencoder
made 8,202 steps in 120 s, the diffusion model 2,585 steps of 1,024 codes in 179 s (14 steps/s).
1,000 samples with deterministic DDIM-50 take about 1 s (ancestral sampling over all 1,000
steps 21 s). Means over 5 draws of 1,000 samples scored by
:func:`aigc_tf.metrics.evaluate_images`: FD 3.48 +- 0.64 (real floor 2.93 +- 0.37), KID 0.29,
precision 0.86, recall 0.90, within-class diversity 1.03, 91.2% confidently classified, no
class more than 1.2 points from 10%; ancestral sampling FD 3.31 +- 0.30. Two more 5-minute
models gave FD 3.38 and 3.87 (so about 1.2x the floor on average, one of three above 1.3x).
DDIM with ``eta=1`` instead of 0 was no better: over four models, lower FD twice and higher
twice, higher KID three times. The class-conditional model with the same budget: 99.7%
requested-label accuracy with guidance 0.5 (FD 6.4, recall 0.76).
"""

import time

import keras
import numpy as np
import tensorflow as tf

from aigc_tf import config, data
from aigc_tf.callbacks import TimeBudget
from aigc_tf.models.diffusion import Diffusion
from aigc_tf.models.diffusion_networks import build_autoencoder, build_mlp_denoiser

#: The recipe's defaults (chosen by measurements on the offline MNIST subset, 2-core CPU).
RECIPE = {
    "latent_dim": 16,
    "autoencoder_units": (512, 256),
    "autoencoder_share": 0.4,  # of the budget, the rest trains the diffusion model
    "autoencoder_batch": 64,
    "autoencoder_lr": 2e-3,
    "width": 256,
    "depth": 3,
    "timesteps": 1000,
    "schedule": "cosine",
    "prediction": "v",
    "batch_size": 1024,
    "lr": 2e-3,
    "ema_decay": 0.995,
    "decoder_temperature": 2 / 3,
    "sampling_eta": 0.0,  # deterministic DDIM: eta 1 was no better (FD) and worse (KID)
}
_STEPS_PER_EPOCH = 200  # fit's epochs are only bookkeeping on a repeated dataset


def _repeated_dataset(arrays, batch_size, seed):
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    return (dataset.shuffle(len(arrays[0]) if isinstance(arrays, tuple) else len(arrays),
                            seed=seed).repeat().batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def train_autoencoder(images, seconds=60.0, latent_dim=RECIPE["latent_dim"],
                      hidden_units=RECIPE["autoencoder_units"],
                      batch_size=RECIPE["autoencoder_batch"], lr=RECIPE["autoencoder_lr"],
                      seed=0, verbose=0):
    """Train :func:`~aigc_tf.models.diffusion_networks.build_autoencoder` on a time budget.

    Binary cross-entropy on pixel logits, Adam with the learning rate decayed over the
    budget by :class:`~aigc_tf.callbacks.TimeBudget`.

    Args:
        images: training images in [0, 1], shape ``(N, 28, 28, 1)``.
        seconds: training time.
        latent_dim, hidden_units: the autoencoder's size.
        batch_size, lr: optimisation.
        seed: seed of the weights and the shuffling.
        verbose: passed to ``fit``.

    Returns:
        ``(encoder, decoder, info)``; ``info`` has ``seconds``, ``steps`` and ``losses``
        (mean BCE summed over pixels, nats per image, for each block of 200 steps).
    """
    images = data.check_images(images, name="images").astype("float32")
    config.set_seed(seed)
    encoder, decoder, autoencoder = build_autoencoder(latent_dim, hidden_units,
                                                      images.shape[1:])
    autoencoder.compile(optimizer=keras.optimizers.Adam(lr),
                        loss=keras.losses.BinaryCrossentropy(from_logits=True))
    budget = TimeBudget(seconds, final_lr_fraction=0.05)
    dataset = _repeated_dataset((images, images), batch_size, seed)
    start = time.perf_counter()
    history = autoencoder.fit(dataset, steps_per_epoch=_STEPS_PER_EPOCH, epochs=10**6,
                              callbacks=[budget], verbose=verbose, shuffle=False)
    pixels = int(np.prod(images.shape[1:]))
    info = {"seconds": time.perf_counter() - start, "steps": budget.steps,
            "losses": [float(loss) * pixels for loss in history.history["loss"]]}
    return encoder, decoder, info


def code_statistics(codes):
    """Per-dimension mean and standard deviation of latent codes ``(N, latent_dim)``.

    Example:
        >>> mean, std = code_statistics(np.array([[0.0, 1.0], [2.0, 1.0]]))
        >>> mean.tolist(), std.tolist()  # a constant dimension keeps std 1
        ([1.0, 1.0], [1.0, 1.0])
    """
    if np.ndim(codes) != 2:
        raise ValueError(f"codes must have shape (N, latent_dim), got {np.shape(codes)}")
    codes = data.check_images(codes, np.shape(codes)[1:], name="codes").astype("float64")
    std = codes.std(axis=0)
    return codes.mean(axis=0).astype("float32"), np.where(std > 0, std, 1.0).astype("float32")


def build_latent_diffusion(decoder, codes, num_classes=None, width=RECIPE["width"],
                           depth=RECIPE["depth"], timesteps=RECIPE["timesteps"],
                           schedule=RECIPE["schedule"], prediction=RECIPE["prediction"],
                           ema_decay=RECIPE["ema_decay"],
                           decoder_temperature=RECIPE["decoder_temperature"],
                           sampling_eta=RECIPE["sampling_eta"], **kwargs):
    """A :class:`~aigc_tf.models.diffusion.Diffusion` model of ``codes``, decoding to images.

    The model standardises each code dimension with the codes' mean and standard deviation
    and holds the ``decoder``, so ``sample`` and ``generate`` return images in [0, 1].

    Args:
        decoder: model ``code -> image logits``.
        codes: the training codes ``(N, latent_dim)``, for their statistics.
        num_classes: labels of a conditional model (None: unconditional).
        width, depth: the MLP denoiser's size.
        timesteps, schedule, prediction, ema_decay, decoder_temperature, sampling_eta: see
            :class:`~aigc_tf.models.diffusion.Diffusion`.
        **kwargs: passed to :class:`Diffusion` (e.g. ``seed``, ``min_snr_gamma``).

    Example:
        >>> from aigc_tf.models.diffusion_networks import build_autoencoder
        >>> encoder, decoder, _ = build_autoencoder(latent_dim=4, hidden_units=(32,))
        >>> codes = np.random.default_rng(0).normal(size=(64, 4))
        >>> model = build_latent_diffusion(decoder, codes, width=32, depth=1, timesteps=50)
        >>> model.sample(3, seed=0, steps=5).shape
        (3, 28, 28, 1)
    """
    mean, std = code_statistics(codes)
    network = build_mlp_denoiser(len(mean), width, depth, num_classes=num_classes)
    return Diffusion(network, schedule=schedule, timesteps=timesteps, prediction=prediction,
                     num_classes=num_classes, ema_decay=ema_decay, data_mean=mean,
                     data_std=std, decoder=decoder, decoder_temperature=decoder_temperature,
                     sampling_eta=sampling_eta, **kwargs)


def train_latent_diffusion(images, labels=None, seconds=300.0, seed=0, verbose=0, **recipe):
    """The course's CPU recipe: autoencoder, then latent diffusion, in ``seconds`` in total.

    The autoencoder trains for ``autoencoder_share`` of the budget, the images are encoded
    once, and the diffusion model trains on the codes for what is left (both on
    :class:`~aigc_tf.callbacks.TimeBudget`, Adam with a decaying learning rate).

    Args:
        images: training images in [0, 1], shape ``(N, 28, 28, 1)``.
        labels: integer labels ``(N,)`` for a class-conditional model (None: unconditional);
            the classes are ``0 .. max(labels)``.
        seconds: total training time, autoencoder included.
        seed: seed of everything.
        verbose: passed to both ``fit`` calls.
        **recipe: overrides of :data:`RECIPE` entries.

    Returns:
        ``(model, encoder, info)``: the trained
        :class:`~aigc_tf.models.diffusion.Diffusion` (it holds the decoder), the encoder
        (images to codes, e.g. for reconstructions) and a dict of ``autoencoder_seconds``,
        ``autoencoder_steps``, ``autoencoder_losses`` (nats per image),
        ``diffusion_seconds``, ``diffusion_steps``, ``diffusion_losses``,
        ``steps_per_second`` (diffusion) and ``train_seconds``. Losses are means over each
        block of 200 training steps (Keras "epochs" here), for training curves.

    Example:
        Five minutes on the training digits, then 1,000 digits scored by the metric suite:

        >>> images, _ = data.load_mnist("train")  # doctest: +SKIP
        >>> model, encoder, info = train_latent_diffusion(images, seconds=300)  # doctest: +SKIP
        >>> samples = model.sample(1000, seed=0)  # DDIM, 50 steps  # doctest: +SKIP
        >>> evaluate_images(samples)["summary"]  # doctest: +SKIP
    """
    unknown = sorted(set(recipe) - set(RECIPE))
    if unknown:
        raise ValueError(f"unknown recipe entries {unknown}; expected some of {sorted(RECIPE)}")
    recipe = {**RECIPE, **recipe}
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    start = time.perf_counter()
    encoder, decoder, ae_info = train_autoencoder(
        images, seconds * recipe["autoencoder_share"], recipe["latent_dim"],
        recipe["autoencoder_units"], recipe["autoencoder_batch"], recipe["autoencoder_lr"],
        seed, verbose)
    codes = encoder.predict(images, batch_size=1000, verbose=0)
    num_classes = None if labels is None else int(np.max(labels)) + 1  # labels 0..K-1
    model = build_latent_diffusion(decoder, codes, num_classes, recipe["width"],
                                   recipe["depth"], recipe["timesteps"], recipe["schedule"],
                                   recipe["prediction"], recipe["ema_decay"],
                                   recipe["decoder_temperature"], recipe["sampling_eta"],
                                   seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(recipe["lr"]))
    arrays = codes if labels is None else (codes, data.as_labels(labels, num_classes))
    remaining = max(seconds - (time.perf_counter() - start), 1.0)
    budget = TimeBudget(remaining, final_lr_fraction=0.05)
    fit_start = time.perf_counter()
    history = model.fit(_repeated_dataset(arrays, recipe["batch_size"], seed),
                        steps_per_epoch=_STEPS_PER_EPOCH, epochs=10**6, callbacks=[budget],
                        verbose=verbose, shuffle=False)
    fit_seconds = time.perf_counter() - fit_start
    info = {"autoencoder_seconds": ae_info["seconds"], "autoencoder_steps": ae_info["steps"],
            "autoencoder_losses": ae_info["losses"], "diffusion_seconds": fit_seconds,
            "diffusion_steps": budget.steps, "diffusion_losses": history.history["loss"],
            "steps_per_second": budget.steps / fit_seconds,
            "train_seconds": time.perf_counter() - start}
    return model, encoder, info
