"""Hidden cases for notebook 18 (uses and risks: detecting generated digits, copies)."""

import numpy as np

from aigc_tf.exercises import check_cases, exercise


@exercise("18.balanced_accuracy",
          hint="flag an image as generated when its score is >= threshold; balanced accuracy "
               "is the mean of (share of generated images flagged) and (share of real images "
               "not flagged), not the share of all images classified correctly")
def _balanced_accuracy_cases(balanced_accuracy):
    from aigc_tf.detection import detection_rates

    rng = np.random.default_rng(18)
    cases = [
        ("90 real and 10 generated, every score 0.1 (accuracy would be 0.9)",
         np.full(100, 0.1), np.repeat([0, 1], [90, 10]), 0.5),
        ("a generated image scoring exactly the threshold counts as flagged",
         [0.2, 0.3, 0.5, 0.9], [0, 0, 1, 1], 0.5),
        ("scores as a Python list, threshold 0.3", [0.1, 0.4, 0.25, 0.35, 0.8], [0, 0, 1, 1, 1],
         0.3),
    ]
    for threshold in (0.2, 0.7):
        targets = rng.integers(0, 2, 200)
        targets[:2] = (0, 1)  # both classes present
        scores = np.clip(0.3 * targets + rng.random(200) * 0.7, 0, 1)
        cases.append((f"200 random scores, threshold {threshold}", scores, targets, threshold))
    return check_cases(balanced_accuracy, cases,
                       lambda scores, targets, threshold: detection_rates(
                           scores, targets, threshold)["balanced_accuracy"],
                       rtol=0, atol=1e-9)


@exercise("18.copy_share",
          hint="for each sample take the Euclidean distance (over all pixels) to its nearest "
               "training image; divide it by the MEDIAN of the same distance for the reference "
               "images; a copy is a ratio strictly below the threshold")
def _copy_share_cases(copy_share):
    from aigc_tf.metrics.images import memorisation

    rng = np.random.default_rng(81)
    train = rng.random((40, 4, 4, 1))
    reference = rng.random((30, 4, 4, 1))
    near = np.clip(train[:10] + 0.02 * rng.standard_normal((10, 4, 4, 1)), 0, 1)
    mix = np.concatenate([near, rng.random((10, 4, 4, 1))])
    # 12 training images in the reference: the median and the mean of its distances differ
    skewed = np.concatenate([train[:12], reference[:18]])
    cases = [
        ("samples that are training images", train[5:15], train, reference, 0.5),
        ("new random images", rng.random((20, 4, 4, 1)), train, reference, 0.5),
        ("10 near-copies and 10 new images", mix, train, reference, 0.5),
        ("the same mix with threshold 0.9", mix, train, reference, 0.9),
        ("the same mix against a reference that holds training images", mix, train, skewed,
         0.9),
    ]
    return check_cases(copy_share, cases,
                       lambda samples, train_images, reference_images, threshold: memorisation(
                           samples, train_images, reference_images,
                           threshold=threshold)["copy_share"],
                       rtol=0, atol=1e-9)
