"""Hidden cases for notebook 06 (variational autoencoders)."""

import math

import numpy as np

from aigc_tf.exercises import check_cases, exercise


def _kl_cases():
    rng = np.random.default_rng(6)
    cases = [("mu = 0, log_var = 0 (q is the prior)", np.zeros((1, 2)), np.zeros((1, 2))),
             ("mu = (1, -2), log_var = 0", np.array([[1.0, -2.0]]), np.zeros((1, 2))),
             ("mu = 0, log_var = (-1, 1)", np.zeros((1, 2)), np.array([[-1.0, 1.0]]))]
    for rows, dim in ((5, 3), (4, 8)):
        cases.append((f"random batch of {rows} codes with {dim} dimensions",
                      rng.normal(size=(rows, dim)), rng.uniform(-3.0, 1.0, size=(rows, dim))))
    return cases


@exercise("06.gaussian_kl",
          hint="KL = -1/2 * sum over the latent dimensions of (1 + log_var - mu**2 - "
               "exp(log_var)), one number per row (sum over axis -1)")
def _gaussian_kl_cases(kl_to_standard_normal):
    from keras import ops

    from aigc_tf.models.vae import gaussian_kl

    return check_cases(kl_to_standard_normal, _kl_cases(),
                       lambda mu, log_var: ops.convert_to_numpy(gaussian_kl(mu, log_var)),
                       rtol=1e-5, atol=1e-5)


@exercise("06.reparameterise",
          hint="sigma = exp(log_var / 2) is the standard deviation, not exp(log_var); "
               "z = mu + sigma * eps, element by element")
def _reparameterise_cases(reparameterise):
    rng = np.random.default_rng(60)
    cases = [("log_var = 0 (sigma = 1)", np.array([[0.5, -1.0]]), np.zeros((1, 2)),
              np.array([[1.0, 2.0]])),
             ("log_var = log 4 (sigma = 2)", np.zeros((1, 3)), np.full((1, 3), math.log(4.0)),
              np.array([[1.0, -1.0, 0.5]]))]
    for rows, dim in ((6, 2), (3, 5)):
        cases.append((f"random batch of {rows} codes with {dim} dimensions",
                      rng.normal(size=(rows, dim)), rng.uniform(-4.0, 2.0, size=(rows, dim)),
                      rng.normal(size=(rows, dim))))
    # The expected values are independent of the library's layer.
    return check_cases(reparameterise, cases,
                       lambda mu, log_var, eps: mu + np.sqrt(np.exp(log_var)) * eps,
                       rtol=1e-6, atol=1e-8)


@exercise("06.bits_per_dim",
          hint="divide the NLL in nats by the number of dimensions and by ln 2 (nats -> bits)")
def _bits_per_dim_cases(bits_per_dim):
    cases = [("100 nats per 28x28 image", 100.0, 784),
             ("ln 2 nats for one pixel", math.log(2.0), 1),
             ("3000 nats per 32x32x3 image", 3000.0, 3072)]
    return check_cases(bits_per_dim, cases,
                       lambda nll_nats, dims: nll_nats / dims / math.log(2.0))
