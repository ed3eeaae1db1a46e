"""How long the image metric suite takes, and the real-versus-real floors it is read against.

1. ``evaluate_images`` on N held-out-sized batches of real training digits: wall-clock seconds
   for the first call (loads the judge, computes the held-out reference) and for later calls.
2. The floors: MNIST-FD and KID of random *training* digits against the held-out test split at
   several sample sizes (several draws each), and the suite's other numbers for real digits,
   so a generator's numbers can be read against what real data scores.

Usage:
    python benchmarks/metrics_benchmark.py --sizes 100 250 500 1000 2000 --draws 3
"""

import argparse
import time

import numpy as np

from aigc_tf import config, data
from aigc_tf.metrics.images import evaluate_images, real_floor


def time_suite(images, calls):
    """Seconds of the first ``evaluate_images`` call and the median of the later ones."""
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        results = evaluate_images(images)
        seconds.append(time.perf_counter() - start)
    return seconds[0], float(np.median(seconds[1:])), results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000, help="images per timed call")
    parser.add_argument("--calls", type=int, default=4, help="timed calls (first one is cold)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500, 1000, 2000])
    parser.add_argument("--draws", type=int, default=3, help="floor draws per size")
    args = parser.parse_args(argv)

    config.quiet_tf()
    train, _ = data.load_mnist("train")
    images = train[np.random.default_rng(0).permutation(len(train))[:args.samples]]
    first, later, results = time_suite(images, args.calls)
    print(f"\nevaluate_images on {args.samples:,} images: first call {first:.1f} s "
          f"(judge and held-out reference), later calls {later:.1f} s (median)")
    print(f"  real training digits: {results['summary']}")

    print("\nReal-versus-real floor (training digits vs the held-out test split):")
    print(f"  {'n':>6s} {'FD mean':>8s} {'FD range':>14s} {'KID mean':>9s} {'KID range':>16s}")
    for size in args.sizes:
        floors = [real_floor(size, seed=seed) for seed in range(args.draws)]
        fd = np.array([f["fd"] for f in floors])
        kid = np.array([f["kid"] for f in floors])
        print(f"  {size:6d} {fd.mean():8.2f} {fd.min():6.2f}-{fd.max():<7.2f} "
              f"{kid.mean():9.3f} {kid.min():7.3f}..{kid.max():<7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
