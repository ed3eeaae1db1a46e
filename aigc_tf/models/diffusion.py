"""Denoising diffusion models: DDPM training, ancestral and DDIM sampling, guidance, latents.

A :class:`Diffusion` model wraps a noise-prediction network (see
:mod:`aigc_tf.models.diffusion_networks`) and a noise schedule
(:mod:`aigc_tf.models.diffusion_schedules`). Training minimises the simple DDPM objective

    L = E_{x0, t, eps} [ w(t) || eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) ||^2 ],

with ``w(t) = 1`` (Ho et al., 2020), or ``min(SNR_t, gamma) / SNR_t`` with min-SNR weighting
(Hang et al., 2023); ``prediction="v"`` regresses ``v = sqrt(abar) eps - sqrt(1 - abar) x0``
instead. An exponential moving average (EMA) of the weights, with the warm-up
``decay_n = min(ema_decay, (1 + n) / (10 + n))`` so that short runs are not dragged back to
the initial weights, is what sampling uses.

Sampling (:mod:`aigc_tf.models.diffusion_sampling`) runs the reverse process from pure noise:
``method="ddpm"`` draws from the posterior at each of the T steps (ancestral sampling);
``method="ddim"`` jumps over any decreasing sub-sequence of steps, deterministic with
``eta=0``. Each step is one compiled (``tf.function``) call. A class-conditional model is
trained with its label replaced by a null class with probability ``label_dropout`` and sampled
with classifier-free guidance, ``eps = (1 + w) eps(x, c) - w eps(x)``.

Data space: the model trains on ``(x - data_mean) / data_std`` and maps samples back, so
pixel-space models see images in [0, 1] scaled to [-1, 1] (``data_mean = data_std = 0.5``,
``clip=(0, 1)``), and latent diffusion sees standardised codes of an autoencoder whose
``decoder`` turns samples back into images. ``sample`` and ``generate`` return images in
[0, 1], like every image generator of the course. :func:`build_pixel_diffusion` and
:mod:`aigc_tf.models.latent_diffusion` set these up.

Noise prediction without ``clip`` is fragile at the noisiest steps: ``x0_hat = (x_t -
sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)`` divides the network's error by ``sqrt(abar_T)``
(about 5e-5 for the cosine schedule with T = 1000), so unclipped data (latent codes) are best
learned with ``prediction="v"``, as the latent recipe does.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf import data
from aigc_tf.models.diffusion_networks import build_unet
from aigc_tf.models.diffusion_sampling import ReverseProcess, check_eta
from aigc_tf.models.diffusion_schedules import NoiseSchedule
from aigc_tf.models.replicas import (
    replica_loss,
    replica_normal,
    replica_randint,
    replica_uniform,
)

PREDICTIONS = ("eps", "v")


def _check_probability(value, name):
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def _as_float_array(values, name):
    array = np.asarray(values, "float32")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {values!r}")
    return array


@keras.saving.register_keras_serializable(package="aigc_tf")
class Diffusion(ReverseProcess, keras.Model):
    """A denoising diffusion model (DDPM training; DDPM or DDIM sampling).

    ``fit`` takes data in data space (images in [0, 1] for a pixel model, latent codes for
    latent diffusion), or ``(data, labels)`` for a conditional model. The ``loss`` tracker
    averages the weighted objective over the epoch; ``evaluate`` measures it with the EMA
    weights, those used for sampling.

    Args:
        network: denoiser ``[x_t, t] -> output`` (``[x_t, t, label]`` when conditional).
        schedule: ``"cosine"`` or ``"linear"``, a
            :class:`~aigc_tf.models.diffusion_schedules.NoiseSchedule` or its config dict.
        timesteps: T, when ``schedule`` is a name.
        prediction: what the network predicts: ``"eps"`` (noise) or ``"v"``.
        min_snr_gamma: weight the loss by ``min(SNR, gamma)`` (None: plain loss).
        num_classes: number of labels of a conditional model (None: unconditional).
        label_dropout: probability that a training label is replaced by the null class.
        ema_decay: the EMA's decay once warmed up; 0 keeps no average (samples use the
            trained weights).
        data_mean, data_std: scalars or arrays broadcasting over one sample; the model works
            on ``(x - data_mean) / data_std``.
        clip: ``(low, high)`` range of the data (e.g. ``(0, 1)`` for pixels): denoised
            estimates and samples are clipped to it. None: no clipping.
        decoder: optional model mapping samples (latent codes) to image *logits*; ``sample``
            then returns ``sigmoid(decoder(codes) / decoder_temperature)``.
        decoder_temperature: divides the decoder's logits (> 0). A decoder trained with
            binary cross-entropy outputs each pixel's *mean*, grey where the code leaves a
            stroke uncertain; real digits are almost black and white, and a temperature
            below 1 decodes closer to the most likely pixels.
        sampling_eta: the DDIM noise ``eta`` in [0, 1] that sampling uses unless told
            otherwise (0: deterministic DDIM; 1: fresh noise at every step, as ancestral
            sampling draws).
        seed: seed of the training noise.
        **kwargs: passed to ``keras.Model``.

    Example:
        A conditional model of 2-D points, trained for a few steps and sampled:

        >>> from aigc_tf.models.diffusion_networks import build_mlp_denoiser
        >>> net = build_mlp_denoiser(data_dim=2, width=32, depth=1, num_classes=2)
        >>> model = Diffusion(net, timesteps=100, num_classes=2, seed=0)
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> points = np.random.default_rng(0).normal(size=(256, 2)).astype("float32")
        >>> history = model.fit(points, np.arange(256) % 2, batch_size=64, epochs=1, verbose=0)
        >>> model.generate([0, 1, 1], seed=0, steps=10).shape
        (3, 2)
    """

    def __init__(self, network, schedule="cosine", timesteps=1000, prediction="eps",
                 min_snr_gamma=None, num_classes=None, label_dropout=0.1, ema_decay=0.995,
                 data_mean=0.0, data_std=1.0, clip=None, decoder=None, decoder_temperature=1.0,
                 sampling_eta=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(schedule, dict):  # a saved schedule's config
            schedule = NoiseSchedule(**schedule)
        self.schedule = (schedule if isinstance(schedule, NoiseSchedule)
                         else NoiseSchedule(schedule, timesteps))
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")
        if min_snr_gamma is not None and not min_snr_gamma > 0:
            raise ValueError(f"min_snr_gamma must be None or > 0, got {min_snr_gamma!r}")
        _check_probability(label_dropout, "label_dropout")
        _check_probability(ema_decay, "ema_decay")
        self._check_network(network, num_classes)
        self.network, self.decoder = network, decoder
        self.ema_network = keras.models.clone_model(network)
        self.ema_network.set_weights(network.get_weights())
        self.ema_network.trainable = False
        if decoder is not None:
            decoder.trainable = False
        self.prediction, self.min_snr_gamma = prediction, min_snr_gamma
        self.num_classes, self.label_dropout = num_classes, float(label_dropout)
        self.ema_decay, self.seed = float(ema_decay), seed
        self.data_mean = _as_float_array(data_mean, "data_mean")
        self.data_std = _as_float_array(data_std, "data_std")
        if np.any(self.data_std <= 0):
            raise ValueError(f"data_std must be > 0, got {data_std!r}")
        self.clip = None if clip is None else tuple(float(c) for c in clip)
        if not decoder_temperature > 0:
            raise ValueError(f"decoder_temperature must be > 0, got {decoder_temperature!r}")
        self.decoder_temperature = float(decoder_temperature)
        self.sampling_eta = check_eta(sampling_eta)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self._loss_weights = ops.convert_to_tensor(self._snr_weights(), "float32")
        self._step_functions = {}
        self.built = True  # every weight lives in the networks, built already

    @staticmethod
    def _check_network(network, num_classes):
        expected = 2 if num_classes is None else 3
        if len(network.inputs) != expected:
            what = "[x_t, t]" if num_classes is None else "[x_t, t, label]"
            raise ValueError(f"the network must take {what} (num_classes={num_classes}), "
                             f"got {len(network.inputs)} inputs")
        if tuple(network.output_shape[1:]) != tuple(network.inputs[0].shape[1:]):
            raise ValueError(f"the network's output {network.output_shape[1:]} must have the "
                             f"shape of its input x_t {tuple(network.inputs[0].shape[1:])}")

    def _snr_weights(self):
        snr = self.schedule.snr
        if self.min_snr_gamma is None:
            return np.ones_like(snr)
        clipped = np.minimum(snr, self.min_snr_gamma)
        return clipped / (snr + 1.0) if self.prediction == "v" else clipped / snr

    @property
    def data_shape(self):
        """Shape of one sample in data space (e.g. ``(28, 28, 1)`` or ``(16,)``)."""
        return tuple(self.network.inputs[0].shape[1:])

    @property
    def timesteps(self):
        return self.schedule.timesteps

    @property
    def metrics(self):
        return [self.loss_tracker]

    # -- data ------------------------------------------------------------------------------
    def standardise(self, x):
        """Data space to the model's space: ``(x - data_mean) / data_std``."""
        return (ops.cast(x, "float32") - self.data_mean) / self.data_std

    def destandardise(self, x):
        """The model's space back to data space (clipped to ``clip`` when set)."""
        x = ops.convert_to_numpy(x) * self.data_std + self.data_mean
        return x if self.clip is None else np.clip(x, *self.clip)

    def _labels(self, labels, count=None):
        return data.as_labels(labels, self.num_classes, count)

    def check_data(self, x, y=None):
        """Raise ``ValueError`` for training data the model cannot use (shape, NaN, labels).

        Arrays are checked whole, a ``tf.data.Dataset`` by its first batch.
        """
        batch = data.first_batch(x) if y is None else (x, y)
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        array = data.check_images(inputs, self.data_shape, name="training data")
        if self.num_classes is not None:
            if labels is None:
                raise ValueError("a conditional diffusion model needs (data, labels) pairs")
            self._labels(labels, len(array))

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` after :meth:`check_data` (and its ``validation_data``)."""
        self.check_data(x, y)
        if kwargs.get("validation_data") is not None:
            self.check_data(kwargs["validation_data"])
        return super().fit(x, y, **kwargs)

    # -- training --------------------------------------------------------------------------
    def _network_inputs(self, x_t, t, labels):
        t = ops.cast(t, "float32")
        return [x_t, t] if self.num_classes is None else [x_t, t, labels]

    def _unpack(self, batch):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
        labels = None if self.num_classes is None else ops.cast(y, "int32")
        return self.standardise(x), labels

    def _loss(self, network, x0, labels, training):
        """The weighted noise-prediction loss on one batch, with fresh ``t`` and noise."""
        count = ops.shape(x0)[0]
        t = replica_randint((count,), self.seed_generator, 0, self.timesteps)
        noise = replica_normal(ops.shape(x0), self.seed_generator, x0.dtype)
        x_t = self.schedule.q_sample(x0, t, noise)
        if labels is not None and training:
            dropped = replica_uniform((count,), self.seed_generator) < self.label_dropout
            labels = ops.where(dropped, self.num_classes, labels)
        output = network(self._network_inputs(x_t, t, labels), training=training)
        target = noise
        if self.prediction == "v":
            ndim = len(x0.shape)
            target = (self.schedule.at(self.schedule.signal_rates, t, ndim) * noise
                      - self.schedule.at(self.schedule.noise_rates, t, ndim) * x0)
        squared = ops.reshape(ops.square(target - output), (count, -1))
        return ops.mean(ops.take(self._loss_weights, t) * ops.mean(squared, axis=-1))

    def _update_ema(self):
        step = ops.cast(self.optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        # Under tf.distribute each replica assigns its own copy (aggregation "none", as in
        # the optimizers' use_ema) from the same all-reduced weights: the copies stay equal.
        for average, weight in zip(self.ema_network.weights, self.network.weights, strict=True):
            average.assign(decay * average + (1.0 - decay) * weight)

    def train_step(self, batch):
        x0, labels = self._unpack(batch)
        with tf.GradientTape() as tape:
            loss = self._loss(self.network, x0, labels, training=True)
            scaled = replica_loss(loss)
        weights = self.network.trainable_weights
        self.optimizer.apply(tape.gradient(scaled, weights), weights)
        self._update_ema()
        self.loss_tracker.update_state(loss, sample_weight=ops.shape(x0)[0])
        return {"loss": self.loss_tracker.result()}

    def test_step(self, batch):
        x0, labels = self._unpack(batch)
        loss = self._loss(self.ema_network, x0, labels, training=False)
        self.loss_tracker.update_state(loss, sample_weight=ops.shape(x0)[0])
        return {"loss": self.loss_tracker.result()}

    def call(self, inputs, training=False):
        """The network's prediction for ``[x_t, t]`` (``[x_t, t, label]``), model space."""
        return self.network(inputs, training=training)

    # -- saving ----------------------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "network": keras.saving.serialize_keras_object(self.network),
            "schedule": self.schedule.get_config(),
            "prediction": self.prediction,
            "min_snr_gamma": self.min_snr_gamma,
            "num_classes": self.num_classes,
            "label_dropout": self.label_dropout,
            "ema_decay": self.ema_decay,
            "data_mean": self.data_mean.tolist(),
            "data_std": self.data_std.tolist(),
            "clip": self.clip,
            "decoder": (None if self.decoder is None
                        else keras.saving.serialize_keras_object(self.decoder)),
            "decoder_temperature": self.decoder_temperature,
            "sampling_eta": self.sampling_eta,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("network", "decoder"):
            if config.get(part) is not None:
                config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def build_pixel_diffusion(widths=(16, 32, 64), timesteps=1000, schedule="cosine", num_classes=None,
                          **kwargs):
    """A pixel-space diffusion model of 28x28x1 images in [0, 1], with a :func:`build_unet`.

    Images are scaled to [-1, 1] inside the model and samples clipped back to [0, 1].

    Args:
        widths: U-Net channels per resolution.
        timesteps: T.
        schedule: ``"cosine"`` or ``"linear"``.
        num_classes: labels of a conditional model (None: unconditional).
        **kwargs: passed to :class:`Diffusion`.

    Example:
        >>> model = build_pixel_diffusion(widths=(8, 16), timesteps=20)
        >>> images = model.sample(2, seed=0, steps=3)
        >>> images.shape, bool(images.min() >= 0 and images.max() <= 1)
        ((2, 28, 28, 1), True)
    """
    network = build_unet(widths=widths, num_classes=num_classes)
    return Diffusion(network, schedule=schedule, timesteps=timesteps, num_classes=num_classes,
                     data_mean=0.5, data_std=0.5, clip=(0.0, 1.0), **kwargs)
