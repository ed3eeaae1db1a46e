"""The :class:`GAN` model: its training step (``fit``), sampling and gradient diagnostics.

The losses live in :mod:`aigc_tf.models.gan_losses`, the networks in
:mod:`aigc_tf.models.gan_networks`; :class:`~aigc_tf.models.conditional_gan.ConditionalGAN`
overrides the hooks that pass labels. Import them all from :mod:`aigc_tf.models.gan`.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf import data
from aigc_tf.augmentation import DiffAugment
from aigc_tf.models.gan_losses import (
    _check_loss,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
)
from aigc_tf.models.replicas import replica_loss, replica_normal, replica_uniform

UPDATES = ("alternating", "simultaneous")
_REGISTER = keras.saving.register_keras_serializable(package="aigc_tf")
#: Images per generator call when sampling: bounds memory for large requests.
SAMPLE_BATCH = 500


def _output_activation(generator):
    activation = getattr(generator.layers[-1], "activation", None)
    return getattr(activation, "__name__", "")


def _output_range(generator):
    """Value range of the generator's last activation (tanh or sigmoid), else None."""
    return {"tanh": (-1, 1), "sigmoid": (0, 1)}.get(_output_activation(generator))


def _first_input_shape(model):
    shapes = model.input_shape
    return tuple(shapes[0] if isinstance(shapes, list) else shapes)


def _apply_gradients(optimizer, tape, loss, model):
    variables = model.trainable_variables
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables, strict=True))


@_REGISTER
class GAN(keras.Model):
    """A generator and a discriminator trained against each other by ``fit``.

    Each ``train_step`` makes ``d_steps`` discriminator updates (on the same real batch, with
    fresh noise each time) and one generator update; the last discriminator update and the
    generator update share one generator forward pass. The discriminator returns logits.

    ``update`` chooses how the last two updates meet:

    * ``"alternating"`` (default, as in PyTorch's DCGAN example): the discriminator updates
      first, then the *updated* discriminator scores the same fakes for the generator's loss.
      It costs one more discriminator forward pass, and it is the steadier game: on the
      simplest GAN, simultaneous gradient steps spiral away from the equilibrium while
      alternating ones circle it at a bounded distance (Mescheder et al., 2018).
    * ``"simultaneous"`` (the TensorFlow DCGAN tutorial's step): both losses come from one
      forward pass and both gradients are taken before either network moves.

    :meth:`sample` and :meth:`generate` return images in [0, 1], whatever the generator's
    output activation (a tanh generator's [-1, 1] is mapped by ``(x + 1) / 2``), as every
    image model of the course does; the training data must lie in the generator's own output
    range (``output_range``), which ``fit`` checks. A generator without a tanh or sigmoid
    output (the 2-D toy GANs) returns its raw points. The raw output is ``model.predict(z)``.

    Args:
        generator: model mapping noise ``(batch, latent_dim)`` to samples.
        discriminator: model mapping samples to one logit per sample.
        loss: ``"non_saturating"`` (default), ``"minimax"`` or ``"wgan_gp"``.
        d_steps: discriminator updates per generator update (>= 1).
        gp_weight: weight ``lambda`` of the gradient penalty (used by ``"wgan_gp"``).
        seed: seed of the model's noise.
        update: ``"alternating"`` (default) or ``"simultaneous"``, see above.
        augment: differentiable augmentation of real *and* generated samples before the
            discriminator, in both players' losses (DiffAugment, Zhao et al., 2020): a policy
            such as ``"translation,cutout"`` (see :mod:`aigc_tf.augmentation`), a layer, or
            None (default, no augmentation). The WGAN-GP penalty sees unaugmented samples.
        **kwargs: passed to ``keras.Model``.

    Example:
        >>> from aigc_tf.models.gan_networks import (
        ...     build_dcgan_discriminator, build_dcgan_generator, build_mlp_discriminator,
        ...     build_mlp_generator)
        >>> gan = GAN(build_mlp_generator(), build_mlp_discriminator())
        >>> gan.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5))
        >>> x, _ = data.make_ring(512)
        >>> history = gan.fit(x, batch_size=128, epochs=1, verbose=0)
        >>> gan.sample(3).shape
        (3, 2)

        A DCGAN's tanh images come back in [0, 1]:

        >>> dcgan = GAN(build_dcgan_generator(latent_dim=8), build_dcgan_discriminator())
        >>> images = dcgan.sample(4, seed=0)
        >>> images.shape, images.dtype, bool(images.min() >= 0 and images.max() <= 1)
        ((4, 28, 28, 1), dtype('float32'), True)
        >>> bool(np.array_equal(images, dcgan.sample(4, seed=0)))  # same seed, same images
        True
    """

    def __init__(self, generator, discriminator, loss="non_saturating", d_steps=1,
                 gp_weight=10.0, seed=None, update="alternating", augment=None, **kwargs):
        super().__init__(**kwargs)
        _check_loss(loss)
        if not isinstance(d_steps, (int, np.integer)) or isinstance(d_steps, bool) or d_steps < 1:
            raise ValueError(f"d_steps must be an integer >= 1, got {d_steps!r}")
        if update not in UPDATES:
            raise ValueError(f"unknown update {update!r}; expected one of {list(UPDATES)}")
        generated = tuple(generator.output_shape[1:])
        judged = _first_input_shape(discriminator)[1:]
        if generated != judged:
            raise ValueError(
                f"the generator produces samples of shape {generated} but the discriminator "
                f"expects {judged}; make the generator's output match the data "
                "(e.g. its number of channels)"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.loss_name = loss
        self.d_steps = int(d_steps)
        self.update = update
        self.gp_weight = float(gp_weight)
        self.seed = seed
        self.latent_dim = int(_first_input_shape(generator)[-1])
        self.sample_shape = generated
        self.output_range = _output_range(generator)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.augment = _augment_layer(augment, self.output_range, seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.gp_tracker = keras.metrics.Mean(name="gp")
        self.built = generator.built and discriminator.built

    def compile(self, d_optimizer, g_optimizer, jit_compile=False, **kwargs):
        """Set one optimizer per network.

        Args:
            d_optimizer: optimizer of the discriminator.
            g_optimizer: optimizer of the generator.
            jit_compile: compile the train step with XLA. Off by default, because
                TensorFlow's own kernels were faster on a 2-core CPU: XLA ran the small DCGAN
                at 0.8x, the TF tutorial's networks at 0.64x (``benchmarks/dcgan_benchmark.py``)
                and the 2-D MLP GAN at 0.64x (1.1x with WGAN-GP). Measure on a GPU.
            **kwargs: passed to ``keras.Model.compile``.
        """
        super().compile(jit_compile=jit_compile, **kwargs)
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        # Create the slot variables now, outside the (XLA-)compiled train step.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "jit_compile": self.jit_compile,
        }

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
            jit_compile=config.get("jit_compile", False),
        )

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        return trackers + [self.gp_tracker] if self.loss_name == "wgan_gp" else trackers

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # -- sampling (NumPy in, NumPy out) --------------------------------------------------
    def _latent(self, n, seed):
        """Gaussian noise ``(n, latent_dim)`` from NumPy's generator seeded with ``seed``."""
        noise = np.random.default_rng(seed).standard_normal((data.check_count(n), self.latent_dim))
        return noise.astype("float32")

    def _checked_latent(self, z, count=None):
        z = data.check_images(z, shape=(self.latent_dim,), name="z").astype("float32")
        if count is not None and len(z) != count:
            raise ValueError(f"z must have one row per label: expected {count}, got {len(z)}")
        return z

    def _to_unit(self, samples):
        """Generator outputs mapped from ``output_range`` to [0, 1] (raw without a range)."""
        if self.output_range is None:
            return samples.astype("float32")
        return data.rescale(samples, self.output_range, (0, 1)).clip(0, 1)

    def _run_generator(self, *inputs):
        outputs = [ops.convert_to_numpy(self.generator(list(batch) if len(batch) > 1
                                                       else batch[0], training=False))
                   for batch in _batches(inputs, SAMPLE_BATCH)]
        return self._to_unit(np.concatenate(outputs))

    def generate(self, z):
        """Samples for the given latent noise ``z`` ``(n, latent_dim)``, images in [0, 1].

        Reuse one ``z`` to compare models or training epochs on the same noise
        (:class:`aigc_tf.callbacks.SampleGrid` does).
        """
        return self._run_generator(self._checked_latent(z))

    def sample(self, n, seed=None):
        """Draw ``n`` samples from fresh Gaussian noise: images in [0, 1], NumPy ``float32``.

        Args:
            n: number of samples (>= 1).
            seed: integer seed for repeatable samples (None: fresh noise each call).

        Returns:
            A NumPy array ``(n, *sample_shape)``: images in [0, 1] (raw points for a
            generator without a tanh or sigmoid output).
        """
        return self.generate(self._latent(n, seed))

    # Hooks that the conditional GAN overrides.
    def _unpack(self, batch):
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        return batch, None

    def _generator_inputs(self, noise, condition):
        return noise

    def _discriminator_inputs(self, samples, condition):
        return samples

    def check_real_data(self, real):
        """Raise ``ValueError`` if ``real`` cannot be compared with generated samples.

        Uses :func:`aigc_tf.data.check_images`: the per-sample shape must match the
        generator's (e.g. 3 generated channels vs 1 in the data), the batch must be non-empty
        and finite and, for a tanh or sigmoid generator, lie in the generator's output range.
        """
        return data.check_images(real, self.sample_shape, name="real data",
                                 value_range=self.output_range,
                                 why=f" (the generator's {_output_activation(self.generator)} "
                                     "output range)")

    def _check_condition(self, condition, count):
        """Check the labels of a training batch (the conditional GAN overrides this)."""

    def check_data(self, x, y=None):
        """Raise ``ValueError`` for training data the model cannot use.

        Checks the images with :meth:`check_real_data` (and, for a conditional GAN, the
        labels): arrays whole, a ``tf.data.Dataset`` by its first batch, before training
        starts, where an error message can still name the problem.
        """
        real, condition = self._unpack(data.first_batch(x) if y is None else (x, y))
        real = self.check_real_data(real)
        self._check_condition(condition, len(real))

    def fit(self, x=None, y=None, **kwargs):
        """``keras.Model.fit`` after :meth:`check_data`."""
        self.check_data(x, y)
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a dataset shuffles itself
        return super().fit(x, y, **kwargs)

    def _noise(self, batch_size):
        return replica_normal((batch_size, self.latent_dim), self.seed_generator)

    def _fake_batch(self, batch_size, condition):
        noise = self._noise(batch_size)
        return self.generator(self._generator_inputs(noise, condition), training=True)

    def _logits(self, samples, condition):
        """The discriminator's training-mode logits, on augmented samples with ``augment``."""
        if self.augment is not None:
            samples = self.augment(samples, training=True)
        return self.discriminator(self._discriminator_inputs(samples, condition), training=True)

    def _discriminator_loss(self, real, fake, condition):
        """Discriminator loss (with the WGAN-GP penalty if used), the penalty and the logits
        on ``fake`` (differentiable with respect to ``fake``)."""
        real_logits = self._logits(real, condition)
        fake_logits = self._logits(fake, condition)
        d_loss = discriminator_loss(real_logits, fake_logits, self.loss_name)
        penalty = ops.zeros(())
        if self.loss_name == "wgan_gp":
            mix = replica_uniform((ops.shape(real)[0],), self.seed_generator)
            penalty = gradient_penalty(self.discriminator, real, ops.stop_gradient(fake), mix,
                                       condition)
            d_loss = d_loss + self.gp_weight * penalty
        return d_loss, penalty, fake_logits

    def _discriminator_step(self, real, fake, condition):
        """One discriminator update on a real and a generated batch (``fake`` is held fixed)."""
        with tf.GradientTape() as tape:
            d_loss, penalty, _ = self._discriminator_loss(real, ops.stop_gradient(fake),
                                                          condition)
            scaled = replica_loss(d_loss)
        _apply_gradients(self.d_optimizer, tape, scaled, self.discriminator)
        return d_loss, penalty

    def _alternating_step(self, real, condition, batch_size):
        # The discriminator learns on the fakes with the generator tape paused, then the
        # *updated* discriminator scores the same fakes for the generator's loss.
        with tf.GradientTape() as g_tape:
            fake = self._fake_batch(batch_size, condition)
            with g_tape.stop_recording():
                d_loss, penalty = self._discriminator_step(real, fake, condition)
            fake_logits = self._logits(fake, condition)
            g_loss = generator_loss(fake_logits, self.loss_name)
            scaled = replica_loss(g_loss)
        _apply_gradients(self.g_optimizer, g_tape, scaled, self.generator)
        return d_loss, g_loss, penalty

    def _simultaneous_step(self, real, condition, batch_size):
        # One forward pass feeds both losses; both gradients are taken before either update.
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self._fake_batch(batch_size, condition)
            d_loss, penalty, fake_logits = self._discriminator_loss(real, fake, condition)
            g_loss = generator_loss(fake_logits, self.loss_name)
            g_scaled, d_scaled = replica_loss(g_loss), replica_loss(d_loss)
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        g_grads, d_grads = g_tape.gradient(g_scaled, g_vars), d_tape.gradient(d_scaled, d_vars)
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars, strict=True))
        return d_loss, g_loss, penalty

    def train_step(self, batch):
        real, condition = self._unpack(batch)
        batch_size = ops.shape(real)[0]
        for _ in range(self.d_steps - 1):
            self._discriminator_step(real, self._fake_batch(batch_size, condition), condition)
        last_updates = (self._simultaneous_step if self.update == "simultaneous"
                        else self._alternating_step)
        d_loss, g_loss, penalty = last_updates(real, condition, batch_size)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.gp_tracker.update_state(penalty)
        return {m.name: m.result() for m in self.metrics}

    def gradient_norms(self, batch, generator_losses=None, seed=0):
        """Global gradient norms of both networks' losses on one batch, without updating.

        Args:
            batch: a real batch (``(images, labels)`` for a conditional GAN).
            generator_losses: names of generator losses to measure (default: the model's own).
            seed: seed of the noise, so successive calls compare like with like.

        Returns:
            dict: ``"d"`` for the discriminator and ``"g/<loss>"`` per generator loss.
        """
        real, condition = self._unpack(batch)
        real = ops.convert_to_tensor(real)
        noise = keras.random.normal((ops.shape(real)[0], self.latent_dim), seed=seed)
        norms = {}
        with tf.GradientTape(persistent=True) as tape:
            fake = self.generator(self._generator_inputs(noise, condition), training=False)
            real_logits = self.discriminator(self._discriminator_inputs(real, condition))
            fake_logits = self.discriminator(self._discriminator_inputs(fake, condition))
            d_loss = discriminator_loss(real_logits, fake_logits, self.loss_name)
            g_losses = {name: generator_loss(fake_logits, name)
                        for name in (generator_losses or [self.loss_name])}
        d_grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        norms["d"] = float(tf.linalg.global_norm(d_grads))
        for name, value in g_losses.items():
            g_grads = tape.gradient(value, self.generator.trainable_variables)
            norms[f"g/{name}"] = float(tf.linalg.global_norm(g_grads))
        return norms

    def get_config(self):
        config = super().get_config()
        config.update({
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "loss": self.loss_name,
            "d_steps": self.d_steps,
            "gp_weight": self.gp_weight,
            "seed": self.seed,
            "update": self.update,
            "augment": (None if self.augment is None
                        else keras.saving.serialize_keras_object(self.augment)),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator", "augment"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _augment_layer(augment, output_range, seed):
    """``augment`` as a layer: a policy string becomes a :class:`DiffAugment` filling with
    the generator's background (the low end of its output range)."""
    if augment is None or isinstance(augment, keras.layers.Layer):
        return augment
    if not isinstance(augment, str):
        raise ValueError(f"augment must be None, a policy string such as "
                         f"'translation,cutout' or a keras layer, got {augment!r}")
    return DiffAugment(augment, value_range=output_range or (0.0, 1.0),
                       seed=None if seed is None else seed + 1, name="diff_augment")


def _batches(arrays, batch_size):
    for start in range(0, len(arrays[0]), batch_size):
        yield [ops.convert_to_tensor(a[start:start + batch_size]) for a in arrays]
