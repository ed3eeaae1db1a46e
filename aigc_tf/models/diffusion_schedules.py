"""Noise schedules of diffusion models and the closed-form steps that use them.

The forward process adds Gaussian noise in ``T`` small steps,
``q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)``, and composes in closed form:

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),   abar_t = prod_{s <= t} (1 - beta_s),

so ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (:meth:`NoiseSchedule.q_sample`). Here
``t`` runs from 0 (the first noising step) to ``T - 1`` (almost pure noise). A
:class:`NoiseSchedule` computes every derived quantity once: ``abar_t``, the signal and noise
rates ``sqrt(abar_t)`` and ``sqrt(1 - abar_t)``, the signal-to-noise ratio
``SNR_t = abar_t / (1 - abar_t)``, and the variance and mean coefficients of the posterior
``q(x_{t-1} | x_t, x_0)`` that ancestral sampling uses. :meth:`NoiseSchedule.ddim_step` and
:meth:`NoiseSchedule.ddpm_step` are the reverse steps, written with ``keras.ops`` so that the
model's compiled sampling loop calls them directly.

Two shapes of schedule (``SCHEDULES``):

* ``"linear"`` (Ho et al., 2020): ``beta_t`` rises linearly from ``beta_start`` to
  ``beta_end`` (for T = 1000, scaled by ``1000 / T`` for other T so the end point stays noise);
* ``"cosine"`` (Nichol & Dhariwal, 2021): ``abar`` follows ``cos^2`` of the time, which
  destroys information more evenly and wastes fewer steps on pure noise.

Continuous time: :func:`continuous_alpha_bar` gives ``abar`` at any ``u = t / T`` in [0, 1]
(the linear schedule's limit is the variance-preserving SDE's
``exp(-(b0 u + (b1 - b0) u^2 / 2))``).
"""

import math

import numpy as np
import tensorflow as tf
from keras import ops

SCHEDULES = ("linear", "cosine")
COSINE_OFFSET = 0.008  # keeps beta_0 from being vanishingly small (Nichol & Dhariwal)
MAX_BETA = 0.999  # the cosine schedule's last betas would reach 1: clip them
REFERENCE_STEPS = 1000  # the linear schedule's beta range is stated for T = 1000


def _check_kind(kind):
    if kind not in SCHEDULES:
        raise ValueError(f"unknown noise schedule {kind!r}; expected one of {list(SCHEDULES)}")


def _cosine_curve(u):
    return np.cos((np.asarray(u, "float64") + COSINE_OFFSET) / (1 + COSINE_OFFSET)
                  * math.pi / 2) ** 2


def continuous_alpha_bar(u, kind="cosine", beta_start=1e-4, beta_end=0.02):
    """``abar`` at continuous time ``u = t / T`` in [0, 1] (1 at u = 0, near 0 at u = 1).

    Args:
        u: times in [0, 1] (scalar or array).
        kind: ``"linear"`` or ``"cosine"``.
        beta_start, beta_end: the linear schedule's betas for T = 1000.

    Returns:
        A NumPy float64 array shaped like ``u``.

    Example:
        >>> continuous_alpha_bar([0.0, 0.5, 1.0], "cosine").round(3).tolist()
        [1.0, 0.494, 0.0]
        >>> continuous_alpha_bar([0.0, 0.5, 1.0], "linear").round(3).tolist()
        [1.0, 0.079, 0.0]
    """
    _check_kind(kind)
    u = np.asarray(u, "float64")
    if np.any((u < 0) | (u > 1)):
        raise ValueError(f"u must lie in [0, 1], got values from {u.min()} to {u.max()}")
    if kind == "cosine":
        return _cosine_curve(u) / _cosine_curve(0.0)
    b0, b1 = beta_start * REFERENCE_STEPS, beta_end * REFERENCE_STEPS
    return np.exp(-(b0 * u + 0.5 * (b1 - b0) * u**2))


def _betas(kind, timesteps, beta_start, beta_end):
    if kind == "linear":
        scale = REFERENCE_STEPS / timesteps
        return np.linspace(beta_start * scale, min(beta_end * scale, MAX_BETA), timesteps)
    curve = _cosine_curve(np.arange(timesteps + 1) / timesteps)
    return np.minimum(1.0 - curve[1:] / curve[:-1], MAX_BETA)


def _broadcast(values, t, ndim):
    """``values[t]`` shaped to broadcast against a batch of rank ``ndim``."""
    picked = ops.take(values, t)
    if len(picked.shape) == 0:
        return picked
    return ops.reshape(picked, (-1,) + (1,) * (ndim - 1))


class NoiseSchedule:
    """A discrete noise schedule with its derived quantities, computed once (NumPy float64).

    Attributes (arrays of length ``timesteps``, index ``t``): ``betas``, ``alphas``
    (``1 - beta``), ``alpha_bars``, ``alpha_bars_prev`` (``abar_{t-1}``, 1 at t = 0),
    ``signal_rates`` (``sqrt(abar)``), ``noise_rates`` (``sqrt(1 - abar)``), ``snr``,
    ``log_snr``, ``posterior_variance`` (``beta_t (1 - abar_{t-1}) / (1 - abar_t)``) and the
    posterior mean coefficients ``posterior_x0_coef`` and ``posterior_xt_coef``.

    Args:
        kind: ``"linear"`` or ``"cosine"``.
        timesteps: number of noising steps T (>= 2).
        beta_start, beta_end: the linear schedule's first and last beta for T = 1000.

    Example:
        >>> schedule = NoiseSchedule("cosine", timesteps=1000)
        >>> round(float(schedule.alpha_bars[0]), 5), float(schedule.alpha_bars[-1]) < 1e-4
        (0.99996, True)
        >>> x0, noise = np.ones((2, 3)), np.zeros((2, 3))
        >>> xt = schedule.q_sample(x0, np.array([0, 999]), noise)  # without noise x0 shrinks
        >>> np.round(ops.convert_to_numpy(xt)[:, 0], 4).tolist()  # to ~0 at t = T - 1
        [1.0, 0.0]
    """

    def __init__(self, kind="cosine", timesteps=1000, beta_start=1e-4, beta_end=0.02):
        _check_kind(kind)
        if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) \
                or timesteps < 2:
            raise ValueError(f"timesteps must be an integer >= 2, got {timesteps!r}")
        if not 0 < beta_start < beta_end < 1:
            raise ValueError(f"need 0 < beta_start < beta_end < 1, got {beta_start!r}, "
                             f"{beta_end!r}")
        self.kind, self.timesteps = kind, int(timesteps)
        self.beta_start, self.beta_end = float(beta_start), float(beta_end)
        self.betas = _betas(kind, self.timesteps, beta_start, beta_end)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = np.cumprod(self.alphas)
        self.alpha_bars_prev = np.concatenate([[1.0], self.alpha_bars[:-1]])
        self.signal_rates = np.sqrt(self.alpha_bars)
        self.noise_rates = np.sqrt(1.0 - self.alpha_bars)
        self.snr = self.alpha_bars / (1.0 - self.alpha_bars)
        self.log_snr = np.log(self.snr)
        self.posterior_variance = (self.betas * (1.0 - self.alpha_bars_prev)
                                   / (1.0 - self.alpha_bars))
        self.posterior_x0_coef = (self.betas * np.sqrt(self.alpha_bars_prev)
                                  / (1.0 - self.alpha_bars))
        self.posterior_xt_coef = ((1.0 - self.alpha_bars_prev) * np.sqrt(self.alphas)
                                  / (1.0 - self.alpha_bars))
        # abar at index t + 1, with abar = 1 "before the first step" (t = -1) for DDIM's end
        self._alpha_bars_from_minus_one = ops.convert_to_tensor(
            np.concatenate([[1.0], self.alpha_bars]), "float32")
        self._posterior = [ops.convert_to_tensor(values, "float32") for values in (
            self.posterior_x0_coef, self.posterior_xt_coef, self.posterior_variance)]

    def __repr__(self):
        return f"NoiseSchedule({self.kind!r}, timesteps={self.timesteps})"

    def get_config(self):
        return {"kind": self.kind, "timesteps": self.timesteps,
                "beta_start": self.beta_start, "beta_end": self.beta_end}

    def check_timesteps(self, t):
        """Raise ``ValueError`` unless every ``t`` is an integer in ``[0, timesteps)``.

        Symbolic tensors (inside a compiled function) cannot be checked and pass through.
        """
        if not tf.executing_eagerly():  # symbolic inside a compiled step: nothing to read
            return
        values = np.asarray(ops.convert_to_numpy(t))
        if values.size and (not np.issubdtype(values.dtype, np.integer)
                            or values.min() < 0 or values.max() >= self.timesteps):
            raise ValueError(f"t must be integers in [0, {self.timesteps}), got "
                             f"{values.dtype} values from {values.min()} to {values.max()}")

    def at(self, values, t, ndim):
        """``values[t]`` (a length-T array) as float32, shaped to broadcast over rank ``ndim``.

        ``t`` is one step (a scalar) or one step per example (shape ``(N,)``).
        """
        return _broadcast(ops.convert_to_tensor(values, "float32"), t, ndim)

    def q_sample(self, x0, t, noise):
        """Draw ``x_t ~ q(x_t | x_0)``: ``sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise``.

        Args:
            x0: clean data, shape ``(N, ...)``.
            t: integer steps, shape ``(N,)`` (one per example) or a scalar.
            noise: standard normal noise shaped like ``x0``.

        Returns:
            A float32 tensor shaped like ``x0``.
        """
        self.check_timesteps(t)
        x0 = ops.convert_to_tensor(x0, "float32")
        ndim = len(x0.shape)
        return (self.at(self.signal_rates, t, ndim) * x0
                + self.at(self.noise_rates, t, ndim) * ops.convert_to_tensor(noise, "float32"))

    def _alpha_bar_from(self, t, ndim):
        """``abar_t`` with ``abar_{-1} = 1``, as float32 broadcasting over rank ``ndim``."""
        return _broadcast(self._alpha_bars_from_minus_one, t + 1, ndim)

    def split_prediction(self, x_t, t, output, prediction="eps"):
        """The network's ``output`` at ``(x_t, t)`` as estimates ``(x0_hat, eps_hat)``.

        ``prediction`` says what the network predicts: ``"eps"`` (the noise) or ``"v"``
        (``v = sqrt(abar) eps - sqrt(1 - abar) x0``, Salimans & Ho, 2022).
        """
        ndim = len(x_t.shape)
        signal = ops.sqrt(self._alpha_bar_from(t, ndim))
        noise = ops.sqrt(1.0 - self._alpha_bar_from(t, ndim))
        if prediction == "v":
            return signal * x_t - noise * output, noise * x_t + signal * output
        return (x_t - noise * output) / signal, output

    def ddim_step(self, x_t, x0_hat, eps_hat, t, t_prev, eta=0.0, noise=None):
        """One DDIM step from step ``t`` to an earlier step ``t_prev`` (-1 for the data).

        ``x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat
        + sigma noise`` with ``sigma = eta sqrt((1 - abar_prev) / (1 - abar_t))
        sqrt(1 - abar_t / abar_prev)``. ``eta = 0`` is deterministic; ``eta = 1`` over every
        step is ancestral sampling (Song et al., 2021).
        """
        ndim = len(x_t.shape)
        abar_t, abar_prev = self._alpha_bar_from(t, ndim), self._alpha_bar_from(t_prev, ndim)
        sigma = eta * ops.sqrt((1.0 - abar_prev) / (1.0 - abar_t) * (1.0 - abar_t / abar_prev))
        direction = ops.sqrt(ops.maximum(1.0 - abar_prev - ops.square(sigma), 0.0)) * eps_hat
        x_prev = ops.sqrt(abar_prev) * x0_hat + direction
        return x_prev if noise is None else x_prev + sigma * noise

    def ddpm_step(self, x_t, x0_hat, t, noise):
        """One ancestral step: a draw from the posterior ``q(x_{t-1} | x_t, x0_hat)``."""
        ndim = len(x_t.shape)
        x0_coef, xt_coef, variance = (_broadcast(values, t, ndim) for values in self._posterior)
        return x0_coef * x0_hat + xt_coef * x_t + ops.sqrt(variance) * noise

    def ddim_timesteps(self, steps):
        """The decreasing steps a sampler visits: ``steps`` of them spread over ``[0, T)``.

        Args:
            steps: how many (1 to T), or an explicit strictly decreasing sequence of steps.

        Returns:
            An int32 NumPy array from (about) ``T - 1`` down to 0.

        Example:
            >>> NoiseSchedule("linear", timesteps=1000).ddim_timesteps(5).tolist()
            [999, 749, 500, 250, 0]
        """
        if np.ndim(steps) == 1:
            sequence = np.asarray(steps)
            if (not np.issubdtype(sequence.dtype, np.integer) or sequence.size == 0
                    or np.any(np.diff(sequence) >= 0)):
                raise ValueError("an explicit step sequence must be non-empty, integer and "
                                 f"strictly decreasing, got {sequence.tolist()}")
            self.check_timesteps(sequence)
            return sequence.astype("int32")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        if steps > self.timesteps:
            raise ValueError(f"steps={steps} is more sampling steps than the schedule has "
                             f"(T={self.timesteps})")
        return np.round(np.linspace(self.timesteps - 1, 0, steps)).astype("int32")
