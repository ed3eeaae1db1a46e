import numpy as np
import pytest

from aigc_tf import data
from aigc_tf.models import classifier

ACCURACY_FLOOR = {"keras": 0.98, "offline": 0.95}


@pytest.fixture(scope="module")
def judge():
    return classifier.load_mnist_judge()


def test_judge_accuracy_above_floor(judge):
    x, y = data.load_mnist("test")
    predicted = judge.predict_labels(x)
    accuracy = float((predicted == y).mean())
    assert accuracy >= ACCURACY_FLOOR[judge.source]
    assert accuracy == pytest.approx(judge.test_accuracy, abs=1e-6)


def test_cached_judge_is_reused(judge, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the cached judge should have been loaded")

    monkeypatch.setattr(classifier, "train_mnist_classifier", no_training)
    again = classifier.load_mnist_judge(verbose=False)
    x, _ = data.load_mnist("test")
    np.testing.assert_allclose(again.predict_proba(x[:20]), judge.predict_proba(x[:20]),
                               atol=1e-6)


def test_training_is_deterministic_for_a_seed():
    first, _ = classifier.train_mnist_classifier(epochs=1, seed=3)
    second, _ = classifier.train_mnist_classifier(epochs=1, seed=3)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_score_reads_generated_digits(judge):
    x, y = data.load_mnist("test", value_range=(-1, 1))
    real = judge.score(x[:200], value_range=(-1, 1), labels=y[:200])
    assert real["confident"] > 0.8 and real["digits_present"] == 10
    assert real["label_accuracy"] > 0.9 and sum(real["class_counts"]) == 200
    noise = np.random.default_rng(0).uniform(-1, 1, (200, 28, 28, 1))
    assert judge.score(noise, value_range=(-1, 1))["confident"] < real["confident"]
    assert judge.features(x[:3], value_range=(-1, 1)).shape == (3, 128)


def test_judge_rejects_wrong_image_shape(judge):
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        judge.predict_proba(np.zeros((2, 32, 32, 3)))
