"""Hidden cases for notebook 03 (GAN theory on 2-D data)."""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


def _gaussian(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


@exercise("03.optimal_discriminator",
          hint="for a fixed generator, D*(x) maximises p_data(x) log D + p_g(x) log(1 - D) "
               "point by point: set its derivative with respect to D to zero")
def _optimal_discriminator_cases(optimal_discriminator):
    xs = np.linspace(-3.0, 3.0, 7)
    cases = [("p_data = p_g = 0.3 at one point", np.array([0.3]), np.array([0.3])),
             ("p_data = 0.6, p_g = 0.2", np.array([0.6]), np.array([0.2])),
             ("no generated samples here (p_g = 0)", np.array([0.5, 0.1]), np.zeros(2)),
             ("N(0, 1) vs N(1.5, 0.7) on a grid of 7 points",
              _gaussian(xs, 0.0, 1.0), _gaussian(xs, 1.5, 0.7)),
             ("densities on a 2 x 3 grid", np.arange(1.0, 7.0).reshape(2, 3) / 10,
              np.arange(6.0, 0.0, -1.0).reshape(2, 3) / 10)]
    return check_cases(optimal_discriminator, cases,
                       lambda p_data, p_g: 1.0 / (1.0 + p_g / p_data), rtol=1e-6, atol=1e-9)


def _autodiff_logit_gradients(d_fake):
    """d L_G / d logit of both generator losses, by automatic differentiation of the library's
    losses (summed, so each entry is the derivative for its own sample)."""
    import tensorflow as tf

    from aigc_tf.models.gan import generator_loss

    logits = tf.Variable(np.log(d_fake) - np.log1p(-d_fake))
    with tf.GradientTape(persistent=True) as tape:
        losses = {name: generator_loss(logits, name) * len(d_fake)
                  for name in ("minimax", "non_saturating")}
    return {name: tape.gradient(loss, logits).numpy() for name, loss in losses.items()}


@exercise("03.generator_gradients",
          hint="with D = sigmoid(l), d sigmoid(l)/dl = D (1 - D); apply the chain rule to "
               "log(1 - D) and to -log D, and return (minimax, non-saturating) in that order")
def _generator_gradients_cases(generator_gradients):
    cases = [("D(G(z)) = 0.5", np.array([0.5])),
             ("D(G(z)) = 0.05 (the discriminator wins)", np.array([0.05])),
             ("D(G(z)) = 0.9 (the generator fools it)", np.array([0.9])),
             ("a batch of 6 values between 0.01 and 0.99", np.linspace(0.01, 0.99, 6))]
    for name, d_fake in cases:
        answer = generator_gradients(d_fake.copy())
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            raise ExerciseFailure(f"{name}: expected a pair (minimax, non_saturating), "
                                  f"got {type(answer).__name__}")
        expected = _autodiff_logit_gradients(d_fake)
        expect_close(f"{name}, minimax gradient", answer[0], expected["minimax"],
                     rtol=1e-5, atol=1e-7)
        expect_close(f"{name}, non-saturating gradient", answer[1],
                     expected["non_saturating"], rtol=1e-5, atol=1e-7)
    return len(cases)


@exercise("03.js_divergence",
          hint="JS(p||q) = KL(p||m)/2 + KL(q||m)/2 with m = (p + q)/2, in nats (natural log); "
               "terms with p = 0 contribute 0")
def _js_divergence_cases(js_divergence):
    rng = np.random.default_rng(3)
    cases = [("identical distributions", np.array([0.2, 0.3, 0.5]), np.array([0.2, 0.3, 0.5])),
             ("disjoint supports", np.array([0.5, 0.5, 0.0, 0.0]),
              np.array([0.0, 0.0, 0.25, 0.75])),
             ("p = (0.9, 0.1), q = (0.1, 0.9)", np.array([0.9, 0.1]), np.array([0.1, 0.9]))]
    for size in (5, 20):
        p, q = rng.dirichlet(np.ones(size)), rng.dirichlet(np.ones(size))
        cases.append((f"two random distributions over {size} outcomes", p, q))
    return check_cases(js_divergence, cases, _js, rtol=1e-6, atol=1e-9)


def _js(p, q):
    m = 0.5 * (p + q)
    return 0.5 * (_kl(p, m) + _kl(q, m))


def _kl(p, q):
    support = p > 0
    return float(np.sum(p[support] * np.log(p[support] / q[support])))
