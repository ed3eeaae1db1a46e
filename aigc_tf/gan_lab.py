"""Small GAN experiments on 2-D toy data: training runs watched by mode counts, the generator
losses as functions of ``D(G(z))``, and where the off-mode samples lie.

Used by the GAN-theory lesson: a standard GAN and WGAN-GP trained on a ring of Gaussians with
the same networks and noise, snapshots of the same 1,000 noise vectors during training, and
:func:`aigc_tf.models.gan.mode_coverage` on each snapshot.
"""

import dataclasses
import time

import keras
import numpy as np
from matplotlib.figure import Figure

from aigc_tf import config, plotting
from aigc_tf.callbacks import SampleSnapshots
from aigc_tf.models.gan import GAN, build_mlp_discriminator, build_mlp_generator, mode_coverage

#: Seed of the fixed noise every run is watched through, so runs are compared on the same z.
SNAPSHOT_NOISE_SEED = 1


@dataclasses.dataclass
class RingRun:
    """One training run: the model, its snapshots with their mode counts, and its duration.

    Attributes:
        gan: the trained :class:`~aigc_tf.models.gan.GAN`.
        epochs: epochs at which samples were recorded (0 = before training).
        samples: generated points ``(N, 2)`` for the same noise at each recorded epoch.
        coverage: :func:`~aigc_tf.models.gan.mode_coverage` of each snapshot.
        seconds: wall-clock training time.
    """

    gan: GAN
    epochs: list
    samples: list
    coverage: list
    seconds: float

    def modes_covered(self):
        """Covered modes at every snapshot, as a list of ints."""
        return [c["modes_covered"] for c in self.coverage]


def train_on_ring(dataset, centers, std, loss="non_saturating", d_steps=1, d_lr=1e-3,
                  g_lr=1e-3, epochs=60, snapshot_every=10, latent_dim=8, eval_samples=1000,
                  seed=0):
    """Train an MLP GAN on 2-D mixture data and count the modes it covers during training.

    Both networks use Adam with ``beta_1 = 0.5``. Every run is watched through the same
    ``eval_samples`` noise vectors (seeded by :data:`SNAPSHOT_NOISE_SEED`), so two runs differ
    only in their settings and their ``seed`` (initial weights and training noise).

    Args:
        dataset: a ``tf.data.Dataset`` (or array) of real points ``(N, 2)``.
        centers: the mixture's mode centres ``(modes, 2)``.
        std: the standard deviation of each mode (sets what counts as a high-quality sample).
        loss: ``"non_saturating"``, ``"minimax"`` or ``"wgan_gp"``.
        d_steps: discriminator (critic) updates per generator update.
        d_lr: discriminator learning rate.
        g_lr: generator learning rate.
        epochs: training epochs.
        snapshot_every: record the samples every this many epochs.
        latent_dim: noise dimension.
        eval_samples: number of noise vectors in each snapshot.
        seed: seed of the weights and the training noise.

    Returns:
        A :class:`RingRun`.

    Example:
        >>> from aigc_tf import data
        >>> ring, _ = data.make_ring(256)
        >>> run = train_on_ring(ring, data.ring_centers(), std=0.05, epochs=1, snapshot_every=1,
        ...                     eval_samples=100)
        >>> run.epochs, run.samples[-1].shape, len(run.modes_covered())
        ([0, 1], (100, 2), 2)
    """
    if epochs < 1 or snapshot_every < 1:
        raise ValueError(f"epochs and snapshot_every must be >= 1, got {epochs}, {snapshot_every}")
    config.set_seed(seed)
    gan = GAN(build_mlp_generator(latent_dim), build_mlp_discriminator(), loss=loss,
              d_steps=d_steps, seed=seed)
    gan.compile(keras.optimizers.Adam(d_lr, beta_1=0.5), keras.optimizers.Adam(g_lr, beta_1=0.5))
    noise = np.random.default_rng(SNAPSHOT_NOISE_SEED).standard_normal((eval_samples, latent_dim))
    snapshots = SampleSnapshots(noise.astype("float32"), every=snapshot_every)
    start = time.perf_counter()
    gan.fit(dataset, epochs=epochs, callbacks=[snapshots], verbose=0)
    seconds = time.perf_counter() - start
    coverage = [mode_coverage(s, centers, std) for s in snapshots.samples]
    return RingRun(gan, snapshots.epochs, snapshots.samples, coverage, seconds)


def plot_ring_snapshots(run, data_points, title, panels=5, limit=3.0):
    """A row of snapshots of one run over the data, titled with modes covered and HQ share.

    Args:
        run: a :class:`RingRun`.
        data_points: real points ``(N, 2)`` drawn behind the samples.
        title: the figure's title.
        panels: number of snapshots shown, evenly spaced from the first to the last.
        limit: half-width of the plotted square.

    Returns:
        A matplotlib ``Figure``.
    """
    picks = np.unique(np.linspace(0, len(run.samples) - 1, panels).round().astype(int))
    fig = Figure(figsize=(3 * len(picks), 3.2), layout="constrained")
    for ax, i in zip(np.atleast_1d(fig.subplots(1, len(picks))), picks, strict=True):
        plotting.scatter_2d({"data": data_points, "samples": run.samples[i]}, limit=limit,
                            size=3, ax=ax)
        coverage = run.coverage[i]
        ax.set_title(f"epoch {run.epochs[i]}: {coverage['modes_covered']}/{len(coverage['counts'])}"
                     f" modes, {coverage['high_quality']:.0%} HQ", fontsize=9)
    fig.suptitle(title)
    return fig


def generator_loss_curves(d_fake):
    """The two generator losses and their gradients with respect to the logit, per ``D(G(z))``.

    With ``D = sigmoid(l)``: the minimax loss ``log(1 - D)`` has ``d/dl = -D``, which vanishes
    when the discriminator rejects the fakes (``D -> 0``); the non-saturating loss ``-log D``
    has ``d/dl = -(1 - D)``, largest exactly there.

    Args:
        d_fake: values of ``D(G(z))`` in the open interval (0, 1).

    Returns:
        dict: ``"minimax"`` and ``"non_saturating"``, each ``{"loss": ..., "grad": ...}``.

    Example:
        >>> curves = generator_loss_curves([0.05])
        >>> float(curves["minimax"]["grad"][0]), float(curves["non_saturating"]["grad"][0])
        (-0.05, -0.95)
    """
    d_fake = np.asarray(d_fake, dtype="float64")
    if d_fake.size == 0 or np.any(~(d_fake > 0)) or np.any(~(d_fake < 1)):
        raise ValueError("d_fake must hold values strictly between 0 and 1 (no NaN)")
    return {"minimax": {"loss": np.log1p(-d_fake), "grad": -d_fake},
            "non_saturating": {"loss": -np.log(d_fake), "grad": -(1 - d_fake)}}


def plot_generator_losses(d_fake=None, marks=None):
    """Both generator losses (left) and their gradients w.r.t. the logit (right) vs ``D(G(z))``.

    Args:
        d_fake: the ``D(G(z))`` grid (default 500 points in [0.005, 0.995]).
        marks: optional dict label -> ``D(G(z))`` value, drawn as vertical dotted lines.

    Returns:
        A matplotlib ``Figure``.
    """
    d_fake = np.linspace(0.005, 0.995, 500) if d_fake is None else np.asarray(d_fake)
    curves = generator_loss_curves(d_fake)
    labels = {"minimax": "minimax  log(1 - D)", "non_saturating": "non-saturating  -log D"}
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    loss_ax, grad_ax = fig.subplots(1, 2)
    for name, curve in curves.items():
        loss_ax.plot(d_fake, curve["loss"], label=labels[name])
        grad_ax.plot(d_fake, np.abs(curve["grad"]), label=labels[name])
    loss_ax.set(xlabel="D(G(z))", ylabel="generator loss $L_G$ (minimised)",
                title="the two generator losses")
    grad_ax.set(xlabel="D(G(z))", ylabel=r"$|\partial L_G / \partial \ell|$",
                title="their gradients w.r.t. the logit")
    for label, value in (marks or {}).items():
        grad_ax.axvline(value, color="gray", linestyle=":", label=label)
    for ax in (loss_ax, grad_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def ring_bridge_share(samples, centers, std):
    """Share of samples on the ring's circle but away from every mode: the "bridges".

    A sample is on the circle when its distance to the origin is within ``3 * std`` of the
    centres' radius, and away from the modes when it is farther than ``3 * std`` from every
    centre. The centres must lie on a circle around the origin (``data.ring_centers()``).

    Args:
        samples: points ``(N, 2)``.
        centers: mode centres ``(modes, 2)`` on a circle around the origin.
        std: standard deviation of each mode.

    Returns:
        float in [0, 1].

    Example:
        >>> from aigc_tf import data
        >>> halfway = np.array([[2 * np.cos(np.pi / 8), 2 * np.sin(np.pi / 8)], [0.0, 0.0]])
        >>> ring_bridge_share(halfway, data.ring_centers(), std=0.05)  # one bridge, one centre
        0.5
    """
    samples, centers = np.asarray(samples, "float64"), np.asarray(centers, "float64")
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ValueError(f"samples must have shape (N, 2) with N >= 1, got {samples.shape}")
    radius = np.linalg.norm(centers, axis=1).mean()
    on_circle = np.abs(np.linalg.norm(samples, axis=1) - radius) <= 3 * std
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    off_modes = distances.min(axis=1) > 3 * std
    return float(np.mean(on_circle & off_modes))
