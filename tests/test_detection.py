"""The generated-vs-real detector: it learns a separable toy case and rejects bad input."""

import numpy as np
import pytest

from aigc_tf.detection import (
    build_detector,
    detection_rates,
    detection_set,
    detector_scores,
    leave_one_generator_out,
    score_per_generator,
    train_detector,
)

TOY = {"epochs": 3, "batch_size": 32, "learning_rate": 1e-2}


def _images(low, high, count, seed):
    return low + (high - low) * np.random.default_rng(seed).random((count, 28, 28, 1))


@pytest.fixture(scope="module")
def toy():
    """Dark real digits against bright generated ones, and a detector trained on them."""
    real, fake = _images(0.0, 0.2, 64, 0), _images(0.8, 1.0, 64, 1)
    return {"real": real, "fake": fake, "detector": train_detector(real, fake, **TOY)}


def test_detector_separates_a_separable_toy_case(toy):
    real_test, fake_test = _images(0.0, 0.2, 50, 2), _images(0.8, 1.0, 50, 3)
    scores = detector_scores(toy["detector"], np.concatenate([real_test, fake_test]))
    rates = detection_rates(scores, np.repeat([0, 1], 50))
    assert scores.shape == (100,) and np.all((scores >= 0) & (scores <= 1))
    assert rates["balanced_accuracy"] > 0.9


def test_score_per_generator_shares_the_real_rate(toy):
    rates = score_per_generator(toy["detector"], _images(0.0, 0.2, 40, 4),
                                {"bright": _images(0.8, 1.0, 30, 5),
                                 "dark": _images(0.0, 0.2, 30, 6)})
    assert rates["bright"]["real_passed"] == rates["dark"]["real_passed"] > 0.9
    assert rates["bright"]["detected"] > 0.9
    assert rates["dark"]["detected"] < 0.1  # looks like the real digits: passes as real


def test_leave_one_generator_out_scores_the_unseen_generator():
    real = _images(0.0, 0.2, 64, 7)
    train = {"bright": _images(0.8, 1.0, 32, 8), "brighter": _images(0.85, 1.0, 32, 9)}
    test = {"bright": _images(0.8, 1.0, 30, 10), "brighter": _images(0.85, 1.0, 30, 11)}
    results = leave_one_generator_out(real, train, _images(0.0, 0.2, 30, 12), test,
                                      held_out=["brighter"], **TOY)
    assert set(results) == {"brighter"}
    assert set(results["brighter"]["seen"]) == {"bright"}
    # the unseen generator is as bright as the seen one
    assert results["brighter"]["held_out"]["detected"] > 0.9


def test_detection_rates_by_hand():
    rates = detection_rates([0.1, 0.6, 0.5, 0.4, 0.9], [0, 0, 1, 1, 1], threshold=0.5)
    assert rates == pytest.approx({"accuracy": 0.6, "detected": 2 / 3, "real_passed": 0.5,
                                   "balanced_accuracy": 7 / 12})


@pytest.mark.parametrize("scores, targets, message", [
    ([], [], "empty"),
    ([0.1, 0.2], [0, 1, 1], "same length"),
    ([[0.1, 0.2]], [[0, 1]], "1-D"),
    ([0.1, np.nan], [0, 1], "NaN"),
    ([0.1, 0.2], [0, 2], "only 0"),
    ([0.1, 0.2], [1, 1], "both real"),
])
def test_detection_rates_rejects_bad_input(scores, targets, message):
    with pytest.raises(ValueError, match=message):
        detection_rates(scores, targets)


@pytest.mark.parametrize("real, fake, message", [
    (np.zeros((0, 28, 28, 1)), np.zeros((2, 28, 28, 1)), "real_images: the batch is empty"),
    (np.zeros((2, 28, 28)), np.zeros((2, 28, 28, 1)), r"real_images must have shape \(N, 28"),
    (np.zeros((2, 28, 28, 1)), np.full((2, 28, 28, 1), 255.0), "generated_images: values lie"),
    (np.zeros((2, 28, 28, 1)), np.full((2, 28, 28, 1), -1.0), "outside value_range"),
    (np.full((2, 28, 28, 1), np.nan), np.zeros((2, 28, 28, 1)), "NaN"),
])
def test_bad_images_are_rejected(real, fake, message):
    with pytest.raises(ValueError, match=message):
        detection_set(real, fake)
    with pytest.raises(ValueError, match=message):
        train_detector(real, fake, epochs=1)


def test_scores_reject_images_out_of_range(toy):
    with pytest.raises(ValueError, match=r"images: values lie in \[0, 2\]"):
        detector_scores(toy["detector"], np.linspace(0, 2, 784).reshape(1, 28, 28, 1))


def test_leave_one_out_rejects_too_few_or_mismatched_generators():
    real, images = np.zeros((2, 28, 28, 1)), np.ones((2, 28, 28, 1))
    with pytest.raises(ValueError, match="at least two generators"):
        leave_one_generator_out(real, {"a": images}, real, {"a": images})
    with pytest.raises(ValueError, match="same generators"):
        leave_one_generator_out(real, {"a": images, "b": images}, real,
                                {"a": images, "c": images})
    with pytest.raises(ValueError, match="held_out must name one or more"):
        leave_one_generator_out(real, {"a": images, "b": images}, real,
                                {"a": images, "b": images}, held_out=["c"])
    with pytest.raises(ValueError, match="training samples of 'b' must have shape"):
        leave_one_generator_out(real, {"a": images, "b": images[:, :20]}, real,
                                {"a": images, "b": images})


def test_empty_generator_dict_and_bad_builder_arguments_are_rejected(toy):
    with pytest.raises(ValueError, match="generated_by_name is empty"):
        score_per_generator(toy["detector"], toy["real"], {})
    with pytest.raises(ValueError, match="filters"):
        build_detector(filters=())
    with pytest.raises(ValueError, match="dropout"):
        build_detector(dropout=1.0)
    with pytest.raises(ValueError, match="epochs must be an integer"):
        train_detector(toy["real"], toy["fake"], epochs=0)
