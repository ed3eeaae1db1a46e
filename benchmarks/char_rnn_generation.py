"""Char-RNN generation speed: our compiled step loop vs ``model.predict`` once per character.

The keras-io-style loop feeds the whole text so far to ``model.predict`` for every new
character; ``CharRNN.generate`` carries the recurrent state through one XLA-compiled step
function. Both use the same (untrained: speed does not depend on the weights) model, by
default the TensorFlow text-generation tutorial's size (embedding 256, GRU 1024).

    python benchmarks/char_rnn_generation.py --chars 400 --predict-chars 40
"""

import argparse
import time

import numpy as np

from aigc_tf import config
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.sampling import sample_logits
from aigc_tf.text import CharVocab, load_corpus

PROMPT = "ROMEO:\n"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="gru", choices=["rnn", "lstm", "gru"])
    parser.add_argument("--units", type=int, default=1024)
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument("--chars", type=int, default=400, help="characters for generate()")
    parser.add_argument(
        "--predict-chars", type=int, default=40, help="characters for the predict loop"
    )
    return parser.parse_args()


def predict_loop(model, vocab, prompt, length):
    """The slow baseline: one ``model.predict`` on the whole text per new character."""
    ids = [vocab.start_id, *vocab.encode(prompt).tolist()]
    for _ in range(length):
        logits = model.predict(np.array([ids], "int32"), verbose=0)[:, -1]
        ids.append(int(sample_logits(logits, temperature=1.0)[0]))
    return vocab.decode(ids)  # <start> is dropped


def chars_per_second(generate_fn, length):
    start = time.perf_counter()
    generate_fn(length)
    return length / (time.perf_counter() - start)


def main():
    args = parse_args()
    config.set_seed(0)
    vocab = CharVocab(load_corpus("shakespeare"))
    model = CharRNN(vocab, args.cell, args.units, embedding_dim=args.embedding_dim)
    model.build()

    def ours(length):
        return model.generate(PROMPT, length, temperature=1.0, seed=0)

    def baseline(length):
        return predict_loop(model, vocab, PROMPT, length)

    ours(5), baseline(2)  # compile / trace both before timing
    fast = chars_per_second(ours, args.chars)
    slow = chars_per_second(baseline, args.predict_chars)
    print(f"model: {args.cell.upper()} {args.units}, embedding {args.embedding_dim}, "
          f"{model.count_params():,} parameters, vocabulary {vocab.size}")
    print(f"{'method':<36} {'chars':>6} {'chars/s':>9}")
    print(f"{'model.predict per character':<36} {args.predict_chars:>6} {slow:>9.1f}")
    print(f"{'CharRNN.generate (compiled step)':<36} {args.chars:>6} {fast:>9.1f}")
    print(f"speed-up: {fast / slow:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
