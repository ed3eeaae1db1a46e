"""Diffusion on a CPU budget: latent diffusion vs the course's best GAN vs a keras-io-style DDIM.

Everything below runs in one process, on the same data (whatever ``load_mnist`` gives: the
offline 4,000-image subset on a machine without the Keras dataset file) and with the same
wall-clock training budget per model (``--minutes``, 5 by default; for latent diffusion the
budget includes its autoencoder):

1. Quality: ``--draws`` independent sets of 1,000 samples each (5 by default), every set scored
   by ``aigc_tf.metrics.evaluate_images`` (FD next to its real-versus-real floor at the same
   sample size, precision/recall, within-class diversity, class balance, the judge's confident
   share, memorised copies) and pooled by ``aigc_tf.metrics.draws.evaluate_draws``: the means,
   and FD's spread over the draws. One draw is not enough: 1,000 real digits scored against
   the held-out ones give FD 2.1 to 4.7 from draw to draw (sd 0.8), so the targets compare
   means over the draws with the floor's mean over as many draws of real digits.

   * the course's latent-diffusion recipe (``aigc_tf.models.latent_diffusion``: a 16-d
     autoencoder, then an MLP noise predictor on its codes), unconditional, DDIM-50 with the
     recipe's ``sampling_eta`` (and, for comparison, the other end: eta 1 for the recipe's
     deterministic DDIM);
   * the course's best GAN at the same budget: the self-conditioned DCGAN of notebook 04
     (lowest FD and highest confident share of ``benchmarks/dcgan_benchmark.py``), with its
     ``aigc-tf train`` recipe (``--gan dcgan`` for the plain DCGAN);
   * a pixel-space DDIM written the way keras-io's example writes it
     (``benchmarks/keras_io_ddim.py``: its widths, block depth, loss and schedule).

2. Sampling: DDIM with 50 steps vs ancestral sampling over all 1,000 steps of the same latent
   model: wall time (median over the draws) and FD of each.
3. The class-conditional latent model with classifier-free guidance (the library's default
   weight): requested-label accuracy, and the metric suite.

Each issue-15 target is printed with PASS or FAIL. Sampling times leave out the tracing of
the compiled steps (see ``trace_steps``). Run it on an otherwise idle machine: the budgets
are wall-clock, so a loaded CPU trains fewer steps.

Usage:
    python benchmarks/diffusion_benchmark.py                 # 5 minutes per model, ~30 min
    python benchmarks/diffusion_benchmark.py --minutes 1     # quicker, same targets
    python benchmarks/diffusion_benchmark.py --fast          # smoke run: tiny sizes
"""

import argparse
import datetime
import math
import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf
from keras_io_ddim import (
    BATCH_SIZE,
    BLOCK_DEPTH,
    SAMPLING_STEPS,
    WIDTHS,
    build_reference,
    pad_digits,
)

from aigc_tf import config, data, recipes, runs
from aigc_tf.callbacks import TimeBudget
from aigc_tf.metrics.draws import evaluate_draws
from aigc_tf.metrics.images import memorisation, real_reference
from aigc_tf.models.diffusion_sampling import DEFAULT_GUIDANCE
from aigc_tf.models.latent_diffusion import train_latent_diffusion

FD_TO_FLOOR = 1.3
MIN_CONFIDENT = 0.90
MAX_CLASS_GAP = 0.03  # largest |class share - 10%|
MIN_DIVERSITY = 0.9
MIN_DDIM_SPEEDUP = 10.0
DDIM_FD_TOLERANCE = 0.2
MIN_LABEL_ACCURACY = 0.95
MAX_SAMPLING_SECONDS = 10.0  # "sampling 1,000 digits with DDIM-50 takes seconds"
GANS = {"self-conditioned-dcgan": "self-conditioned DCGAN", "dcgan": "DCGAN"}


def conditions(args, images):
    """One line on what the numbers depend on: date, machine load, versions, data, budget."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC · {platform.node()} · "
            f"{os.cpu_count()} CPUs, load average {load:.1f} at the start · TensorFlow "
            f"{tf.__version__}, Keras {keras.__version__} · {len(images):,} training digits · "
            f"{args.minutes:g} min per model · {args.draws} draws of {args.samples} samples "
            "each"
            + (" · FAST (smoke sizes)" if args.fast else ""))


def train_gan(name, seconds, seed=0):
    """The ``aigc-tf train`` recipe ``name`` (a DCGAN) trained for ``seconds``, clustering
    included; returns ``(model, steps)``."""
    recipe = recipes.get(name)
    config.set_seed(seed)
    start = time.perf_counter()
    training_data = recipe.load_data(runs.Settings(name, seed=seed))
    model = recipe.build(runs.Settings(name, seed=seed), training_data)
    batch_size = recipe.default_batch_size()
    train, _, _ = recipe.datasets(model, training_data, runs.Settings(name, seed=seed),
                                  batch_size)
    budget = TimeBudget(max(seconds - (time.perf_counter() - start), 1e-3),
                        final_lr_fraction=1.0)
    model.fit(train.repeat(), steps_per_epoch=len(training_data.images) // batch_size,
              epochs=10**6, callbacks=[budget], verbose=0)
    return model, budget.steps


def train_keras_io_reference(images, seconds, fast, seed=0):
    """The keras-io-style pixel DDIM trained for ``seconds``; returns ``(model, steps)``."""
    config.set_seed(seed)
    widths, depth = ((8, 16), 1) if fast else (WIDTHS, BLOCK_DEPTH)
    model = build_reference(images, widths, depth, seed=seed)
    dataset = data.make_dataset(pad_digits(images), BATCH_SIZE, drop_remainder=True,
                                repeat=True, seed=seed)
    budget = TimeBudget(seconds, final_lr_fraction=1.0)  # the example keeps its rate
    model.fit(dataset, steps_per_epoch=len(images) // BATCH_SIZE, epochs=10**6,
              callbacks=[budget], verbose=0)
    return model, budget.steps


def trace_steps(model, method):
    """Trace ``method``'s compiled step for any batch size, so timings leave tracing out.

    Two sizes: the second call retraces with a batch dimension of any size (``tf.function``'s
    ``reduce_retracing``), which every later call reuses.
    """
    for count in (2, 3):
        model.sample(count, seed=0, method=method, verbose=False)


def upper_bound(flagged, count, confidence=0.95):
    """One-sided upper confidence bound of a rate seen ``flagged`` times in ``count``.

    Clopper-Pearson: the largest rate ``p`` with ``P(X <= flagged) >= 1 - confidence`` for
    ``X ~ Binomial(count, p)``; with nothing flagged it is ``1 - (1 - confidence)**(1/count)``
    (about 3/count).

    Example:
        >>> round(upper_bound(0, 1000), 4)
        0.003
    """
    def tail(rate):  # P(X <= flagged); bisection only tries rates strictly inside (0, 1)
        return sum(math.exp(math.lgamma(count + 1) - math.lgamma(k + 1)
                            - math.lgamma(count - k + 1) + k * math.log(rate)
                            + (count - k) * math.log1p(-rate))
                   for k in range(flagged + 1))
    low, high = flagged / count, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if tail(middle) > 1 - confidence else (low, middle)
    return high


def real_copy_rate():
    """Share of real held-out digits that ``memorisation`` flags as copies of training ones,
    and its 95% upper bound (1,000 held-out digits cannot show a rate much below 0.3%)."""
    reference = real_reference("test")
    held_out = slice(0, 1000)
    real = slice(-1000, None)
    count = len(reference.images[real])
    share = memorisation(reference.images[real], reference.train_images,
                         reference.images[held_out], sample_classes=reference.classes[real],
                         reference_classes=reference.classes[held_out])["copy_share"]
    return share, upper_bound(round(share * count), count)


def verdict(passed):
    return "PASS" if passed else "FAIL"


def unconditional_targets(suite, real_copies):
    """``[(target, measured, passed)]`` for the unconditional issue-15 targets.

    ``real_copies`` is ``(share, upper bound)`` from :func:`real_copy_rate`: a generator
    passes the memorisation target when its copy share is within what the real held-out
    digits' share could be.
    """
    real_share, real_bound = real_copies
    shares = np.asarray(suite["class_histogram"], "float64")
    gap = float(np.abs(shares / shares.sum() - 0.1).max())
    return [
        (f"FD <= {FD_TO_FLOOR} x floor", f"{suite['fd']:.2f} ± {suite.get('fd_sd', 0):.2f} vs "
         f"{FD_TO_FLOOR} x {suite['fd_floor']:.2f} = {FD_TO_FLOOR * suite['fd_floor']:.2f}",
         suite["fd"] <= FD_TO_FLOOR * suite["fd_floor"]),
        (f"confident >= {MIN_CONFIDENT:.0%}", f"{suite['confident']:.1%}",
         suite["confident"] >= MIN_CONFIDENT),
        (f"classes within {MAX_CLASS_GAP * 100:.0f} points of 10%",
         f"largest gap {gap * 100:.1f} points", gap <= MAX_CLASS_GAP),
        (f"diversity >= {MIN_DIVERSITY} of real", f"{suite['diversity']:.2f}",
         suite["diversity"] >= MIN_DIVERSITY),
        ("copies <= real held-out digits'", f"{suite['copy_share']:.2%} vs {real_share:.1%} "
         f"(95% upper bound {real_bound:.2%})", suite["copy_share"] <= real_bound),
    ]


def print_table(title, rows):
    print(f"\n{title}")
    print(f"  {'model':44s} {'steps':>6s}  metric suite")
    for name, steps, suite in rows:
        print(f"  {name:44s} {steps:6d}  {suite['summary']}")


def print_targets(targets):
    print("\nIssue-15 targets:")
    for target, measured, passed in targets:
        print(f"  {verdict(passed)}  {target:44s} {measured}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None,
                        help="training budget per model (default 5; 0.1 with --fast)")
    parser.add_argument("--samples", type=int, default=None,
                        help="samples scored per model (default 1000; 200 with --fast)")
    parser.add_argument("--draws", type=int, default=None,
                        help="independent sample sets scored per model, metrics averaged "
                             "(default 5; 2 with --fast)")
    parser.add_argument("--gan", choices=sorted(GANS), default="self-conditioned-dcgan",
                        help="the GAN recipe to compare with")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true",
                        help="smoke run: tiny budgets, 512 training digits, small reference "
                             "network; the numbers mean nothing")
    args = parser.parse_args(argv)
    if args.fast:
        os.environ[config.FAST_ENV] = "1"
    args.fast = config.is_fast()
    args.minutes = args.minutes or config.pick(5.0, 0.1)
    args.samples = args.samples or config.pick(1000, 200)
    args.draws = args.draws or config.pick(5, 2)
    seconds = 60 * args.minutes

    config.quiet_tf()
    images, labels = data.load_mnist("train")
    images, labels = images[:config.pick(None, 512)], labels[:config.pick(None, 512)]
    print(conditions(args, images), flush=True)

    rows, targets = [], []
    latent, encoder, info = train_latent_diffusion(images, seconds=seconds, seed=args.seed)
    for method in ("ddim", "ddpm"):
        trace_steps(latent, method)
    ddim_suite = evaluate_draws(lambda seed: latent.sample(args.samples, seed=seed), args.draws)
    other_eta = 1.0 if latent.sampling_eta == 0 else 0.0
    other_eta_suite = evaluate_draws(
        lambda seed: latent.sample(args.samples, seed=seed, eta=other_eta), args.draws)
    ddpm_suite = evaluate_draws(
        lambda seed: latent.sample(args.samples, seed=seed, method="ddpm", verbose=False),
        args.draws)
    ddim_time, ddpm_time = ddim_suite["sample_seconds"], ddpm_suite["sample_seconds"]
    steps = info["autoencoder_steps"] + info["diffusion_steps"]
    rows.append((f"latent diffusion, DDIM-50, eta {latent.sampling_eta:g} (AE + diffusion)",
                 steps, ddim_suite))
    rows.append((f"  same model, DDIM-50 with eta {other_eta:g}", steps, other_eta_suite))
    rows.append(("  same model, ancestral over 1,000 steps", steps, ddpm_suite))
    print(f"latent diffusion: autoencoder {info['autoencoder_steps']:,} steps in "
          f"{info['autoencoder_seconds']:.0f} s, diffusion {info['diffusion_steps']:,} steps in "
          f"{info['diffusion_seconds']:.0f} s ({info['steps_per_second']:.1f} steps/s)",
          flush=True)
    targets += unconditional_targets(ddim_suite, real_copy_rate())
    speedup = ddpm_time / ddim_time
    fd_change = ddim_suite["fd"] / ddpm_suite["fd"] - 1.0
    targets += [
        (f"DDIM-50 >= {MIN_DDIM_SPEEDUP:.0f}x faster than ancestral",
         f"{ddim_time:.1f} s vs {ddpm_time:.1f} s: {speedup:.1f}x",
         speedup >= MIN_DDIM_SPEEDUP),
        (f"DDIM-50 FD within {DDIM_FD_TOLERANCE:.0%} of ancestral",
         f"{ddim_suite['fd']:.2f} vs {ddpm_suite['fd']:.2f} ({fd_change:+.0%})",
         abs(fd_change) <= DDIM_FD_TOLERANCE),
        (f"{args.samples:,} DDIM-50 digits in <= {MAX_SAMPLING_SECONDS:.0f} s",
         f"{ddim_time:.1f} s", ddim_time <= MAX_SAMPLING_SECONDS),
    ]

    gan, gan_steps = train_gan(args.gan, seconds, args.seed)
    rows.append((f"{GANS[args.gan]} (aigc-tf train recipe)", gan_steps,
                 evaluate_draws(lambda seed: gan.sample(args.samples, seed=seed), args.draws)))
    print(f"{GANS[args.gan]}: {gan_steps:,} steps", flush=True)

    reference, reference_steps = train_keras_io_reference(images, seconds, args.fast, args.seed)
    sampling_steps = config.pick(SAMPLING_STEPS, 5)
    rows.append((f"keras-io-style pixel DDIM (MAE, {sampling_steps} steps)", reference_steps,
                 evaluate_draws(lambda seed: reference.sample(args.samples, seed=seed,
                                                              steps=sampling_steps),
                                args.draws)))
    print(f"keras-io-style reference: {reference_steps:,} steps", flush=True)

    conditional, _, cond_info = train_latent_diffusion(images, labels, seconds=seconds,
                                                       seed=args.seed)
    requested = np.arange(args.samples) % 10
    cond_suite = evaluate_draws(lambda seed: conditional.generate(requested, seed=seed),
                                args.draws, labels=requested)
    rows.append((f"conditional latent diffusion, guidance {DEFAULT_GUIDANCE:g}",
                 cond_info["autoencoder_steps"] + cond_info["diffusion_steps"], cond_suite))
    targets.append((f"requested-label accuracy >= {MIN_LABEL_ACCURACY:.0%}",
                    f"{cond_suite['label_accuracy']:.1%}",
                    cond_suite["label_accuracy"] >= MIN_LABEL_ACCURACY))

    print_table(f"Quality after {args.minutes:g} min of training per model (means over "
                f"{args.draws} draws of {args.samples:,} samples; FD ± its sd):", rows)
    print_targets(targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
