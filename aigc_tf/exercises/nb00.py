"""Hidden cases for notebook 00 (start here: value ranges, a judge-free label)."""

import numpy as np

from aigc_tf.exercises import check_cases, exercise, expect_close

_RANGES = ((0, 1), (-1, 1), (0, 255))


@exercise("00.rescale",
          hint="first map from_range onto [0, 1] (subtract its low end, divide by its width), "
               "then stretch [0, 1] onto to_range (multiply by its width, add its low end)")
def _rescale_cases(rescale):
    from aigc_tf.data import rescale as library_rescale

    rng = np.random.default_rng(0)
    cases = [(source, target) for source in _RANGES for target in _RANGES if source != target]
    for source, target in cases:
        low, high = source
        # Both ends of the range exactly, then random pixels in between.
        images = np.concatenate([[low, high], rng.uniform(low, high, size=30)])
        images = images.reshape(2, 4, 4, 1)
        got = rescale(images.copy(), source, target)
        expected = library_rescale(images, source, target)
        expect_close(f"images in {source} mapped to {target}", got, expected,
                     rtol=1e-5, atol=1e-3 * (target[1] - target[0]))
    return len(cases)


def _nearest_labels(train_images, train_labels, images):
    """The label of each image's nearest training image, by a plain loop (no shortcuts)."""
    train_rows = train_images.reshape(len(train_images), -1)
    labels = []
    for row in images.reshape(len(images), -1):
        labels.append(train_labels[np.argmin(((train_rows - row) ** 2).sum(axis=1))])
    return np.array(labels)


def _nearest_neighbour_cases():
    rng = np.random.default_rng(1)
    train = rng.uniform(size=(20, 4, 4, 1))
    train_labels = rng.integers(10, size=20)
    # All-bright (label 1) and dim (label 2) training images: a dim query is nearest the dim
    # one, although its dot product with the bright one is larger.
    bright_dim = np.stack([np.full((3, 3, 1), 1.0), np.full((3, 3, 1), 0.3)])
    big_train = rng.uniform(size=(50, 28, 28, 1))
    return [
        ("queries that are copies of training images 3, 7, 7 and 0", train, train_labels,
         train[[3, 7, 7, 0]]),
        ("15 random 4x4 images", train, train_labels, rng.uniform(size=(15, 4, 4, 1))),
        ("a dim image next to an all-bright and a dim training image", bright_dim,
         np.array([1, 2]), np.full((1, 3, 3, 1), 0.35)),
        ("10 random 28x28x1 images against 50 training images", big_train,
         rng.integers(10, size=50), rng.uniform(size=(10, 28, 28, 1))),
    ]


@exercise("00.nearest_neighbour_labels",
          hint="flatten every image to one row of pixels, compute the sum of squared pixel "
               "differences to every training row, and take the label of the smallest; "
               "one label per image, in order")
def _nearest_neighbour_labels_cases(nearest_neighbour_labels):
    return check_cases(nearest_neighbour_labels, _nearest_neighbour_cases(), _nearest_labels,
                       rtol=0, atol=0)
