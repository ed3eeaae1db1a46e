import numpy as np
import pytest

from aigc_tf import clustering

RNG = np.random.default_rng(0)
CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def _blobs(per_blob=50):
    labels = np.repeat(np.arange(len(CENTRES)), per_blob)
    return CENTRES[labels] + RNG.normal(0, 0.5, (len(labels), 2)), labels


def _objective(x, means):
    return clustering.squared_distances(x, means).min(axis=1).sum()


def test_squared_distances_match_brute_force():
    x, means = RNG.normal(size=(7, 5)), RNG.normal(size=(3, 5))
    brute = ((x[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(clustering.squared_distances(x, means), brute, atol=1e-9)


def test_kmeans_recovers_separated_blobs():
    x, labels = _blobs()
    means, assignments = clustering.kmeans(x, 3, seed=0)
    # One cluster per blob, whatever the numbering.
    assert all(len(np.unique(assignments[labels == blob])) == 1 for blob in range(3))
    assert len(np.unique(assignments)) == 3
    order = np.argsort(means[:, 0] + 100 * means[:, 1])
    np.testing.assert_allclose(means[order], CENTRES, atol=0.3)


def test_lloyd_iterations_never_increase_the_objective():
    x, _ = _blobs()
    seeds = x[:6]  # poor seeds, all in the first blob
    objectives = [_objective(x, clustering.lloyd(x, seeds, iterations)) for iterations in range(6)]
    assert np.all(np.diff(objectives) <= 1e-9)
    assert objectives[-1] < objectives[0]


def test_kmeans_is_reproducible():
    x, _ = _blobs()
    first, second = clustering.kmeans(x, 4, seed=3), clustering.kmeans(x, 4, seed=3)
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("x, num_clusters, message", [
    (np.zeros((4, 2, 2)), 2, "shape"),
    (np.zeros((4, 2)), 5, "between 1 and"),
    (np.zeros((4, 2)), 0, "between 1 and"),
])
def test_bad_inputs_raise_clear_errors(x, num_clusters, message):
    with pytest.raises(ValueError, match=message):
        clustering.kmeans(x, num_clusters)


def test_purity_counts_majority_labels():
    assert clustering.purity([0, 0, 1, 1], [3, 3, 3, 5]) == 0.75
    assert clustering.purity([1, 1, 0], [2, 2, 7]) == 1.0
    with pytest.raises(ValueError, match="same length"):
        clustering.purity([0, 1], [0, 1, 2])
