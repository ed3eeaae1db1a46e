import json

import numpy as np
import pytest

from aigc_tf import data
from aigc_tf.models import classifier

ACCURACY_FLOOR = {"keras": 0.98, "offline": 0.95}


@pytest.fixture(scope="module")
def judge():
    return classifier.load_mnist_judge()


def test_shipped_judge_reaches_its_stated_accuracy(judge):
    assert judge.origin == "shipped" and judge.source == "offline"
    x, y = data.load_mnist("test")
    accuracy = float((judge.predict_labels(x) == y).mean())
    if data.mnist_source() == judge.source:
        assert accuracy == pytest.approx(judge.test_accuracy, abs=1e-6)
    assert accuracy >= ACCURACY_FLOOR[data.mnist_source()]


def test_loading_never_trains(monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the shipped judge should have been loaded")

    monkeypatch.setattr(classifier, "train_mnist_classifier", no_training)
    assert classifier.load_mnist_judge(verbose=False).origin == "shipped"


def test_training_script_reproduces_an_equivalent_judge(judge, tmp_path):
    weights, info = tmp_path / "judge.weights.h5", tmp_path / "judge.json"
    classifier.export_mnist_judge(weights, info)
    model = classifier.build_mnist_classifier()
    model.load_weights(weights)
    x, _ = data.load_mnist("test")
    retrained = model.predict(x, batch_size=500, verbose=0).argmax(axis=-1)
    agreement = float((retrained == judge.predict_labels(x)).mean())
    assert agreement >= 0.98
    stated = json.loads(info.read_text())
    assert stated["trained_on"] == data.mnist_source()
    assert stated["test_accuracy"] == pytest.approx(judge.test_accuracy, abs=0.005)
    assert not list(tmp_path.glob("partial-*"))


def test_retrain_returns_a_new_judge_and_leaves_the_shipped_one(monkeypatch):
    shipped_bytes = classifier.SHIPPED_WEIGHTS.read_bytes()
    untrained = classifier.build_mnist_classifier()
    monkeypatch.setattr(classifier, "train_mnist_classifier", lambda: (untrained, 0.1))
    fresh = classifier.load_mnist_judge(retrain=True, verbose=False)
    assert fresh.origin == "retrained" and fresh.model is untrained
    assert classifier.SHIPPED_WEIGHTS.read_bytes() == shipped_bytes


def test_training_is_deterministic_for_a_seed():
    first, _ = classifier.train_mnist_classifier(epochs=1, seed=3)
    second, _ = classifier.train_mnist_classifier(epochs=1, seed=3)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_score_reads_generated_digits(judge):
    x, _ = data.load_mnist("test", value_range=(-1, 1))
    real = judge.score(x[:200], value_range=(-1, 1))
    assert real["confident"] > 0.8 and real["digits_present"] == 10
    assert sum(real["class_counts"]) == 200
    noise = np.random.default_rng(0).uniform(-1, 1, (200, 28, 28, 1))
    assert judge.score(noise, value_range=(-1, 1))["confident"] < real["confident"]
    assert judge.features(x[:3], value_range=(-1, 1)).shape == (3, 128)


def test_judge_rejects_wrong_image_shape(judge):
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        judge.predict_proba(np.zeros((2, 32, 32, 3)))
