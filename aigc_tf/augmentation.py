"""Data augmentation: label-preserving transforms for a classifier, differentiable ones for a GAN.

Two uses of the same idea, showing the model transformed copies of its training images:

* **A classifier** trained on few labelled digits learns more from randomly shifted and
  rotated copies, as long as the transform keeps the label (a flipped 2 is no 2).
  :func:`classifier_augmentation` stacks Keras preprocessing layers (``RandomTranslation``,
  ``RandomRotation``, ``RandomFlip``); they transform only while training.
* **A GAN's discriminator** overfits a small training set. *Differentiable augmentation*
  (DiffAugment, Zhao et al., 2020) transforms real **and** generated images with the same
  random policy before the discriminator, in both players' losses. The transforms are written
  with ``keras.ops`` so the generator's gradient flows through them: augmenting only the real
  images would teach the generator to draw augmented digits (cut-out squares, shifted frames).

Every transform here keeps images in their ``value_range``: translation and cutout fill with
the background (the range's low end, black for MNIST), and the colour transform *blends*
towards black, white or the image's mean, where DiffAugment adds and scales without bounds.

Example:
    >>> images = np.full((2, 28, 28, 1), -1.0, "float32")
    >>> augmented = diff_augment(images, "translation,cutout", value_range=(-1, 1), seed=0)
    >>> tuple(augmented.shape), float(ops.min(augmented)), float(ops.max(augmented))
    ((2, 28, 28, 1), -1.0, -1.0)
"""

import keras
import numpy as np  # noqa: F401  (the docstring examples use it)
from keras import ops

from aigc_tf import data

#: DiffAugment's transforms, in the order a policy applies them.
POLICIES = ("color", "translation", "cutout")
#: Largest shift as a share of the image side (1/8, as in DiffAugment).
TRANSLATION_RATIO = 0.125
#: Side of the cut-out square as a share of the image side (1/2, as in DiffAugment).
CUTOUT_RATIO = 0.5
#: Largest blend towards black/white (brightness) or towards the mean (contrast).
COLOR_STRENGTH = 0.5
CLASSIFIER_AUGMENTATIONS = ("none", "flip", "shift", "rotate", "shift_rotate")
_REGISTER = keras.saving.register_keras_serializable(package="aigc_tf")


def parse_policy(policy):
    """The transforms named by a DiffAugment policy string, in :data:`POLICIES` order.

    Args:
        policy: comma-separated names from :data:`POLICIES`, e.g. ``"translation,cutout"``.

    Returns:
        A tuple of names.

    Example:
        >>> parse_policy("cutout, translation")
        ('translation', 'cutout')
        >>> parse_policy("flip")
        Traceback (most recent call last):
            ...
        ValueError: unknown augmentation 'flip' in policy 'flip'; expected comma-separated
        names from ['color', 'translation', 'cutout']
    """
    if not isinstance(policy, str):
        raise ValueError(f"policy must be a string of names from {list(POLICIES)}, "
                         f"got {policy!r}")
    names = [name.strip() for name in policy.split(",") if name.strip()]
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown augmentation {name!r} in policy {policy!r}; expected "
                             f"comma-separated names from {list(POLICIES)}")
    if not names:
        raise ValueError(f"policy {policy!r} names no augmentation; expected names from "
                         f"{list(POLICIES)}")
    return tuple(name for name in POLICIES if name in names)


def _check_batch(images):
    """``images`` as a float tensor of shape ``(batch, height, width, channels)``."""
    images = ops.convert_to_tensor(images)
    if len(images.shape) != 4:
        raise ValueError(f"images must have shape (batch, height, width, channels), got "
                         f"shape {tuple(images.shape)}")
    if not str(images.dtype).startswith(("float", "bfloat")):
        images = ops.cast(images, "float32")
    return images


def _check_value_range(value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be (low, high), got {value_range!r}") from None
    if not low < high:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    return low, high


def _shift_matrices(shifts, size, dtype):
    """One-hot matrices ``S[b, i, j] = 1`` where ``j = i - shifts[b]``: row ``i`` of the
    output takes row ``i - shift`` of the input, and rows shifted in from outside are 0."""
    positions = ops.arange(size, dtype="int32")
    source = positions[None, :, None] - ops.cast(shifts, "int32")[:, None, None]
    return ops.cast(ops.equal(source, positions[None, None, :]), dtype)


def translate(images, shifts, fill=0.0):
    """Shift each image by whole pixels, filling the uncovered border with ``fill``.

    A shift is a linear map, a product with a one-hot *shift matrix* on each side
    (``S_y @ (x - fill) @ S_x^T + fill``), so gradients flow from the output to every pixel
    that moved into view.

    Args:
        images: batch ``(batch, height, width, channels)``.
        shifts: integer shifts ``(batch, 2)``: rows down and columns right (negative: up, left).
        fill: value of the pixels shifted in (the background).

    Returns:
        A tensor of the same shape as ``images``.

    Example:
        >>> x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
        >>> ops.convert_to_numpy(translate(x, [[1, -1]]))[0, :, :, 0]
        array([[0., 0., 0.],
               [1., 2., 0.],
               [4., 5., 0.]], dtype=float32)
    """
    images = _check_batch(images)
    shifts = ops.convert_to_tensor(shifts)
    if len(shifts.shape) != 2 or shifts.shape[1] != 2:
        raise ValueError(f"shifts must have shape (batch, 2), got shape {tuple(shifts.shape)}")
    _, height, width, _ = images.shape
    rows = _shift_matrices(shifts[:, 0], height, images.dtype)
    cols = _shift_matrices(shifts[:, 1], width, images.dtype)
    moved = ops.einsum("bij,bjwc->biwc", rows, images - fill)
    return ops.einsum("bkw,biwc->bikc", cols, moved) + fill


def cutout(images, centres, size, fill=0.0):
    """Replace a ``size`` x ``size`` square around each centre by ``fill``.

    Squares may reach past the border (only their inside part is cut), as in DiffAugment.

    Args:
        images: batch ``(batch, height, width, channels)``.
        centres: integer ``(batch, 2)``: row and column of each square's centre.
        size: side of the square in pixels (>= 1).
        fill: value of the cut-out pixels.

    Example:
        >>> x = np.ones((1, 4, 4, 1), "float32")
        >>> ops.convert_to_numpy(cutout(x, [[0, 0]], size=2))[0, :, :, 0]
        array([[0., 1., 1., 1.],
               [1., 1., 1., 1.],
               [1., 1., 1., 1.],
               [1., 1., 1., 1.]], dtype=float32)
    """
    images = _check_batch(images)
    size = data.check_count(size, "size")
    centres = ops.cast(ops.convert_to_tensor(centres), "int32")
    if len(centres.shape) != 2 or centres.shape[1] != 2:
        raise ValueError(f"centres must have shape (batch, 2), got shape {tuple(centres.shape)}")
    _, height, width, _ = images.shape
    starts = centres - size // 2

    def inside(positions, start):
        offset = positions[None, :] - start[:, None]
        return ops.logical_and(offset >= 0, offset < size)

    hole = ops.logical_and(inside(ops.arange(height, dtype="int32"), starts[:, 0])[:, :, None],
                           inside(ops.arange(width, dtype="int32"), starts[:, 1])[:, None, :])
    return ops.where(hole[..., None], ops.cast(fill, images.dtype), images)


def blend(images, targets, amounts):
    """``x + a (t - x)`` per image: a convex blend towards ``targets`` that stays in range.

    Args:
        images: batch ``(batch, height, width, channels)``.
        targets: what to blend towards, broadcastable to ``images`` (a value per image,
            ``(batch, 1, 1, 1)``, or whole images).
        amounts: blend weights in [0, 1], one per image ``(batch,)``.

    Example:
        >>> x = np.zeros((2, 2, 2, 1), "float32")
        >>> ops.convert_to_numpy(blend(x, 1.0, [0.0, 0.25]))[:, 0, 0, 0]
        array([0.  , 0.25], dtype=float32)
    """
    images = _check_batch(images)
    amounts = ops.reshape(ops.cast(amounts, images.dtype), (-1, 1, 1, 1))
    return images + amounts * (ops.cast(targets, images.dtype) - images)


def random_translation(images, seed, fill=0.0, ratio=TRANSLATION_RATIO):
    """Shift each image by a random whole number of pixels, up to ``ratio`` of its side."""
    images = _check_batch(images)
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    limit = int(max(height, width) * ratio + 0.5)
    shifts = keras.random.randint((batch, 2), -limit, limit + 1, seed=seed)
    return translate(images, shifts, fill)


def random_cutout(images, seed, fill=0.0, ratio=CUTOUT_RATIO):
    """Cut out one square of side ``ratio`` times the image side at a random centre."""
    images = _check_batch(images)
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    rows = keras.random.randint((batch, 1), 0, height, seed=seed)
    cols = keras.random.randint((batch, 1), 0, width, seed=seed)
    size = max(1, int(min(height, width) * ratio + 0.5))
    return cutout(images, ops.concatenate([rows, cols], axis=1), size, fill)


def random_color(images, seed, value_range=(0.0, 1.0), strength=COLOR_STRENGTH):
    """Random brightness (blend towards white or black) then contrast (towards the mean)."""
    images = _check_batch(images)
    low, high = _check_value_range(value_range)
    batch = ops.shape(images)[0]
    brightness = keras.random.uniform((batch,), -strength, strength, seed=seed)
    target = ops.where(brightness > 0, high, low)
    images = blend(images, ops.reshape(target, (-1, 1, 1, 1)), ops.abs(brightness))
    contrast = keras.random.uniform((batch,), 0.0, strength, seed=seed)
    means = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return blend(images, means, contrast)


def diff_augment(images, policy="color,translation,cutout", value_range=(0.0, 1.0), seed=None):
    """Apply a DiffAugment policy to a batch: differentiable, in range, one draw per image.

    Args:
        images: batch ``(batch, height, width, channels)`` with values in ``value_range``.
        policy: comma-separated names from :data:`POLICIES`.
        value_range: ``(low, high)`` of the pixels; ``low`` is the fill (background).
        seed: an int, a ``keras.random.SeedGenerator`` (a new draw each call), or None.

    Returns:
        A tensor of the same shape, values in ``value_range``.

    Example:
        >>> x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
        >>> a = diff_augment(x, "color,translation,cutout", seed=1)
        >>> b = diff_augment(x, "color,translation,cutout", seed=1)
        >>> bool(ops.all(a == b)), bool(ops.min(a) >= 0 and ops.max(a) <= 1)
        (True, True)
    """
    names = parse_policy(policy)
    low, high = _check_value_range(value_range)
    if isinstance(seed, int):
        seed = keras.random.SeedGenerator(seed)
    images = _check_batch(images)
    if "color" in names:
        images = random_color(images, seed, (low, high))
    if "translation" in names:
        images = random_translation(images, seed, fill=low)
    if "cutout" in names:
        images = random_cutout(images, seed, fill=low)
    return images


@_REGISTER
class DiffAugment(keras.layers.Layer):
    """Differentiable augmentation as a layer, for a GAN's discriminator inputs.

    Like Keras's random preprocessing layers it transforms only when ``training`` is true;
    unlike them it is meant to sit *inside* the training step, where gradients pass through
    it to the generator. ``GAN(..., augment="translation,cutout")`` builds one.

    Args:
        policy: comma-separated names from :data:`POLICIES` (DiffAugment's default is all
            three, ``"color,translation,cutout"``).
        value_range: pixel range of the images (``(-1, 1)`` for a tanh generator).
        seed: seed of the random transforms (None: a random seed).
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> layer = DiffAugment("translation", value_range=(-1, 1), seed=0)
        >>> x = np.zeros((3, 28, 28, 1), "float32")
        >>> tuple(layer(x, training=True).shape), bool(ops.all(layer(x) == x))
        ((3, 28, 28, 1), True)
    """

    def __init__(self, policy="color,translation,cutout", value_range=(0.0, 1.0), seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.names = parse_policy(policy)
        self.value_range = _check_value_range(value_range)
        self.policy = ",".join(self.names)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        return diff_augment(images, self.policy, self.value_range, self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "policy": self.policy,
                "value_range": list(self.value_range), "seed": self.seed}


def classifier_augmentation(name, seed=None, max_shift=0.1, max_degrees=10.0):
    """Keras preprocessing layers that augment digits for a classifier (active in training).

    Args:
        name: ``"none"``, ``"flip"`` (horizontal and vertical flips: they change many digits'
            labels), ``"shift"`` (up to ``max_shift`` of the side), ``"rotate"`` (up to
            ``max_degrees``) or ``"shift_rotate"``.
        seed: seed of the layers' random draws.
        max_shift: largest shift as a share of the image side.
        max_degrees: largest rotation in degrees.

    Returns:
        A ``keras.Sequential`` (an ``Identity`` layer for ``"none"``).

    Example:
        >>> [layer.__class__.__name__ for layer in classifier_augmentation("shift_rotate").layers]
        ['RandomTranslation', 'RandomRotation']
    """
    if name not in CLASSIFIER_AUGMENTATIONS:
        raise ValueError(f"unknown classifier augmentation {name!r}; expected one of "
                         f"{list(CLASSIFIER_AUGMENTATIONS)}")
    layers = [keras.layers.Identity()] if name == "none" else []
    if name == "flip":
        layers.append(keras.layers.RandomFlip("horizontal_and_vertical", seed=seed))
    if name in ("shift", "shift_rotate"):
        layers.append(keras.layers.RandomTranslation(max_shift, max_shift, fill_mode="constant",
                                                     seed=seed))
    if name in ("rotate", "shift_rotate"):
        layers.append(keras.layers.RandomRotation(max_degrees / 360, fill_mode="constant",
                                                  seed=None if seed is None else seed + 1))
    return keras.Sequential(layers, name=f"augment_{name}")


def build_augmented_classifier(augmentation="none", seed=None, learning_rate=1e-3):
    """The judge's network behind :func:`classifier_augmentation`, compiled with Adam.

    The augmentation layers are part of the model, so ``fit`` augments each batch afresh and
    ``evaluate``/``predict`` see the images unchanged.

    Args:
        augmentation: a name accepted by :func:`classifier_augmentation`.
        seed: seed of the augmentation's random draws.
        learning_rate: Adam's learning rate.

    Example:
        >>> model = build_augmented_classifier("shift", seed=0)
        >>> model.output_shape, model.layers[0].name
        ((None, 10), 'augment_shift')
    """
    from aigc_tf.models.classifier import build_mnist_classifier

    model = keras.Sequential([keras.Input(data.MNIST_SHAPE),
                              classifier_augmentation(augmentation, seed),
                              build_mnist_classifier()], name=f"classifier_{augmentation}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
