"""Char-RNN quality within a time budget: validation nats/char (target <= 1.6 in 10 min).

Trains ``CharRNN`` on the Shakespeare corpus (90/10 split) for ``--budget-seconds`` of
wall-clock time and prints the validation loss in nats/char, bits/char and perplexity.

    python benchmarks/char_rnn_quality.py --budget-seconds 600
"""

import argparse
import math
import time

import keras

from aigc_tf import config
from aigc_tf.callbacks import TimeBudget
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.text import CharVocab, load_corpus, make_char_dataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-seconds", type=float, default=600)
    parser.add_argument("--cell", default="gru", choices=["rnn", "lstm", "gru"])
    parser.add_argument("--units", type=int, default=384)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument("--final-lr-fraction", type=float, default=0.1)
    parser.add_argument("--clipnorm", type=float, default=1.0)
    parser.add_argument("--steps-per-eval", type=int, default=60)
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    config.set_seed(args.seed)
    text = load_corpus("shakespeare")
    vocab = CharVocab(text)
    train, val = make_char_dataset(
        vocab.encode(text), args.seq_len, args.batch_size, start_id=vocab.start_id, repeat=True
    )
    model = CharRNN(
        vocab, args.cell, args.units, args.layers, embedding_dim=args.embedding_dim
    )
    model.compile(
        optimizer=keras.optimizers.Adam(args.lr, clipnorm=args.clipnorm),
        jit_compile=args.jit_compile,
    )
    start = time.perf_counter()
    history = model.fit(
        train,
        validation_data=val,
        epochs=100_000,
        steps_per_epoch=args.steps_per_eval,
        callbacks=[TimeBudget(args.budget_seconds, args.final_lr_fraction)],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    val_losses = history.history["val_loss"]
    steps = len(val_losses) * args.steps_per_eval
    print(f"{'eval':>4} {'train nats':>10} {'val nats':>9}")
    for i, (loss, val_loss) in enumerate(zip(history.history["loss"], val_losses, strict=True)):
        print(f"{i + 1:>4} {loss:>10.3f} {val_loss:>9.3f}")
    final = val_losses[-1]
    print(
        f"\n{args.cell.upper()} {args.units}x{args.layers}, {model.count_params():,} params, "
        f"~{steps} steps of {args.batch_size}x{args.seq_len} in {seconds:.0f} s"
    )
    print(
        f"validation: {final:.3f} nats/char, {final / math.log(2):.3f} bits/char, "
        f"perplexity {math.exp(final):.2f} (target <= 1.6 nats/char)"
    )
    print(model.generate("\n", 300, temperature=0.7, seed=0))


if __name__ == "__main__":
    main()
