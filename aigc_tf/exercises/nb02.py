"""Hidden cases for notebook 02 (EM for a Gaussian mixture, the bigram likelihood).

Expected values come from the library's ``GaussianMixture`` and ``BigramModel``.
"""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


def _mixture(weights, means, covariances, reg_covar=1e-6):
    from aigc_tf.models.gmm import GaussianMixture

    gmm = GaussianMixture(len(weights), reg_covar=reg_covar)
    gmm.weights_, gmm.means_ = np.array(weights, "float64"), np.array(means, "float64")
    gmm.covariances_ = np.array(covariances, "float64")
    return gmm


def _random_covariances(rng, k, dim):
    factors = rng.normal(size=(k, dim, dim))
    return factors @ factors.transpose(0, 2, 1) + 0.2 * np.eye(dim)


def _responsibility_cases():
    from aigc_tf.data import ring_centers

    rng = np.random.default_rng(2)
    one_d = ([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.0]]])
    cases = [("a 1-D point halfway between two equal components", np.array([[0.0]]), *one_d),
             ("the same point, weights 0.8 and 0.2", np.array([[0.0]]), [0.8, 0.2],
              *one_d[1:]),
             ("10 points, 3 components in 2-D with full covariances",
              rng.normal(size=(10, 2)), rng.dirichlet(np.ones(3)), rng.normal(size=(3, 2)),
              _random_covariances(rng, 3, 2)),
             ("50 points and the 8 components of the ring", 2.5 * rng.normal(size=(50, 2)),
              np.full(8, 1 / 8), ring_centers(), np.repeat(0.04 * np.eye(2)[None], 8, axis=0)),
             ("a point far from every component (densities underflow to 0)",
              np.array([[60.0, -60.0]]), [0.3, 0.7], [[0.0, 0.0], [1.0, 1.0]],
              [0.01 * np.eye(2), 0.02 * np.eye(2)])]
    return [(name, x, *map(np.array, mixture)) for name, x, *mixture in cases]


def _library_responsibilities(x, weights, means, covariances):
    return _mixture(weights, means, covariances).predict_proba(x)


@exercise("02.responsibilities",
          hint="r_nk = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j, Sigma_j), one row "
               "per point summing to 1; far from every component the densities underflow to "
               "0, so add log pi_k to log N(x_n | mu_k, Sigma_k) and normalise each row with a "
               "log-sum-exp (subtract the row's maximum before exp)")
def _responsibilities_cases(responsibilities):
    return check_cases(responsibilities, _responsibility_cases(), _library_responsibilities,
                       rtol=1e-6, atol=1e-9)


def _m_step_cases():
    rng = np.random.default_rng(20)
    hard = np.eye(2)[[0, 0, 1, 1, 1]]
    cases = [("hard assignments (every r_nk is 0 or 1), 1-D",
              np.array([[0.0], [2.0], [5.0], [6.0], [10.0]]), hard)]
    for n, dim, k in ((20, 2, 3), (40, 3, 4)):
        cases.append((f"{n} points in {dim}-D, soft responsibilities for {k} components",
                      rng.normal(size=(n, dim)), rng.dirichlet(np.ones(k), size=n)))
    return cases


def _library_m_step(x, resp):
    k, dim = resp.shape[1], x.shape[1]
    gmm = _mixture(np.full(k, 1 / k), np.zeros((k, dim)), np.zeros((k, dim, dim)), reg_covar=0.0)
    gmm._m_step(x, resp)
    return gmm.weights_, gmm.means_, gmm.covariances_


@exercise("02.m_step",
          hint="N_k = sum_n r_nk; pi_k = N_k / N; mu_k = sum_n r_nk x_n / N_k; Sigma_k = "
               "sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k with the NEW mu_k; return the "
               "shapes (K,), (K, D), (K, D, D)")
def _m_step_cases_run(m_step):
    cases = _m_step_cases()
    for name, x, resp in cases:
        got = m_step(x.copy(), resp.copy())
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise ExerciseFailure(f"{name}: expected a triple (weights, means, covariances), "
                                  f"got {type(got).__name__}")
        for part, got_part, expected_part in zip(("weights", "means", "covariances"), got,
                                                 _library_m_step(x, resp), strict=True):
            expect_close(f"{name}, {part}", got_part, expected_part, rtol=1e-6, atol=1e-9)
    return len(cases)


@exercise("02.bigram_log_prob",
          hint="put the boundary symbol '\\n' before and after the word, then add up "
               "log probs[index[a], index[b]] over every consecutive pair (a, b): a word of n "
               "letters has n + 1 factors, the last one being P(end | last letter)")
def _bigram_log_prob_cases(bigram_log_prob):
    from aigc_tf.models.bigram import BigramModel

    models = [("alpha = 0.1", BigramModel(alpha=0.1).fit(["anna", "hannah", "ann", "nah"])),
              ("alpha = 1", BigramModel(alpha=1.0).fit(["the", "then", "hen", "ten", "net"]))]
    cases = [(models[0], "a"), (models[0], "hannah"), (models[0], "hhh"),
             (models[1], "then"), (models[1], "ent"), (models[1], "e")]
    for (model_name, model), word in cases:
        got = bigram_log_prob(word, model.probs_.copy(), dict(model.index_))
        expect_close(f"the word {word!r} under a bigram model with {model_name}", got,
                     model.log_prob(word), rtol=1e-9, atol=1e-9)
    return len(cases)
