"""Notebook 15's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def nearest_centroid(train_features, train_labels, test_features, test_labels):
    train_features = np.asarray(train_features, dtype="float64")
    test_features = np.asarray(test_features, dtype="float64")
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    classes = np.unique(train_labels)
    centroids = np.stack([train_features[train_labels == c].mean(axis=0) for c in classes])
    distances = ((test_features[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=-1)
    return float(np.mean(classes[distances.argmin(axis=1)] == test_labels))


def freeze_all_but(model, keep):
    for layer in model.layers:
        layer.trainable = layer.name in keep
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


@pytest.mark.parametrize("exercise_id, answer", [
    ("15.nearest_centroid", nearest_centroid),
    ("15.freeze_all_but", freeze_all_but),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_centroid_that_returns_the_index_instead_of_the_label_is_rejected():
    def index_not_label(train_features, train_labels, test_features, test_labels):
        train_features = np.asarray(train_features, dtype="float64")
        classes = np.unique(train_labels)
        centroids = np.stack([train_features[np.asarray(train_labels) == c].mean(axis=0)
                              for c in classes])
        distances = ((np.asarray(test_features)[:, None] - centroids[None]) ** 2).sum(axis=-1)
        return float(np.mean(distances.argmin(axis=1) == np.asarray(test_labels)))

    with pytest.raises(AssertionError, match=r"labels 3 and 7 .*Hint: average"):
        check_exercise("15.nearest_centroid", index_not_label)


def test_nearest_neighbour_instead_of_centroid_is_rejected():
    def nearest_neighbour(train_features, train_labels, test_features, test_labels):
        distances = ((np.asarray(test_features)[:, None]
                      - np.asarray(train_features)[None]) ** 2).sum(axis=-1)
        predicted = np.asarray(train_labels)[distances.argmin(axis=1)]
        return float(np.mean(predicted == np.asarray(test_labels)))

    with pytest.raises(AssertionError, match=r"15.nearest_centroid: "):
        check_exercise("15.nearest_centroid", nearest_neighbour)


def test_freezing_without_unfreezing_the_kept_layers_is_rejected():
    def only_freezes(model, keep):
        for layer in model.layers:
            if layer.name not in keep:
                layer.trainable = False
        return int(sum(np.prod(w.shape) for w in model.trainable_weights))

    with pytest.raises(AssertionError, match=r"keep only the head: trainable parameters"):
        check_exercise("15.freeze_all_but", only_freezes)


def test_counting_every_parameter_is_rejected():
    def counts_all(model, keep):
        for layer in model.layers:
            layer.trainable = layer.name in keep
        return model.count_params()

    with pytest.raises(AssertionError, match=r"trainable parameters.*Hint: for every layer"):
        check_exercise("15.freeze_all_but", counts_all)


def test_stub_counts_as_not_attempted(capsys):
    def stub(model, keep):
        raise NotImplementedError

    assert check_exercise("15.freeze_all_but", stub) is False
    assert "not attempted" in capsys.readouterr().out
