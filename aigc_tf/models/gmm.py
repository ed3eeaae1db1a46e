"""A Gaussian mixture model fitted by expectation-maximisation (NumPy).

    p(x) = sum_k pi_k N(x | mu_k, Sigma_k)

E-step: responsibilities ``r_nk = pi_k N(x_n | mu_k, Sigma_k) / p(x_n)``.
M-step: ``N_k = sum_n r_nk``, ``pi_k = N_k / N``, ``mu_k = sum_n r_nk x_n / N_k``,
``Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k``.
Each EM iteration never decreases the log-likelihood.
"""

import numpy as np
from tqdm import tqdm

from aigc_tf import clustering


class GaussianMixture:
    """Gaussian mixture with full covariances, fitted by EM.

    Args:
        n_components: number of Gaussians K.
        seed: seed for the k-means++ choice of initial means.
        reg_covar: small value added to covariance diagonals to keep them invertible.

    Example:
        >>> from aigc_tf.data import make_ring
        >>> x, _ = make_ring(1000, modes=4, std=0.1)
        >>> gmm = GaussianMixture(4).fit(x, max_iter=50)
        >>> gmm.means_.shape
        (4, 2)
    """

    def __init__(self, n_components, seed=0, reg_covar=1e-6):
        if int(n_components) < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        self.n_components = int(n_components)
        self.seed = seed
        self.reg_covar = reg_covar
        self.log_likelihood_history_ = []

    def _check_x(self, x):
        x = np.asarray(x, dtype="float64")
        if x.ndim != 2:
            raise ValueError(f"x must have shape (N, D), got {x.shape}")
        return x

    def _initialise(self, x):
        """k-means (k-means++ seeding, then Lloyd iterations) for the means, so EM rarely
        starts with two modes in one component; shared covariances and equal weights."""
        seeds = clustering.kmeans_plus_plus(x, self.n_components, np.random.default_rng(self.seed))
        self.means_ = clustering.lloyd(x, seeds)
        covariance = np.atleast_2d(np.cov(x.T, bias=True))  # np.cov gives a scalar in 1-D
        self.covariances_ = np.repeat(covariance[None], self.n_components, axis=0)
        self.weights_ = np.full(self.n_components, 1.0 / self.n_components)

    def _component_log_densities(self, x):
        """``log pi_k + log N(x_n | mu_k, Sigma_k)``, shape (N, K)."""
        dim = x.shape[1]
        out = np.empty((len(x), self.n_components))
        for k in range(self.n_components):
            chol = np.linalg.cholesky(self.covariances_[k])
            solved = np.linalg.solve(chol, (x - self.means_[k]).T)
            mahalanobis = np.sum(solved**2, axis=0)
            log_det = 2 * np.sum(np.log(np.diag(chol)))
            out[:, k] = (np.log(self.weights_[k])
                         - 0.5 * (dim * np.log(2 * np.pi) + log_det + mahalanobis))
        return out

    def _e_step(self, x):
        weighted = self._component_log_densities(x)
        log_px = np.logaddexp.reduce(weighted, axis=1)
        return np.exp(weighted - log_px[:, None]), float(log_px.mean())

    def _m_step(self, x, resp):
        counts = resp.sum(axis=0) + 1e-12
        self.weights_ = counts / len(x)
        self.means_ = (resp.T @ x) / counts[:, None]
        eye = np.eye(x.shape[1])
        for k in range(self.n_components):
            centred = x - self.means_[k]
            cov = (resp[:, k, None] * centred).T @ centred / counts[k]
            self.covariances_[k] = cov + self.reg_covar * eye

    def fit(self, x, max_iter=100, tol=1e-6, progress=False):
        """Run EM until the mean log-likelihood improves by less than ``tol``.

        ``log_likelihood_history_[i]`` is the mean log-likelihood per point of the
        parameters after ``i`` M-steps (entry 0 is the initialisation).
        """
        x = self._check_x(x)
        if len(x) < self.n_components:
            raise ValueError(f"need at least n_components={self.n_components} points, "
                             f"got {len(x)}")
        self._initialise(x)
        resp, log_likelihood = self._e_step(x)
        self.log_likelihood_history_ = [log_likelihood]
        for _ in tqdm(range(max_iter), desc="EM", disable=not progress):
            self._m_step(x, resp)
            resp, log_likelihood = self._e_step(x)
            self.log_likelihood_history_.append(log_likelihood)
            if log_likelihood - self.log_likelihood_history_[-2] < tol:
                break
        return self

    def score_samples(self, x):
        """Log-density ``log p(x)`` of each row, shape (N,)."""
        return np.logaddexp.reduce(self._component_log_densities(self._check_x(x)), axis=1)

    def score(self, x):
        """Mean log-likelihood per point."""
        return float(self.score_samples(x).mean())

    def predict_proba(self, x):
        """Responsibilities ``r_nk`` (the E-step): each row's posterior over the components.

        Example:
            >>> gmm = GaussianMixture(2).fit([[-2.0], [-1.0], [1.0], [2.0]], max_iter=20)
            >>> gmm.means_.round(2).ravel().tolist()
            [1.5, -1.5]
            >>> gmm.predict_proba([[2.0], [0.0]]).round(2).tolist()  # halfway: shared equally
            [[1.0, 0.0], [0.5, 0.5]]
        """
        return self._e_step(self._check_x(x))[0]

    def predict(self, x):
        """Most responsible component for each row."""
        return self._component_log_densities(self._check_x(x)).argmax(axis=1)

    def sample(self, n, seed=0):
        """Draw ``n`` points: pick ``k ~ pi``, then ``x ~ N(mu_k, Sigma_k)``.

        Returns ``(points, components)``.
        """
        rng = np.random.default_rng(seed)
        components = rng.choice(self.n_components, size=n, p=self.weights_)
        points = np.stack([rng.multivariate_normal(self.means_[k], self.covariances_[k])
                           for k in components]) if n else np.empty((0, self.means_.shape[1]))
        return points, components
