"""The kinds of training recipe behind ``aigc-tf train`` and the data each one trains on.

:class:`Recipe` holds what every recipe has (name, builder, default batch size and budget);
:class:`ImageRecipe` learns from MNIST and is scored with
:func:`aigc_tf.metrics.images.evaluate_images`, :class:`TextRecipe` learns from Shakespeare or
a corpus file and is scored with :func:`aigc_tf.metrics.text.evaluate_text`, and
:class:`LatentDiffusionRecipe` trains an autoencoder before its diffusion model. The registry
of the course's recipes is :mod:`aigc_tf.recipes`, which re-exports these names.

Example:
    >>> recipe = ImageRecipe("toy", "a toy recipe", "GAN", builder=None, batch_size=32,
    ...                      epochs=(10, 10))
    >>> recipe.kind, recipe.default_batch_size(), recipe.default_budget()
    ('image', 32, ('epochs', 10))
"""

import dataclasses
import time
from collections.abc import Callable

import keras
import numpy as np

from aigc_tf import config, data, runs
from aigc_tf.models.latent_diffusion import RECIPE as LATENT_RECIPE
from aigc_tf.models.latent_diffusion import train_autoencoder

NUM_CLASSES = 10
SAMPLE_RANGE = (0, 1)  # every image generator's sample() returns pixels in [0, 1]
TEXT_HELD_OUT = 0.1  # make_char_dataset's default validation split: the text's last 10%
AUTOENCODER_DIR = "autoencoder"  # in the run folder: the first stage of latent diffusion
AUTOENCODER_STAGE_FILE = "stage.json"  # written last: the saved stage is complete


def _pick(sizes):
    """``sizes`` is a value or a ``(full, fast)`` pair."""
    return config.pick(*sizes) if isinstance(sizes, tuple) else sizes


@dataclasses.dataclass(frozen=True)
class ImageData:
    """MNIST digits for one run: training arrays and optional validation arrays."""

    images: np.ndarray
    labels: np.ndarray
    val_images: np.ndarray | None = None
    val_labels: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class TextData:
    """A character corpus for one run: the text, its vocabulary and the held-out tail."""

    text: str
    vocab: object
    training_text: str
    held_out_text: str


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What every recipe has.

    Attributes:
        name: the command-line name.
        description: one line for ``--help``.
        model_class: class name of the trained model; ``sample`` and ``eval`` recognise a
            model file by it.
        builder: ``builder(settings, data)`` returns the compiled model (an image recipe);
            ``builder(vocab)`` the model before compiling (a text recipe).
        batch_size: default global batch size, a value or ``(full, fast)``.
        epochs: default number of epochs ``(full, fast)``, or None to train on the clock.
        minutes: default time budget ``(full, fast)`` when ``epochs`` is None.
    """

    name: str
    description: str
    model_class: str
    builder: Callable
    batch_size: object
    epochs: tuple | None = None
    minutes: tuple | None = None

    def default_budget(self):
        """``("epochs", n)`` or ``("minutes", m)`` when the command line gives neither."""
        if self.epochs is not None:
            return "epochs", _pick(self.epochs)
        return "minutes", _pick(self.minutes)

    def default_batch_size(self):
        return _pick(self.batch_size)

    def matches(self, model):
        """Whether ``model`` (loaded from a file) is one this recipe trains."""
        return type(model).__name__ == self.model_class

    def first_stage(self, run_folder, training_data):
        """Training done before ``fit`` (none here); see :class:`LatentDiffusionRecipe`.

        Returns:
            ``(training_data, seconds)``: the data ``build`` and ``datasets`` use, and the
            training seconds the stage took (counted in a ``--minutes`` budget).
        """
        return training_data, 0.0

    def build(self, settings, training_data):
        """The compiled model, built, with every optimizer built, so that a checkpoint can
        restore all their states (call it inside the distribution strategy's scope)."""
        model = self.builder(settings, training_data)
        build_optimizers(model)
        return model


@dataclasses.dataclass(frozen=True)
class ImageRecipe(Recipe):
    """An MNIST generator.

    Attributes:
        value_range: pixel range the model trains on (the generator's output range).
        conditional: samples are requested by label (``generate(labels, seed)``).
        train_on_labels: the model trains on ``(images, labels)`` pairs.
        validation_images: images held out of the end of the training split for validation.
        prepare: optional ``prepare(model, images, labels)`` returning the training arrays
            (the self-conditioned GAN clusters the images here).
    """

    value_range: tuple = (0, 1)
    conditional: bool = False
    train_on_labels: bool = False
    validation_images: int = 0
    prepare: Callable | None = None
    kind = "image"
    train_images = (None, 512)  # None: the whole training split
    eval_samples = (1000, 200)

    def load_data(self, settings):
        images, labels = data.load_mnist("train", value_range=self.value_range)
        held = self.validation_images
        val = (images[-held:], labels[-held:]) if held else (None, None)
        if held:
            images, labels = images[:-held], labels[:-held]
        count = _pick(self.train_images)
        return ImageData(images[:count], labels[:count], *val)

    def datasets(self, model, training_data, settings, batch_size):
        """``(train, validation or None, steps per epoch)``."""
        images, labels = training_data.images, training_data.labels
        _check_batch_size(batch_size, len(images))
        if self.prepare is not None:
            arrays = self.prepare(model, images, labels)
        else:
            arrays = (images, labels) if self.train_on_labels else images
        train = data.make_dataset(arrays, batch_size=batch_size, drop_remainder=True,
                                  seed=settings.seed)
        validation = None
        if training_data.val_images is not None:
            val_arrays = ((training_data.val_images, training_data.val_labels)
                          if self.train_on_labels else training_data.val_images)
            validation = data.make_dataset(val_arrays, batch_size=batch_size, shuffle=False)
        return train, validation, len(images) // batch_size

    def grid_labels(self, per_label):
        """One row per digit, ``per_label`` samples each."""
        return np.repeat(np.arange(NUM_CLASSES), per_label)

    def draw(self, model, count, seed, labels=None):
        """``count`` samples in [0, 1] (one per label for a conditional model)."""
        if self.conditional:
            return model.generate(np.asarray(labels, "int32"), seed=seed)
        return model.sample(count, seed=seed)

    def epoch_samples(self, model, seed):
        """Inputs and function for ``SampleGrid``: the same 40 (or 10 per digit) each epoch."""
        if self.conditional:
            return (self.grid_labels(10),), lambda labels: self.draw(model, 0, seed, labels)
        return (40,), lambda count: self.draw(model, count, seed)

    def evaluate(self, model, seed, count=None):
        """The image suite on ``count`` samples (the recipe's default if None)."""
        from aigc_tf.metrics.images import evaluate_images

        count = count or _pick(self.eval_samples)
        labels = np.arange(count) % NUM_CLASSES if self.conditional else None
        images = self.draw(model, count, seed, labels)
        return evaluate_images(images, value_range=SAMPLE_RANGE, labels=labels)


@dataclasses.dataclass(frozen=True)
class TextRecipe(Recipe):
    """A character language model.

    Attributes:
        seq_len: training window length ``(full, fast)``.
        steps_per_epoch: training steps between two validation passes ``(full, fast)``.
        learning_rate: peak learning rate (Adam, gradient norm clipped at 1).
        warmup_fraction: share of the training spent warming the learning rate up.
        final_lr_fraction: learning-rate multiplier reached at the end of the training.
    """

    seq_len: tuple = (100, 50)
    steps_per_epoch: tuple = (200, 10)
    learning_rate: float = 1e-2
    warmup_fraction: float = 0.0
    final_lr_fraction: float = 0.05
    kind = "text"
    conditional = False
    corpus_chars = (None, 100_000)  # None: the whole corpus
    sample_chars = (300, 40)  # per epoch
    eval_chars = (2000, 200)
    temperature = 0.8

    def load_data(self, settings):
        from aigc_tf.text import CharVocab, load_corpus

        text = load_corpus("shakespeare", path=settings.text)
        text = text[:_pick(self.corpus_chars)]
        cut = round(len(text) * (1 - TEXT_HELD_OUT))
        return TextData(text, CharVocab(text), text[:cut], text[cut:])

    def datasets(self, model, training_data, settings, batch_size):
        from aigc_tf.text import make_char_dataset

        seq_len = _pick(self.seq_len)
        vocab = training_data.vocab
        train, validation = make_char_dataset(
            vocab.encode(training_data.text), seq_len, batch_size,
            validation_split=TEXT_HELD_OUT, seed=settings.seed, start_id=vocab.start_id,
            repeat=True, stride=max(1, seq_len // 2))
        return train, validation, _pick(self.steps_per_epoch)

    def build(self, settings, training_data):
        """The compiled model; with ``--epochs`` its learning rate follows a schedule."""
        model = self.builder(training_data.vocab)
        model.build((None, None))
        epochs = settings.epochs
        total_steps = epochs * _pick(self.steps_per_epoch) if epochs else None
        model.compile(optimizer=self.optimizer(total_steps))
        build_optimizers(model)
        return model

    def optimizer(self, total_steps=None):
        """Adam with clipping; with ``total_steps`` its rate follows warm-up then decay.

        Without ``total_steps`` (a time budget) the rate is constant and
        :class:`aigc_tf.callbacks.TimeBudget` shapes it on the clock instead.
        """
        rate = self.learning_rate
        if total_steps is not None:
            warmup = int(self.warmup_fraction * total_steps)
            rate = keras.optimizers.schedules.CosineDecay(
                rate * 1e-3 if warmup else rate, decay_steps=max(1, total_steps - warmup),
                alpha=self.final_lr_fraction, warmup_target=rate if warmup else None,
                warmup_steps=warmup)
        return keras.optimizers.Adam(rate, clipnorm=1.0)

    def generate(self, model, seed, length=None):
        return model.generate("", _pick(length or self.sample_chars),
                              temperature=self.temperature, seed=seed)

    def evaluate(self, model, seed, training_data, generated=None):
        """The text suite: bits/char on the held-out tail and metrics of a generated text."""
        from aigc_tf.metrics.text import evaluate_text

        generated = generated or self.generate(model, seed, self.eval_chars)
        return evaluate_text(generated, training_data.training_text, model,
                             training_data.held_out_text)


@dataclasses.dataclass(frozen=True)
class LatentData(ImageData):
    """Training digits and the first stage of latent diffusion: the autoencoder, the codes."""

    encoder: object = None
    decoder: object = None
    codes: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class LatentDiffusionRecipe(ImageRecipe):
    """Latent diffusion in two stages: an autoencoder, then a diffusion model of its codes.

    :meth:`first_stage` trains the autoencoder of :mod:`aigc_tf.models.latent_diffusion` for
    ``autoencoder_share`` of a ``--minutes`` budget (``autoencoder_minutes`` with
    ``--epochs``) and saves it in the run folder (``autoencoder/``); ``fit`` then trains the
    diffusion model on the codes for the rest of the budget, its learning rate decayed to
    ``final_lr_fraction`` on the clock. A resumed run loads the saved autoencoder, whose codes
    the checkpointed diffusion model learned, and keeps the time it took; only a run killed
    before its autoencoder was saved trains one again.

    Attributes:
        steps_per_epoch: diffusion steps between two epoch ends (sample grid, checkpoint).
        autoencoder_share: share of a time budget spent on the autoencoder.
        autoencoder_minutes: the autoencoder's time with an ``--epochs`` budget.
        final_lr_fraction: learning-rate multiplier reached at the end of a time budget.
        warmup_fraction: share of a time budget spent warming the learning rate up.
    """

    steps_per_epoch: tuple = (200, 5)
    autoencoder_share: float = LATENT_RECIPE["autoencoder_share"]
    autoencoder_minutes: tuple = (2, 0.05)
    final_lr_fraction: float = 0.05
    warmup_fraction: float = 0.0

    def _autoencoder_seconds(self, settings):
        if settings.epochs is not None:
            return 60 * _pick(self.autoencoder_minutes)
        minutes = settings.minutes if settings.minutes is not None else _pick(self.minutes)
        return 60 * minutes * self.autoencoder_share

    def first_stage(self, run_folder, training_data):
        """Train the autoencoder (or load a resumed run's), encode the training digits."""
        settings, images = run_folder.settings, training_data.images
        _check_batch_size(settings.batch_size or self.default_batch_size(), len(images))
        folder = run_folder.path / AUTOENCODER_DIR
        if (folder / AUTOENCODER_STAGE_FILE).is_file():
            encoder, decoder = (_load_part(folder, name) for name in ("encoder", "decoder"))
            seconds = runs.read_json(folder / AUTOENCODER_STAGE_FILE, "stage file")["seconds"]
        else:
            start = time.perf_counter()
            encoder, decoder, info = train_autoencoder(
                images, self._autoencoder_seconds(settings), seed=settings.seed)
            seconds = time.perf_counter() - start
            if not (run_folder.path / runs.RUN_FILE).is_file():
                run_folder.start()  # the run exists from here on: a kill resumes from it
            _save_autoencoder(folder, encoder, decoder,
                              {"seconds": seconds, "steps": info["steps"]})
        codes = encoder.predict(images, batch_size=1000, verbose=0)
        return LatentData(images, training_data.labels, encoder=encoder, decoder=decoder,
                          codes=codes), seconds

    def datasets(self, model, training_data, settings, batch_size):
        """``(codes, None, steps per epoch)``: shuffled codes (with labels), repeated."""
        codes = training_data.codes
        _check_batch_size(batch_size, len(codes))
        arrays = (codes, training_data.labels.astype("int32")) if self.conditional else codes
        train = data.make_dataset(arrays, batch_size=batch_size, drop_remainder=True,
                                  seed=settings.seed, repeat=True)
        return train, None, _pick(self.steps_per_epoch)

    def matches(self, model):
        return (super().matches(model) and model.decoder is not None
                and (model.num_classes is not None) == self.conditional)


def _check_batch_size(batch_size, count):
    if batch_size > count:
        raise ValueError(f"--batch-size {batch_size} is larger than the {count:,} "
                         "training images")


def _save_autoencoder(folder, encoder, decoder, stage):
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("encoder", encoder), ("decoder", decoder)):
        runs.write_atomically(folder / f"{name}.keras", part.save)
    runs.write_json(folder / AUTOENCODER_STAGE_FILE, stage)


def _load_part(folder, name):
    return keras.saving.load_model(folder / f"{name}.keras", safe_mode=True)


def optimizers(model):
    """Every optimizer of ``model``: ``model.optimizer`` and any other attribute (a GAN's
    ``d_optimizer`` and ``g_optimizer``), each with the variables it updates."""
    found = {}
    for name, value in vars(model).items():
        if isinstance(value, keras.optimizers.Optimizer) and not name.startswith("_"):
            found[name] = value
    if getattr(model, "optimizer", None) is not None:
        found["optimizer"] = model.optimizer
    return found


def build_optimizers(model):
    """Build every optimizer of ``model`` now, so its slots exist before ``fit`` (a checkpoint
    restored at the start of ``fit`` needs them)."""
    for optimizer in optimizers(model).values():
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
