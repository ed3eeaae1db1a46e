import numpy as np
import pytest
import scipy.linalg
from matplotlib.figure import Figure

from aigc_tf import data, plotting
from aigc_tf.metrics import images as metrics
from aigc_tf.models.classifier import load_mnist_judge

NOISE_LEVELS = (0.0, 0.1, 0.2, 0.4)


@pytest.fixture(scope="module")
def judge():
    return load_mnist_judge(verbose=False)


@pytest.fixture(scope="module")
def reference(judge):
    return metrics.real_reference(judge=judge)


@pytest.fixture(scope="module")
def train(judge):
    """1,000 random training digits (the 'real samples') with features and judge classes."""
    images, labels = data.load_mnist("train")
    chosen = np.random.default_rng(0).choice(len(images), 1000, replace=False)
    images, labels = images[chosen], labels[chosen]
    return {"images": images, "labels": labels, "features": judge.features(images),
            "classes": judge.predict_labels(images)}


@pytest.fixture(scope="module")
def noisy_scores(judge, reference, train):
    """FD, KID, precision and recall of the training sample with growing pixel noise."""
    rng = np.random.default_rng(1)
    scores = []
    for sigma in NOISE_LEVELS:
        noisy = np.clip(train["images"] + rng.normal(0, sigma, train["images"].shape), 0, 1)
        features = judge.features(noisy)
        scores.append({
            "fd": metrics.frechet_distance(features, reference.features),
            "kid": metrics.kid(features, reference.features)["mean"],
            **metrics.precision_recall(reference.features, features),
        })
    return scores


# ------------------------------------------------------------------ closed forms and toys


def test_gaussian_frechet_distance_matches_closed_form_for_diagonal_covariances():
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    distance = metrics.gaussian_frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert distance == pytest.approx(expected, rel=1e-12)  # 5 + 4 + 1 + 0 = 10


def test_frechet_distance_matches_scipy_sqrtm_reference():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(1.0, size=(300, 6)) @ rng.normal(size=(6, 6))
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = (np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2 * np.trace(root))
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_handles_singular_covariances():
    rng = np.random.default_rng(0)
    few = rng.normal(size=(5, 20))  # 5 samples in 20 dimensions: rank-4 covariance
    distance = metrics.frechet_distance(few, few + 1.0)
    # a shift by 1 in each of 20 dimensions; the 16 zero eigenvalues come out as +-1e-14 and
    # their square roots (1e-7 each) limit the accuracy
    assert distance == pytest.approx(20.0, abs=1e-5)


def _naive_unbiased_mmd2(x, y):
    def kernel(u, v):
        return (u @ v / len(u) + 1) ** 3

    m = len(x)
    within = sum(kernel(x[i], x[j]) + kernel(y[i], y[j])
                 for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    return within - 2 * across


def test_kid_matches_a_naive_double_loop_and_is_unbiased():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), rng.normal(0.5, size=(12, 3))
    result = metrics.kid(x, y, num_subsets=5, subset_size=12)
    assert result["mean"] == pytest.approx(_naive_unbiased_mmd2(x, y), rel=1e-10)
    assert result["std"] == 0.0  # every subset is the whole of both sets
    same = [metrics.kid(rng.normal(size=(300, 3)), rng.normal(size=(300, 3)))["mean"]
            for _ in range(20)]
    shifted = metrics.kid(rng.normal(size=(300, 3)), rng.normal(0.5, size=(300, 3)))["mean"]
    assert abs(np.mean(same)) < 0.1 * shifted  # no bias: same-distribution KID averages ~0
    spread = metrics.kid(rng.normal(size=(300, 3)), rng.normal(size=(300, 3)), subset_size=100)
    assert spread["std"] > 0


def test_precision_recall_on_two_clusters():
    rng = np.random.default_rng(0)
    real = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(20, 1, (200, 2))])
    both = metrics.precision_recall(real, real)
    assert both == {"precision": 1.0, "recall": 1.0}
    far = metrics.precision_recall(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0}
    one_cluster = metrics.precision_recall(real, rng.normal(0, 1, (200, 2)))
    assert one_cluster["precision"] > 0.9  # every fake looks real...
    assert 0.4 < one_cluster["recall"] <= 0.5  # ...but only one of two clusters is reached


def test_density_and_coverage_on_two_clusters():
    rng = np.random.default_rng(0)
    real = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(20, 1, (200, 2))])
    fresh = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(20, 1, (200, 2))])
    same = metrics.density_coverage(real, fresh)
    assert same["coverage"] > 0.9 and 0.85 < same["density"] < 1.15
    assert metrics.density_coverage(real, real + 100.0) == {"density": 0.0, "coverage": 0.0}
    one_cluster = metrics.density_coverage(real, rng.normal(0, 1, (400, 2)))
    assert one_cluster["coverage"] <= 0.5 and 0.85 < one_cluster["density"] < 1.15
    collapsed = metrics.density_coverage(real, rng.normal(0, 0.1, (400, 2)))  # one mode
    assert collapsed["coverage"] < 0.1


# ----------------------------------------------------------------------- real MNIST digits


def test_real_digits_sit_at_the_floor(noisy_scores, judge):
    real, noisy = noisy_scores[0], noisy_scores[2]
    floor = metrics.real_floor(1000, judge=judge)
    assert floor["num_samples"] == 1000 and floor["fd"] < 0.2 * noisy["fd"]
    assert real["fd"] < 0.2 * noisy["fd"]  # measured: about 3 against 37 at sigma 0.2
    # KID is unbiased: over 30 draws of 1,000 training digits it measured -0.09 +- 0.44
    # (range -0.76 to 1.38), so 2.0 is about 4.5 standard deviations; noise of sigma 0.1
    # already gives about 9 (the judge's cubic kernel values are ~500, hence the scale)
    assert abs(real["kid"]) < 2.0 and noisy_scores[1]["kid"] > 5 and noisy["kid"] > 20


def _falls(values):
    return all(later < earlier for earlier, later in zip(values, values[1:], strict=False))


def test_fd_rises_and_precision_and_recall_fall_with_pixel_noise(noisy_scores):
    assert _falls([-score["fd"] for score in noisy_scores])  # measured 3, 10, 37, 138
    assert _falls([score["recall"] for score in noisy_scores])  # 0.91, 0.77, 0.33, 0.01
    # precision barely notices faint noise (measured 0.88, 0.90, 0.87, 0.83): it asks only
    # whether noisy digits still fall inside some real digit's k-NN ball
    precisions = [score["precision"] for score in noisy_scores]
    assert precisions[-1] < min(precisions[:-1]) - 0.02


def test_recall_halves_with_only_digits_zero_to_four(judge, reference, train):
    images, labels = data.load_mnist("train")
    low_digits = judge.features(images[labels < 5][:1000])
    full = metrics.precision_recall(reference.features, train["features"])["recall"]
    half = metrics.precision_recall(reference.features, low_digits)["recall"]
    assert 0.3 * full < half < 0.7 * full  # measured 0.51 of 0.91


def test_within_class_diversity_of_real_digits_and_of_copies(reference, train):
    real = metrics.within_class_diversity(train["features"], train["classes"],
                                          reference.features, reference.classes)
    assert sorted(real["per_class"]) == list(range(10))
    assert 0.85 < real["mean"] < 1.15
    one_per_class = [np.flatnonzero(train["classes"] == c)[0] for c in range(10)]
    copies = np.repeat(train["features"][one_per_class], 10, axis=0)
    collapsed = metrics.within_class_diversity(copies, np.repeat(np.arange(10), 10),
                                               reference.features, reference.classes)
    assert collapsed["mean"] < 0.1


def test_within_class_diversity_skips_classes_with_too_few_samples():
    points = np.arange(10.0)[:, None]
    result = metrics.within_class_diversity(points[:3], [0, 0, 1], points, [0] * 5 + [1] * 5)
    assert list(result["per_class"]) == [0]
    lonely = metrics.within_class_diversity(points[:2], [0, 1], points, [0] * 5 + [1] * 5)
    assert lonely["per_class"] == {} and np.isnan(lonely["mean"])


def test_class_balance_of_real_digits_and_of_one_class(reference):
    _, train_labels = data.load_mnist("train")
    test_shares = np.bincount(reference.labels, minlength=10)
    assert metrics.class_balance(train_labels, test_shares)["tv_distance"] < 0.05
    ones = metrics.class_balance(np.ones(500, dtype=int))
    assert ones["histogram"][1] == 500 and ones["shares"][1] == 1.0
    assert ones["tv_distance"] == pytest.approx(0.9)


def test_memorisation_flags_copies_and_passes_held_out_digits(reference):
    train_images = reference.train_images
    copies = train_images[:200]
    flagged = metrics.memorisation(copies, train_images, reference.images)
    assert flagged["copy_share"] == 1.0 and np.all(flagged["ratios"] == 0)
    np.testing.assert_array_equal(train_images[flagged["nearest_index"]], copies)
    held_out = metrics.memorisation(reference.images, train_images, reference.images,
                                    sample_classes=reference.classes,
                                    reference_classes=reference.classes)
    assert held_out["copy_share"] < 0.05
    assert np.median(held_out["ratios"]) == pytest.approx(1.0, abs=0.05)


def test_reference_caches_the_memorisation_scale(reference):
    held_out = reference.images[:metrics.MEMORISATION_REFERENCE_SIZE]
    samples = reference.train_images[:50] * 0.9  # dimmed copies: some ratios, not all zero
    cached = metrics.memorisation(samples, reference.train_images, held_out,
                                  reference_distances=reference.memorisation_distances)
    computed = metrics.memorisation(samples, reference.train_images, held_out)
    np.testing.assert_allclose(cached["ratios"], computed["ratios"])
    with pytest.raises(ValueError, match=r"reference_distances must have shape \(1000,\)"):
        metrics.memorisation(samples, reference.train_images, held_out,
                             reference_distances=reference.memorisation_distances[:10])


def test_requested_label_accuracy():
    assert metrics.requested_label_accuracy([1, 2, 3, 4], [1, 2, 0, 0]) == 0.5


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((10, 28, 28)), r"\(N, 28, 28, 1\)"),
        (np.full((10, 28, 28, 1), 255.0), r"value_range \(0, 1\)"),
        (np.full((10, 28, 28, 1), np.nan), "NaN"),
        (np.zeros((0, 28, 28, 1)), "empty"),
        (np.zeros((3, 28, 28, 1)), "more than k=3"),
    ],
)
def test_evaluate_images_rejects_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        metrics.evaluate_images(images)


def test_evaluate_images_rejects_labels_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"labels must have shape \(10,\)"):
        metrics.evaluate_images(np.zeros((10, 28, 28, 1)), labels=[1, 2])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: metrics.frechet_distance(np.zeros((1, 4)), np.zeros((5, 4))),
         "at least 2 samples to estimate a covariance"),
        (lambda: metrics.frechet_distance(np.zeros(5), np.zeros((5, 4))), r"2-D array"),
        (lambda: metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4))),
         "same number of features"),
        (lambda: metrics.kid(np.full((5, 2), np.inf), np.zeros((5, 2))), "NaN or inf"),
        (lambda: metrics.precision_recall(np.zeros((3, 2)), np.zeros((9, 2)), k=3),
         "at least 4 samples for a k-NN radius"),
        (lambda: metrics.density_coverage(np.zeros((9, 2)), np.zeros((0, 2))), "at least 1"),
        (lambda: metrics.gaussian_frechet_distance([0, 0], np.eye(3), [0, 0], np.eye(2)),
         r"shape \(D, D\)"),
        (lambda: metrics.class_balance([0, 10]), r"integers in 0..9"),
        (lambda: metrics.class_balance([0, 1], [0.5, 0.5]), "reference_shares must be 10"),
        (lambda: metrics.memorisation(np.full((2, 4), 2.0), np.zeros((3, 4)), np.ones((2, 4))),
         r"samples must lie in \[0, 1\]"),
        (lambda: metrics.memorisation(np.zeros((2, 5)), np.zeros((3, 4)), np.ones((2, 4))),
         r"samples must have shape \(N, 4\)"),
        (lambda: metrics.memorisation(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((2, 4))),
         "held-out"),
        (lambda: metrics.real_reference("train"), "held-out split 'test'"),
        (lambda: metrics.summary_line({"fd": 1.0}), "expected a dict from evaluate_images"),
    ],
)
def test_feature_functions_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------- entry points


def test_evaluate_images_reports_every_metric(judge, reference):
    # all 1,000 held-out digits: KID then needs one subset and the floor is cached already
    images, labels = reference.images, reference.labels
    plain = metrics.evaluate_images(images, judge=judge)
    expected = {"num_samples", "fd", "kid", "kid_std", "precision", "recall", "density",
                "coverage", "diversity", "class_tv", "class_histogram", "confident",
                "digits_present", "copy_share", "fd_floor", "summary"}
    assert set(plain) == expected
    assert plain["num_samples"] == 1000 and sum(plain["class_histogram"]) == 1000
    assert plain["summary"] == metrics.summary_line(plain)
    assert plain["summary"].startswith("FD ") and "copies 0.0%" in plain["summary"]
    assert plain["fd_floor"] == metrics.real_floor(1000, judge=judge)["fd"]
    labelled = metrics.evaluate_images(images * 2 - 1, value_range=(-1, 1), labels=labels,
                                       judge=judge)
    assert set(labelled) == expected | {"label_accuracy"}
    assert labelled["label_accuracy"] > 0.9 and "labels" in labelled["summary"]
    assert labelled["fd"] == pytest.approx(plain["fd"], rel=1e-4)


def test_plot_nearest_training_shows_the_most_copy_like_pairs():
    samples = np.stack([np.full((28, 28, 1), value) for value in (0.1, 0.2, 0.3)])
    train_images = np.zeros((5, 28, 28, 1))
    fig = plotting.plot_nearest_training(samples, train_images, [4, 0, 2],
                                         ratios=[0.9, 0.1, 0.5], num=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes[:2]] == ["ratio 0.10", "ratio 0.50"]
    assert fig.axes[0].images[0].get_array().mean() == pytest.approx(0.2)
    with pytest.raises(ValueError, match="one index per sample"):
        plotting.plot_nearest_training(samples, train_images, [0, 1])
