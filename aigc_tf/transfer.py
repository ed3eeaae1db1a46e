"""Few-shot classification from features a model learnt for another task (notebook 15).

A *feature extractor* (a VAE encoder trained without labels, or the MNIST judge's
penultimate layer) maps each image to a vector once; a few labelled examples then train a
small classifier on those vectors. :func:`few_shot_accuracies` runs such methods on the same
random labelled draws, so their accuracies can be compared draw by draw, and
:func:`plot_few_shot` draws the means with their spread. Fine-tuning a pre-trained language
model is in :mod:`aigc_tf.fine_tuning`.
"""

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from aigc_tf import config


def _check_features(features, labels, name):
    features = np.asarray(features, dtype="float32")
    labels = np.asarray(labels)
    if features.ndim != 2 or not len(features):
        raise ValueError(f"{name} features must be a non-empty (N, D) array, got shape "
                         f"{features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} features contain NaN or infinite values")
    if labels.shape != (len(features),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} labels must be {len(features)} integers (one per row of the "
                         f"features), got {labels.dtype} {labels.shape}")
    if labels.min() < 0:
        raise ValueError(f"{name} labels must be class ids >= 0, got {labels.min()}")
    return features, labels


def _fit_full_batch(model, inputs, labels, steps):
    # One epoch of `steps` copies of the whole batch: Keras's per-epoch work happens once.
    batches = tf.data.Dataset.from_tensors((inputs, labels.astype("int32"))).repeat(steps)
    model.fit(batches, epochs=1, shuffle=False, verbose=0)


def balanced_subset(labels, count, seed=0, num_classes=10):
    """Indices of ``count`` labelled examples, ``count / num_classes`` of each class.

    Args:
        labels: integer class ids of the pool to draw from.
        count: examples to draw; a multiple of ``num_classes``.
        seed: seed of the draw.
        num_classes: number of classes (ids ``0 .. num_classes - 1``).

    Returns:
        A sorted int array of ``count`` distinct indices into ``labels``.

    Example:
        >>> labels = np.repeat(np.arange(3), 5)
        >>> picked = balanced_subset(labels, 6, seed=0, num_classes=3)
        >>> np.bincount(labels[picked]).tolist()
        [2, 2, 2]
    """
    labels = np.asarray(labels)
    if not isinstance(count, (int, np.integer)) or count < num_classes or count % num_classes:
        raise ValueError(f"count must be a positive multiple of num_classes={num_classes} "
                         f"(a balanced draw), got {count!r}")
    per_class = count // num_classes
    rng = np.random.default_rng(seed)
    picked = []
    for label in range(num_classes):
        pool = np.flatnonzero(labels == label)
        if len(pool) < per_class:
            raise ValueError(f"class {label} has {len(pool)} examples, fewer than the "
                             f"{per_class} requested per class")
        picked.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(picked))


def nearest_centroid_accuracy(train_features, train_labels, test_features, test_labels):
    """Accuracy of the nearest class mean (Euclidean): the simplest few-shot classifier.

    Each class is summarised by the mean of its labelled feature vectors; a test vector
    gets the class of the closest mean.

    Returns:
        The share of test examples classified correctly, a float in ``[0, 1]``.

    Example:
        >>> train = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0]])
        >>> test = np.array([[1.0, 0.0], [5.0, 6.0], [0.0, 6.0]])
        >>> nearest_centroid_accuracy(train, [0, 0, 1, 1], test, [0, 1, 1])
        0.6666666666666666
    """
    train_features, train_labels = _check_features(train_features, train_labels, "training")
    test_features, test_labels = _check_features(test_features, test_labels, "test")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"training and test features differ in width: "
                         f"{train_features.shape[1]} vs {test_features.shape[1]}")
    classes = np.unique(train_labels)
    centroids = np.stack([train_features[train_labels == c].mean(axis=0) for c in classes])
    distances = ((test_features[:, None] - centroids[None]) ** 2).sum(axis=-1)
    return float(np.mean(classes[distances.argmin(axis=1)] == test_labels))


def linear_probe(train_features, train_labels, test_features, test_labels, steps=300,
                 learning_rate=0.05, l2=1e-3, seed=0):
    """Test accuracy of a linear softmax classifier trained on frozen features.

    Features are standardised with the labelled examples' mean and spread, then one
    ``Dense`` layer is trained full-batch with Adam and an L2 penalty (few labels: the
    penalty keeps the weights from growing to fit them exactly).

    Args:
        train_features: ``(N, D)`` features of the labelled examples.
        train_labels: their ``N`` integer labels.
        test_features: ``(M, D)`` features to classify.
        test_labels: their ``M`` true labels.
        steps: full-batch training steps.
        learning_rate: Adam's learning rate.
        l2: L2 penalty on the weights.
        seed: seed of the initial weights.

    Returns:
        Test accuracy, a float in ``[0, 1]``.

    Example:
        Two well separated clusters, one labelled example each:

        >>> rng = np.random.default_rng(0)
        >>> test = np.concatenate([rng.normal(-3, 1, (50, 4)), rng.normal(3, 1, (50, 4))])
        >>> test_labels = np.repeat([0, 1], 50)
        >>> linear_probe(test[[0, 50]], [0, 1], test, test_labels, steps=50) > 0.9
        True
    """
    train_features, train_labels = _check_features(train_features, train_labels, "training")
    test_features, test_labels = _check_features(test_features, test_labels, "test")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"training and test features differ in width: "
                         f"{train_features.shape[1]} vs {test_features.shape[1]}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    mean, scale = train_features.mean(axis=0), train_features.std(axis=0) + 1e-6
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    config.set_seed(seed)
    probe = keras.Sequential([
        keras.Input((train_features.shape[1],)),
        keras.layers.Dense(num_classes, kernel_regularizer=keras.regularizers.L2(l2)),
    ])
    probe.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    _fit_full_batch(probe, (train_features - mean) / scale, train_labels, steps)
    logits = probe.predict((test_features - mean) / scale, batch_size=1000, verbose=0)
    return float(np.mean(logits.argmax(axis=1) == test_labels))


def train_from_scratch(build_model, images, labels, test_images, test_labels, steps=200,
                       learning_rate=1e-3, seed=0):
    """Test accuracy of a network trained from random weights on ``images`` alone.

    Args:
        build_model: function returning an uncompiled ``keras.Model`` that maps images to
            class logits (e.g. :func:`aigc_tf.models.classifier.build_mnist_classifier`).
        images, labels: the few labelled examples.
        test_images, test_labels: the test set.
        steps: full-batch training steps.
        learning_rate: Adam's learning rate.
        seed: seed of the initial weights (and dropout).

    Returns:
        Test accuracy, a float in ``[0, 1]``.

    Example:
        >>> def tiny():
        ...     return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
        >>> points = np.array([[-2.0, 0.0], [2.0, 0.0]])
        >>> test = np.array([[-1.0, 1.0], [1.5, -1.0], [3.0, 2.0]])
        >>> train_from_scratch(tiny, points, [0, 1], test, [0, 1, 1], steps=100,
        ...                    learning_rate=0.1)
        1.0
    """
    images, test_images = np.asarray(images, "float32"), np.asarray(test_images, "float32")
    labels, test_labels = np.asarray(labels), np.asarray(test_labels)
    for name, x, y in (("training", images, labels), ("test", test_images, test_labels)):
        if not len(x) or y.shape != (len(x),):
            raise ValueError(f"{name} set: expected a non-empty batch and one label per "
                             f"example, got {len(x)} examples and labels of shape {y.shape}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    config.set_seed(seed)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    _fit_full_batch(model, images, labels, steps)
    logits = model.predict(test_images, batch_size=500, verbose=0)
    return float(np.mean(logits.argmax(axis=1) == test_labels))


def few_shot_accuracies(methods, labels, counts=(10, 100), draws=5, seed=0, num_classes=10):
    """Run every method on the same balanced labelled draws.

    Args:
        methods: dict name -> function ``(indices) -> test accuracy``; ``indices`` select
            the labelled examples from the pool ``labels`` describes.
        labels: labels of the pool the labelled examples are drawn from.
        counts: numbers of labelled examples (each a multiple of ``num_classes``).
        draws: random labelled sets per count (seeds ``seed, seed + 1, ...``).
        seed: seed of the first draw.
        num_classes: classes in ``labels``.

    Returns:
        dict name -> {count: array of ``draws`` accuracies}.

    Example:
        >>> labels = np.repeat(np.arange(2), 10)
        >>> result = few_shot_accuracies({"share of class 1": lambda i: labels[i].mean()},
        ...                              labels, counts=(2, 4), draws=3, num_classes=2)
        >>> result["share of class 1"][4].tolist()
        [0.5, 0.5, 0.5]
    """
    if not methods:
        raise ValueError("methods must be a non-empty dict of name -> function(indices)")
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    results = {name: {} for name in methods}
    for count in counts:
        subsets = [balanced_subset(labels, count, seed + d, num_classes) for d in range(draws)]
        for name, method in methods.items():
            results[name][count] = np.array([method(indices) for indices in subsets])
    return results


def plot_few_shot(results, chance=None, title="few-shot test accuracy"):
    """Mean accuracy against the number of labelled examples, one line per method.

    Error bars show the standard deviation over the labelled draws.

    Args:
        results: :func:`few_shot_accuracies`'s dict.
        chance: optional accuracy of guessing, drawn as a dotted line.
        title: the panel title.

    Returns:
        A matplotlib ``Figure``.

    Example:
        >>> fig = plot_few_shot({"probe": {10: np.array([0.5, 0.6]), 100: np.array([0.8])}},
        ...                     chance=0.1)
        >>> fig.axes[0].get_xscale()
        'log'
    """
    if not results:
        raise ValueError("results must be a non-empty dict of method -> {count: accuracies}")
    fig = Figure(figsize=(5.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for name, by_count in results.items():
        counts = sorted(by_count)
        means = [np.mean(by_count[c]) for c in counts]
        spreads = [np.std(by_count[c]) for c in counts]
        ax.errorbar(counts, means, yerr=spreads, marker="o", capsize=3, label=name)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle=":", label="chance")
    ax.set_xscale("log")
    all_counts = sorted({c for by_count in results.values() for c in by_count})
    ax.set_xticks(all_counts, [str(c) for c in all_counts])
    ax.set_xlabel("labelled examples")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig
