"""Hidden cases for notebook 12 (diffusion models).

The expected values come from :mod:`aigc_tf.models.diffusion_schedules`, the code the
notebook's models run on, so an answer that passes here agrees with the library.
"""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


def _schedule(kind, timesteps):
    from aigc_tf.models.diffusion_schedules import NoiseSchedule

    return NoiseSchedule(kind, timesteps)


def _q_sample_cases():
    rng = np.random.default_rng(12)
    cases = []
    for kind, timesteps, shape, t in (
            ("linear", 1000, (3, 2), np.array([0, 0, 0])),
            ("cosine", 1000, (3, 2), np.array([999, 999, 999])),
            ("linear", 1000, (4, 5), np.array([0, 250, 500, 999])),
            ("cosine", 100, (3, 28, 28, 1), np.array([5, 50, 99]))):
        schedule = _schedule(kind, timesteps)
        name = f"{kind} schedule (T={timesteps}), x0 of shape {shape}, t = {t.tolist()}"
        cases.append((name, schedule, rng.normal(size=shape), t, rng.normal(size=shape)))
    return cases


@exercise("12.q_sample",
          hint="x0 and the noise are scaled by standard deviations, the square roots of "
               "alpha_bar[t] and of 1 - alpha_bar[t], not by the variances; and each example has "
               "its own t, so reshape alpha_bar[t] to broadcast over the example's other axes")
def _q_sample_cases_run(q_sample):
    from keras import ops

    cases = _q_sample_cases()
    for name, schedule, x0, t, noise in cases:
        expected = ops.convert_to_numpy(schedule.q_sample(x0, t, noise))
        got = q_sample(x0.copy(), t.copy(), noise.copy(), schedule.alpha_bars.copy())
        expect_close(name, got, expected, rtol=1e-4, atol=1e-5)
    return len(cases)


def _ddim_cases():
    rng = np.random.default_rng(21)
    cases = []
    for t, t_prev, eta, shape in ((990, 970, 0.0, (2, 3)), (500, 250, 0.0, (4, 2)),
                                  (20, -1, 0.0, (3, 4)), (500, 250, 1.0, (4, 2)),
                                  (300, 299, 0.5, (2, 5))):
        what = "the last step, to abar_prev = 1" if t_prev == -1 else f"to step {t_prev}"
        cases.append((f"cosine T=1000, from step {t} {what}, eta = {eta}, shape {shape}",
                      t, t_prev, eta, rng.normal(size=shape), rng.normal(size=shape),
                      rng.normal(size=shape)))
    return cases


@exercise("12.ddim_step",
          hint="estimate x0 first by solving the forward formula for it, then rebuild a point "
               "at alpha_bar_prev from that estimate and eps_hat; the fresh noise is scaled by "
               "sigma, which is 0 when eta = 0, and the eps_hat term loses sigma^2 of variance")
def _ddim_step_cases(ddim_step):
    from keras import ops

    schedule = _schedule("cosine", 1000)
    padded = np.concatenate([[1.0], schedule.alpha_bars])  # abar at t + 1, with abar_{-1} = 1
    cases = _ddim_cases()
    for name, t, t_prev, eta, x_t, eps_hat, noise in cases:
        x_t, eps_hat = ops.convert_to_tensor(x_t, "float32"), ops.convert_to_tensor(
            eps_hat, "float32")
        x0_hat, _ = schedule.split_prediction(x_t, ops.convert_to_tensor(t), eps_hat)
        expected = ops.convert_to_numpy(schedule.ddim_step(
            x_t, x0_hat, eps_hat, ops.convert_to_tensor(t), ops.convert_to_tensor(t_prev), eta,
            ops.convert_to_tensor(noise, "float32")))
        got = ddim_step(ops.convert_to_numpy(x_t).astype("float64"),
                        ops.convert_to_numpy(eps_hat).astype("float64"), float(padded[t + 1]),
                        float(padded[t_prev + 1]), eta, noise.copy())
        expect_close(name, got, expected, rtol=2e-3, atol=2e-3)
    return len(cases)


@exercise("12.guided_noise",
          hint="w = 0 must give the conditional prediction back, the two weights sum to 1, "
               "and a larger w pushes further away from the unconditional prediction")
def _guided_noise_cases(guided_noise):
    rng = np.random.default_rng(120)
    settings = [("w = 0 (no guidance)", 0.0, (3, 2)), ("w = 1", 1.0, (3, 2)),
                ("w = 3 on a batch of images", 3.0, (2, 28, 28, 1))]
    cases = [(name, rng.normal(size=shape), rng.normal(size=shape), weight)
             for name, weight, shape in settings]
    passed = check_cases(guided_noise, cases, lambda conditional, unconditional, weight:
                         (1 + weight) * conditional - weight * unconditional)
    try:
        guided_noise(np.zeros((1, 2)), np.zeros((1, 2)), -1.0)
    except ValueError:
        return passed + 1
    raise ExerciseFailure("a negative weight w = -1: expected a ValueError (guidance weights "
                          "are >= 0)")
