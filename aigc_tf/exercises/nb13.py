"""Hidden cases for notebook 13 (evaluating generators)."""

import numpy as np

from aigc_tf.exercises import check_cases, exercise


def _random_covariance(rng, dim):
    factor = rng.normal(size=(dim, dim))
    return factor @ factor.T + 0.1 * np.eye(dim)


@exercise("13.frechet_gaussians",
          hint="FD = |mean_a - mean_b|^2 + Tr(cov_a + cov_b - 2 (cov_a cov_b)^(1/2)); "
               "scipy.linalg.sqrtm or an eigendecomposition gives the matrix square root")
def _frechet_gaussians_cases(frechet_gaussians):
    from aigc_tf.metrics.images import gaussian_frechet_distance

    rng = np.random.default_rng(13)
    cases = [("two 1-D Gaussians N(0, 1) and N(2, 4)", np.zeros(1), np.eye(1),
              np.full(1, 2.0), 4 * np.eye(1)),
             ("identical 3-D Gaussians", np.ones(3), np.eye(3), np.ones(3), np.eye(3))]
    for dim in (2, 4, 8):
        cases.append((f"random {dim}-D Gaussians", rng.normal(size=dim),
                      _random_covariance(rng, dim), rng.normal(size=dim),
                      _random_covariance(rng, dim)))
    return check_cases(frechet_gaussians, cases, gaussian_frechet_distance, rtol=1e-5,
                       atol=1e-6)


@exercise("13.knn_precision",
          hint="each real point's radius is the distance to its k-th nearest OTHER real point; "
               "a fake counts when it lies within the radius of at least one real point")
def _knn_precision_cases(knn_precision):
    from aigc_tf.metrics.images import precision_recall

    rng = np.random.default_rng(31)
    real = rng.normal(size=(60, 2))
    cases = [("fakes equal to the reals (k=3)", real, real.copy(), 3),
             ("fakes far from every real (k=3)", real, real + 100.0, 3),
             ("fakes from a wider cloud (k=3)", real, 2.0 * rng.normal(size=(50, 2)), 3),
             ("fakes shifted by 1, k = 5 (k=5)", real, rng.normal(size=(40, 2)) + 1.0, 5)]
    return check_cases(knn_precision, cases,
                       lambda real_points, fake_points, k: precision_recall(
                           real_points, fake_points, k=k)["precision"],
                       rtol=0, atol=1e-9)
