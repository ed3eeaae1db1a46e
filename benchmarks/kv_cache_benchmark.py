"""MiniGPT generation speed: the key/value cache vs recomputing the whole window per character.

Both runs use the same (untrained: speed does not depend on the weights) model, by default the
size notebook 11 trains (context 64, width 128, 4 heads, 2 blocks), the same prompt, length,
settings and seed; ``use_kv_cache = False`` recomputes the full context window at every step
(what ``MiniGPT.generate`` did before the cache). Each method runs ``--rounds`` times, taken in
turns so that a change in the machine's load hits both; the median is reported, and the two
texts are compared character for character.

    python benchmarks/kv_cache_benchmark.py --chars 2000
"""

import argparse
import os
import statistics
import time

from aigc_tf import config
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.text import CharVocab, load_corpus

PROMPT = "ROMEO:\n"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--embed-dim", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--chars", type=int, default=2000, help="characters per generate()")
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


def timed_generate(model, use_kv_cache, length):
    """``(text, chars per second)`` of one ``generate`` call with or without the cache."""
    model.use_kv_cache = use_kv_cache
    start = time.perf_counter()
    text = model.generate(PROMPT, length, temperature=0.8, top_k=20, seed=1)
    return text, length / (time.perf_counter() - start)


def main():
    args = parse_args()
    config.quiet_tf()
    config.set_seed(0)
    vocab = CharVocab(load_corpus("shakespeare"))
    model = MiniGPT(vocab, context_length=args.context, embed_dim=args.embed_dim,
                    num_heads=args.heads, num_layers=args.layers)
    methods = {"full window recomputed per char": False, "key/value cache": True}
    for use_kv_cache in methods.values():  # compile every step function before timing
        timed_generate(model, use_kv_cache, args.context + 2)
    texts, rates = {}, {name: [] for name in methods}
    for _ in range(args.rounds):
        for name, use_kv_cache in methods.items():
            texts[name], rate = timed_generate(model, use_kv_cache, args.chars)
            rates[name].append(rate)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"model: MiniGPT context {args.context}, width {args.embed_dim}, {args.heads} heads, "
          f"{args.layers} blocks, {model.count_params():,} parameters, vocabulary {vocab.size}")
    print(f"{args.chars} characters per call, T=0.8, top-k 20, seed 1, median of "
          f"{args.rounds} rounds taken in turns")
    print(f"{'method':<34} {'chars/s':>9}   rounds")
    for name in methods:
        print(f"{name:<34} {median[name]:>9.1f}   "
              + " ".join(f"{rate:.0f}" for rate in rates[name]))
    print("load average (1, 5, 15 min) at the end: "
          + ", ".join(f"{load:.2f}" for load in os.getloadavg()) + f" on {os.cpu_count()} CPUs")
    full, cached = (texts[name] for name in methods)
    print(f"speed-up: {median['key/value cache'] / median['full window recomputed per char']:.1f}x "
          "(target >= 3x)")
    print(f"same text: {full == cached}")


if __name__ == "__main__":
    main()
