"""Telling generated digits from real ones: a small CNN detector and how to score it.

A detector is a binary classifier that outputs the probability that an image is *generated*
(label 1) rather than real (label 0). :func:`train_detector` fits one on real digits against
samples of one or more generators, balancing the two classes with class weights;
:func:`score_per_generator` reports, for every generator, the share of its samples the
detector catches next to the share of real digits it lets through, and
:func:`leave_one_generator_out` trains one detector per generator without it, to measure how
the detector does on a generator it has never seen. Images are MNIST-shaped, pixels in [0, 1].
"""

import keras
import numpy as np

from aigc_tf import config, data

REAL, GENERATED = 0, 1
THRESHOLD = 0.5  # a score at or above it means "generated"


def _checked_images(images, name):
    return data.check_images(images, name=name, value_range=(0, 1),
                             why=" (detector inputs are pixels in [0, 1])").astype("float32")


def build_detector(input_shape=data.MNIST_SHAPE, filters=(16, 32), dropout=0.25,
                   name="detector"):
    """A small CNN: strided convolutions, then one sigmoid unit, P(image is generated).

    Args:
        input_shape: shape of one image.
        filters: filters of each 3x3 convolution (stride 2, ReLU).
        dropout: dropout rate before the output unit.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` mapping images to probabilities of shape ``(N, 1)``.

    Example:
        >>> detector = build_detector()
        >>> detector.output_shape, detector.count_params()
        ((None, 1), 6369)
    """
    if not filters or any(int(f) < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty list of positive counts, got {filters!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    layers = [keras.Input(tuple(input_shape))]
    layers += [keras.layers.Conv2D(int(f), 3, strides=2, padding="same", activation="relu")
               for f in filters]
    layers += [keras.layers.Flatten(), keras.layers.Dropout(dropout),
               keras.layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(layers, name=name)


def detection_set(real_images, generated_images):
    """Real and generated images in one array with their targets (0 real, 1 generated).

    Example:
        >>> images, is_generated = detection_set(np.zeros((3, 28, 28, 1)),
        ...                                      np.ones((2, 28, 28, 1)))
        >>> images.shape, is_generated.tolist()
        ((5, 28, 28, 1), [0, 0, 0, 1, 1])
    """
    real = _checked_images(real_images, "real_images")
    fake = _checked_images(generated_images, "generated_images")
    targets = np.concatenate([np.full(len(real), REAL), np.full(len(fake), GENERATED)])
    return np.concatenate([real, fake]), targets.astype("int32")


def _balancing_weights(targets):
    counts = np.bincount(targets, minlength=2)
    return {label: len(targets) / (2 * counts[label]) for label in (REAL, GENERATED)}


def train_detector(real_images, generated_images, epochs=8, batch_size=64, learning_rate=3e-3,
                   seed=0, verbose=0, **builder_kwargs):
    """Build a detector and fit it on real against generated images.

    Class weights make both classes count equally, whatever their numbers of images.

    Args:
        real_images: real digits ``(N, 28, 28, 1)`` in [0, 1].
        generated_images: generated digits ``(M, 28, 28, 1)`` in [0, 1] (one or several
            generators' samples concatenated).
        epochs: passes over the data.
        batch_size: images per step.
        learning_rate: Adam's learning rate.
        seed: seeds the weights and the shuffling (:func:`aigc_tf.config.set_seed`).
        verbose: passed to ``fit``.
        **builder_kwargs: passed to :func:`build_detector`.

    Returns:
        The trained detector (a compiled ``keras.Model``).

    Example:
        >>> detector = train_detector(np.zeros((4, 28, 28, 1)), np.ones((4, 28, 28, 1)),
        ...                           epochs=1, batch_size=8)
        >>> detector_scores(detector, np.ones((3, 28, 28, 1))).shape
        (3,)
    """
    images, targets = detection_set(real_images, generated_images)
    data.check_count(epochs, "epochs")
    data.check_count(batch_size, "batch_size")
    config.set_seed(seed)
    detector = build_detector(input_shape=images.shape[1:], **builder_kwargs)
    detector.compile(optimizer=keras.optimizers.Adam(learning_rate),
                     loss=keras.losses.BinaryCrossentropy(),
                     metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
    detector.fit(images, targets, batch_size=batch_size, epochs=epochs, shuffle=True,
                 class_weight=_balancing_weights(targets), verbose=verbose)
    return detector


def detector_scores(detector, images, batch_size=1000):
    """The detector's probability that each image is generated, a NumPy array ``(N,)``."""
    images = _checked_images(images, "images")
    data.check_count(batch_size, "batch_size")
    # direct calls, not predict(): no function to trace for each new detector
    return np.concatenate([
        keras.ops.convert_to_numpy(detector(images[start:start + batch_size], training=False))
        for start in range(0, len(images), batch_size)]).reshape(-1)


def _checked_scores(scores, is_generated):
    scores = np.asarray(scores, dtype="float64")
    targets = np.asarray(is_generated)
    if scores.ndim != 1 or targets.shape != scores.shape:
        raise ValueError("scores and is_generated must be 1-D arrays of the same length, got "
                         f"shapes {scores.shape} and {targets.shape}")
    if len(scores) == 0:
        raise ValueError("scores is empty; expected at least one real and one generated image")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite, but contain NaN or inf")
    if not np.all((targets == REAL) | (targets == GENERATED)):
        raise ValueError("is_generated must hold only 0 (real) and 1 (generated)")
    targets = targets.astype(bool)
    if targets.all() or not targets.any():
        raise ValueError("is_generated must contain both real (0) and generated (1) images")
    return scores, targets


def detection_rates(scores, is_generated, threshold=THRESHOLD):
    """Accuracy of thresholded scores, overall and per class.

    A score at or above ``threshold`` means "generated". ``detected`` is the share of
    generated images flagged (true-positive rate), ``real_passed`` the share of real images
    let through (true-negative rate) and ``balanced_accuracy`` their mean, which, unlike
    ``accuracy``, does not reward a detector for always answering the larger class.

    Args:
        scores: detector scores ``(N,)``.
        is_generated: targets ``(N,)``, 0 for real and 1 for generated; both must occur.
        threshold: the decision threshold.

    Returns:
        ``{"accuracy", "balanced_accuracy", "detected", "real_passed"}`` as floats.

    Example:
        >>> rates = detection_rates([0.1, 0.2, 0.3, 0.9, 0.7, 0.4], [0, 0, 0, 0, 1, 1])
        >>> {name: round(value, 3) for name, value in rates.items()}
        {'accuracy': 0.667, 'balanced_accuracy': 0.625, 'detected': 0.5, 'real_passed': 0.75}
    """
    scores, targets = _checked_scores(scores, is_generated)
    flagged = scores >= threshold
    detected = float(np.mean(flagged[targets]))
    real_passed = float(np.mean(~flagged[~targets]))
    return {"accuracy": float(np.mean(flagged == targets)),
            "balanced_accuracy": (detected + real_passed) / 2,
            "detected": detected, "real_passed": real_passed}


def score_per_generator(detector, real_images, generated_by_name, threshold=THRESHOLD):
    """:func:`detection_rates` of one detector for each generator against the same real images.

    Args:
        detector: a trained detector (:func:`train_detector`).
        real_images: held-out real digits in [0, 1].
        generated_by_name: ``{generator name: its samples}``, samples in [0, 1].
        threshold: the decision threshold.

    Returns:
        ``{generator name: rates}``; ``real_passed`` is the same in every row.
    """
    if not generated_by_name:
        raise ValueError("generated_by_name is empty; expected {name: samples} for at least "
                         "one generator")
    real_scores = detector_scores(detector, real_images)
    results = {}
    for name, images in generated_by_name.items():
        scores = np.concatenate([real_scores, detector_scores(detector, images)])
        targets = np.repeat([REAL, GENERATED], [len(real_scores), len(scores) - len(real_scores)])
        results[name] = detection_rates(scores, targets, threshold)
    return results


def leave_one_generator_out(real_train, generated_train, real_test, generated_test,
                            threshold=THRESHOLD, held_out=None, **train_kwargs):
    """For each generator, train a detector on all the others and score it on every one.

    Args:
        real_train: real digits to train each detector on.
        generated_train: ``{generator name: training samples}``, at least two generators.
        real_test: held-out real digits.
        generated_test: ``{generator name: test samples}`` with the same names.
        threshold: the decision threshold.
        held_out: the names to leave out in turn (None: every generator).
        **train_kwargs: passed to :func:`train_detector`.

    Returns:
        ``{held-out name: {"held_out": its rates, "seen": {other name: rates}}}``.
    """
    if len(generated_train) < 2:
        raise ValueError("leave-one-generator-out needs at least two generators, got "
                         f"{len(generated_train)}")
    if set(generated_train) != set(generated_test):
        raise ValueError("generated_train and generated_test must name the same generators, "
                         f"got {sorted(generated_train)} and {sorted(generated_test)}")
    for split, samples in (("training", generated_train), ("test", generated_test)):
        for name, images in samples.items():
            _checked_images(images, f"{split} samples of {name!r}")
    held_out = list(generated_train) if held_out is None else list(held_out)
    unknown = sorted(set(held_out) - set(generated_train))
    if not held_out or unknown:
        raise ValueError(f"held_out must name one or more of {sorted(generated_train)}, got "
                         f"{held_out!r}")
    results = {}
    for left_out in held_out:
        others = [images for name, images in generated_train.items() if name != left_out]
        detector = train_detector(real_train, np.concatenate(others), **train_kwargs)
        rates = score_per_generator(detector, real_test, generated_test, threshold)
        results[left_out] = {"held_out": rates.pop(left_out), "seen": rates}
    return results
