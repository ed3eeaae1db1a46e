import numpy as np
import pytest

from aigc_tf.data import make_grid
from aigc_tf.models.gmm import GaussianMixture


def _three_blobs(n=900, seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, -1.0]])
    labels = rng.integers(3, size=n)
    return means[labels] + 0.5 * rng.standard_normal((n, 2)), means


def test_em_log_likelihood_never_decreases():
    x, _ = make_grid(1500, side=3, std=0.3, seed=1)
    gmm = GaussianMixture(9, seed=0).fit(x, max_iter=60, tol=0)
    steps = np.diff(gmm.log_likelihood_history_)
    assert len(steps) > 10
    assert steps.min() > -1e-9
    assert gmm.log_likelihood_history_[-1] > gmm.log_likelihood_history_[0]


def test_em_recovers_known_means_and_weights():
    x, means = _three_blobs()
    gmm = GaussianMixture(3, seed=0).fit(x)
    found = gmm.means_[np.argsort(gmm.means_[:, 0])]
    np.testing.assert_allclose(found, means[np.argsort(means[:, 0])], atol=0.1)
    np.testing.assert_allclose(np.sort(gmm.weights_), [1 / 3] * 3, atol=0.05)


def test_matches_scikit_learn_reference():
    sklearn_mixture = pytest.importorskip("sklearn.mixture")
    x, _ = _three_blobs(seed=5)
    ours = GaussianMixture(3, seed=0).fit(x)
    reference = sklearn_mixture.GaussianMixture(3, random_state=0).fit(x)
    assert ours.score(x) == pytest.approx(reference.score(x), abs=1e-3)


def test_density_integrates_to_one_and_samples_follow_it():
    x, _ = _three_blobs()
    gmm = GaussianMixture(3).fit(x)
    ticks = np.linspace(-8, 8, 321)
    grid = np.stack(np.meshgrid(ticks, ticks), axis=-1).reshape(-1, 2)
    mass = np.exp(gmm.score_samples(grid)).sum() * (ticks[1] - ticks[0]) ** 2
    assert mass == pytest.approx(1.0, abs=1e-3)
    points, components = gmm.sample(3000, seed=1)
    assert points.shape == (3000, 2)
    np.testing.assert_allclose(np.bincount(components) / 3000, gmm.weights_, atol=0.03)


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_components must be >= 1"):
        GaussianMixture(0)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        GaussianMixture(2).fit(np.zeros(10))
    with pytest.raises(ValueError, match="at least n_components=5"):
        GaussianMixture(5).fit(np.zeros((3, 2)))


def test_spread_initialisation_finds_every_mode_of_the_ring():
    from aigc_tf.data import make_ring, ring_centers

    x, _ = make_ring(3000, modes=8, std=0.2, seed=0)
    for seed in range(5):
        gmm = GaussianMixture(8, seed=seed).fit(x, max_iter=200)
        nearest = np.linalg.norm(ring_centers()[:, None] - gmm.means_[None], axis=2).min(axis=1)
        assert nearest.max() < 0.1


def test_responsibilities_are_the_posterior_over_components():
    from scipy.stats import multivariate_normal

    x, _ = _three_blobs(seed=2)
    gmm = GaussianMixture(3, seed=0).fit(x, max_iter=20)
    resp = gmm.predict_proba(x[:10])
    components = zip(gmm.weights_, gmm.means_, gmm.covariances_, strict=True)
    joint = np.stack([w * multivariate_normal(m, c).pdf(x[:10]) for w, m, c in components], axis=1)
    np.testing.assert_allclose(resp, joint / joint.sum(axis=1, keepdims=True), atol=1e-10)
    np.testing.assert_array_equal(resp.argmax(axis=1), gmm.predict(x[:10]))


def test_fits_one_dimensional_data():
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    gmm = GaussianMixture(2).fit(x, max_iter=20)
    np.testing.assert_allclose(np.sort(gmm.means_.ravel()), [-1.5, 1.5], atol=1e-4)
    assert gmm.covariances_.shape == (2, 1, 1)
