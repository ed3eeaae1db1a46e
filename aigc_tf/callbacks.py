"""Keras callbacks for generative models: samples during training, gradient norms.

* :class:`SampleSnapshots` keeps what a sampler produces for fixed inputs every few epochs;
* :class:`SampleGrid` also tiles image samples into a grid, saves one PNG per epoch and an
  animated GIF at the end. Any ``generate(noise)``-like callable works (GAN, VAE decoder,
  diffusion sampler); by default it calls ``model.generate``, whose images are in [0, 1]
  for every image model of the course.
* :class:`GradientNormLogger` records the gradient norms of a GAN's two networks;
* :class:`TimeBudget` stops training after a wall-clock budget, with a learning-rate
  warm-up and decay paced by the clock.
"""

import time
import warnings
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from aigc_tf.data import rescale
from aigc_tf.plotting import save_gif


def tile_images(images, ncols=10, value_range=(-1, 1), padding=1):
    """Tile ``(N, H, W[, C])`` images into one ``uint8`` array (grey or RGB).

    Args:
        images: the batch to tile.
        ncols: images per row.
        value_range: pixel range of ``images``: ``(0, 1)``, ``(-1, 1)`` or ``(0, 255)``.
        padding: pixels of black between images.

    Example:
        >>> grid = tile_images(np.zeros((20, 28, 28, 1)), ncols=10)  # 2 rows of 10, 1-pixel gaps
        >>> grid.shape, grid.dtype  # 2 * 28 + 1 rows, 10 * 28 + 9 columns
        ((57, 289), dtype('uint8'))
        >>> tile_images(np.ones((3, 5, 5, 3)), ncols=2).shape  # RGB keeps its channel axis
        (11, 11, 3)
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must have shape (N, H, W[, C]) with N >= 1, got {images.shape}")
    pixels = (rescale(images, value_range, (0, 1)).clip(0, 1) * 255).round().astype("uint8")
    count, height, width = pixels.shape[:3]
    ncols = min(ncols, count)
    nrows = -(-count // ncols)
    canvas = np.zeros(
        (nrows * (height + padding) - padding, ncols * (width + padding) - padding)
        + pixels.shape[3:], "uint8")
    for index, image in enumerate(pixels):
        row, col = divmod(index, ncols)
        top, left = row * (height + padding), col * (width + padding)
        canvas[top:top + height, left:left + width] = image
    return canvas


class SampleSnapshots(keras.callbacks.Callback):
    """Record ``sample_fn(*inputs)`` before training and every ``every`` epochs.

    Args:
        inputs: fixed sampler inputs (e.g. noise), a tuple of them (positional arguments)
            or a dict (keyword arguments, e.g. ``{"labels": labels, "z": noise}``).
        sample_fn: callable returning samples; default ``self.model.generate``.
        every: record every this many epochs.

    Attributes:
        epochs: epochs at which samples were recorded (0 = before training).
        samples: the recorded NumPy arrays.

    Example:
        A model learning ``y = 2 x``, watched through its prediction at ``x = 1``:

        >>> x = np.linspace(-1, 1, 32)[:, None]
        >>> dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")  # y = w x
        >>> model = keras.Sequential([keras.Input((1,)), dense])
        >>> model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        >>> snapshots = SampleSnapshots(np.ones((1, 1)), sample_fn=model.predict_on_batch,
        ...                             every=5)
        >>> history = model.fit(x, 2 * x, batch_size=32, epochs=10, callbacks=[snapshots],
        ...                     verbose=0)
        >>> snapshots.epochs, [round(float(s[0, 0]), 1) for s in snapshots.samples]
        ([0, 5, 10], [0.0, 1.8, 2.0])
    """

    def __init__(self, inputs, sample_fn=None, every=1):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if isinstance(inputs, dict):
            self.args, self.kwargs = (), dict(inputs)
        else:
            self.args, self.kwargs = (inputs if isinstance(inputs, tuple) else (inputs,)), {}
        self.sample_fn = sample_fn
        self.every = every
        self.epochs = []
        self.samples = []

    def _record(self, epoch):
        sample_fn = self.sample_fn or self.model.generate
        self.epochs.append(epoch)
        self.samples.append(np.asarray(sample_fn(*self.args, **self.kwargs)))

    def on_train_begin(self, logs=None):
        if not self.epochs:
            self._record(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch + 1)


class SampleGrid(SampleSnapshots):
    """Render a fixed-input sample grid each epoch; PNG per epoch, GIF at the end.

    Args:
        inputs: fixed sampler inputs, as for :class:`SampleSnapshots`: e.g. noise for a GAN,
            ``{"labels": labels, "z": noise}`` for a conditional one.
        sample_fn: callable returning images; default ``self.model.generate``.
        out_dir: folder for ``epoch_XXX.png`` files and the GIF (None: keep frames in memory).
        every: render every this many epochs.
        value_range: pixel range of the samples ([0, 1]: what ``model.generate`` returns).
        ncols: images per grid row.
        scale: integer upscaling of the saved images.
        gif_name: file name of the GIF written at the end of training.
        fps: GIF frames per second.

    Attributes:
        frames: the rendered grids as ``uint8`` arrays.
        gif_path: path of the GIF once written.

    Example:
        With a GAN: ``grid = SampleGrid(noise, out_dir="runs/dcgan")``, then
        ``gan.fit(ds, epochs=10, callbacks=[grid])`` writes 11 PNGs and ``grid.gif_path``.
        Any sampler works; here 20 random 8x8 "images", rendered before training starts:

        >>> noise = np.random.default_rng(0).normal(size=(20, 64))
        >>> grid = SampleGrid(noise, sample_fn=lambda z: np.tanh(z).reshape(-1, 8, 8, 1),
        ...                   value_range=(-1, 1))
        >>> grid.on_train_begin()  # what fit calls first
        >>> len(grid.frames), grid.frames[0].shape  # 2 rows of 10 with 1-pixel gaps, scale 2
        (1, (34, 178))
    """

    def __init__(self, inputs, sample_fn=None, out_dir=None, every=1, value_range=(0, 1),
                 ncols=10, scale=2, gif_name="samples.gif", fps=4):
        super().__init__(inputs, sample_fn=sample_fn, every=every)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.value_range = value_range
        self.ncols = ncols
        self.scale = scale
        self.gif_name = gif_name
        self.fps = fps
        self.frames = []
        self.gif_path = None

    def _record(self, epoch):
        super()._record(epoch)
        frame = tile_images(self.samples[-1], self.ncols, self.value_range)
        frame = frame.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        self.frames.append(frame)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(frame).save(self.out_dir / f"epoch_{epoch:03d}.png")

    def on_train_end(self, logs=None):
        if self.out_dir is not None and self.frames:
            self.gif_path = save_gif(self.frames, self.out_dir / self.gif_name, fps=self.fps)


class GradientNormLogger(keras.callbacks.Callback):
    """Record the gradient norms of both GAN networks on a fixed batch during training.

    Every ``every`` training steps (and before the first) it calls
    ``model.gradient_norms(batch, generator_losses)`` (see ``aigc_tf.models.gan.GAN``), which
    measures without updating anything.

    Args:
        batch: a fixed real batch (``(images, labels)`` for a conditional GAN).
        every: measure every this many steps.
        generator_losses: generator losses to measure on the same state, e.g.
            ``("minimax", "non_saturating")`` to compare them; default the model's own.

    Attributes:
        history: dict with ``"step"``, ``"d"`` and one ``"g/<loss>"`` list per generator loss.

    Example:
        >>> from aigc_tf.data import make_ring
        >>> from aigc_tf.models.gan import GAN, build_mlp_discriminator, build_mlp_generator
        >>> x, _ = make_ring(512)
        >>> gan = GAN(build_mlp_generator(), build_mlp_discriminator())
        >>> gan.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5))
        >>> norms = GradientNormLogger(x[:256], every=2, generator_losses=("minimax",
        ...                                                                 "non_saturating"))
        >>> history = gan.fit(x, batch_size=128, epochs=1, callbacks=[norms], verbose=0)
        >>> norms.history["step"], sorted(norms.history)  # 512 / 128 = 4 steps, every 2nd
        ([0, 2, 4], ['d', 'g/minimax', 'g/non_saturating', 'step'])
        >>> all(norm > 0 for norm in norms.history["d"])
        True
    """

    def __init__(self, batch, every=10, generator_losses=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.batch = batch
        self.every = every
        self.generator_losses = generator_losses
        self.step = 0
        self.history = {"step": []}

    def _measure(self):
        norms = self.model.gradient_norms(self.batch, self.generator_losses)
        self.history["step"].append(self.step)
        for name, value in norms.items():
            self.history.setdefault(name, []).append(value)

    def on_train_begin(self, logs=None):
        if self.step == 0:
            self._measure()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self._measure()


def _optimizers(model):
    """The optimizers that train ``model``: a GAN's two, else ``model.optimizer``."""
    pair = [getattr(model, name, None) for name in ("d_optimizer", "g_optimizer")]
    return [opt for opt in pair if opt is not None] or [model.optimizer]


class TimeBudget(keras.callbacks.Callback):
    """Stop ``fit`` after a wall-clock budget, shaping the learning rate on the way.

    A fixed time (not a fixed number of epochs) is the fair budget on a shared CPU. As the
    budget is used up (fraction ``u`` of ``seconds``) the learning rate of each optimizer
    (``model.optimizer``, or a GAN's ``d_optimizer`` and ``g_optimizer``) follows its base
    rate ``lr0`` times a factor that rises linearly from 0 to 1 during the first
    ``warmup_fraction`` of the time (Transformers need this), then falls linearly to
    ``final_lr_fraction`` -- annealing lowers the final loss of a short run. Pass
    ``final_lr_fraction=1`` and no warm-up to only stop on time.

    The base rates are read once, when ``fit`` first starts, and put back when it ends, so
    successive ``fit`` calls (with this callback or a new one) start from the same rates
    instead of compounding the decay. An optimizer driven by a
    ``keras.optimizers.schedules.LearningRateSchedule`` keeps its schedule: its rate is not
    shaped (a warning says so) and the budget only stops training.

    Put it before ``keras.callbacks.BackupAndRestore`` in the callback list: it then reads the
    base rates before a resumed run restores the optimizers' (already shaped) state.

    Args:
        seconds: training time budget (validation time included).
        final_lr_fraction: learning-rate multiplier reached at the end of the budget.
        warmup_fraction: share of the budget spent warming the learning rate up, in [0, 1).

    Attributes:
        steps: training steps run in the last ``fit``.
        epoch_seconds: wall-clock seconds since the start of ``fit`` at the end of each epoch.
        epoch_steps: training steps run by the end of each epoch (the last epoch may be cut
            short by the budget).
        lr_factor_used: the last learning-rate factor applied.

    Example:
        The learning-rate factor over the budget, with a 20% warm-up:

        >>> schedule = TimeBudget(300, final_lr_fraction=0.1, warmup_fraction=0.2)
        >>> [round(schedule.lr_factor(used), 2) for used in (0, 0.1, 0.2, 0.6, 1)]
        [0.0, 0.5, 1.0, 0.55, 0.1]

        A ``fit`` asked for 10,000 epochs stops after one second instead, with the learning
        rate decayed to 0.1 of its base by the end, then set back to the base:

        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        >>> budget = TimeBudget(1.0, final_lr_fraction=0.1)
        >>> x = np.zeros((64, 1))
        >>> history = model.fit(x, x, epochs=10_000, callbacks=[budget], verbose=0)
        >>> len(history.epoch) < 10_000, budget.epoch_seconds[-1] >= 1.0
        (True, True)
        >>> round(budget.lr_factor_used, 6), round(float(model.optimizer.learning_rate), 6)
        (0.1, 0.01)
    """

    def __init__(self, seconds, final_lr_fraction=0.1, warmup_fraction=0.0):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds!r}")
        if not 0 < final_lr_fraction <= 1:
            raise ValueError(f"final_lr_fraction must be in (0, 1], got {final_lr_fraction!r}")
        if not 0 <= warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}")
        self.seconds = seconds
        self.final_lr_fraction = final_lr_fraction
        self.warmup_fraction = warmup_fraction
        self.steps = 0
        self.epoch_seconds = []
        self.epoch_steps = []
        self.lr_factor_used = None
        self._base_rates = None  # [(learning-rate variable, base rate)], read on first use

    @property
    def shapes_learning_rate(self):
        return self.final_lr_fraction < 1 or self.warmup_fraction > 0

    def lr_factor(self, used):
        """Learning-rate multiplier after a fraction ``used`` of the budget."""
        if used < self.warmup_fraction:
            return used / self.warmup_fraction
        decay = (used - self.warmup_fraction) / (1 - self.warmup_fraction)
        return 1.0 - (1.0 - self.final_lr_fraction) * min(1.0, decay)

    def _read_base_rates(self):
        rates = []
        for optimizer in _optimizers(self.model):
            rate = optimizer.learning_rate
            if isinstance(rate, keras.Variable):
                rates.append((rate, float(keras.ops.convert_to_numpy(rate))))
            else:
                warnings.warn(
                    f"TimeBudget does not shape the learning rate of {type(optimizer).__name__}"
                    ": it follows its own schedule; the budget only stops training",
                    stacklevel=3)
        return rates

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.steps = 0
        self.epoch_seconds = []
        self.epoch_steps = []
        if self.shapes_learning_rate:
            if self._base_rates is None:
                self._base_rates = self._read_base_rates()
            self._set_lr(0.0)

    def _set_lr(self, used):
        self.lr_factor_used = max(self.lr_factor(used), 1e-3)  # never exactly 0 in warm-up
        for variable, base in self._base_rates:
            variable.assign(base * self.lr_factor_used)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        used = min(1.0, (time.perf_counter() - self.start) / self.seconds)
        if self.shapes_learning_rate:
            self._set_lr(used)
        if used >= 1.0:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self.start)
        self.epoch_steps.append(self.steps)

    def on_train_end(self, logs=None):
        for variable, base in self._base_rates or ():
            variable.assign(base)
