"""Char-RNN or mini-GPT quality within a time budget: validation nats/char.

Targets (issue: sequence models): char-RNN <= 1.6 and mini-GPT <= 1.7 nats/char within
10 minutes on 2 CPU cores. Trains on the Shakespeare corpus (90/10 split) for
``--budget-seconds`` of wall-clock time (validation included) with the learning-rate warm-up
and decay of :class:`aigc_tf.callbacks.TimeBudget`, then prints the validation loss in
nats/char, bits/char and perplexity, and a sample.

    python benchmarks/text_model_quality.py --model rnn --budget-seconds 600
    python benchmarks/text_model_quality.py --model gpt --budget-seconds 600
"""

import argparse
import math

import keras

from aigc_tf import config
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.text import CharVocab, load_corpus, make_char_dataset

# Per-model defaults: sizes and optimiser settings tuned for a 2-core CPU.
DEFAULTS = {
    "rnn": dict(units=256, layers=1, embedding_dim=64, seq_len=100, batch_size=64, lr=1e-2,
                warmup=0.0, dropout=0.2, stride=50),
    "gpt": dict(units=128, layers=2, embedding_dim=None, seq_len=64, batch_size=32, lr=4e-3,
                warmup=0.05, dropout=0.0, stride=32),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="rnn", choices=sorted(DEFAULTS))
    parser.add_argument("--budget-seconds", type=float, default=600)
    parser.add_argument("--cell", default="gru", choices=["rnn", "lstm", "gru"])
    parser.add_argument("--units", type=int, help="RNN state size / GPT embed_dim")
    parser.add_argument("--layers", type=int, help="recurrent layers / Transformer blocks")
    parser.add_argument("--heads", type=int, default=4, help="GPT attention heads")
    parser.add_argument("--embedding-dim", type=int, help="RNN character embedding")
    parser.add_argument("--seq-len", type=int, help="window length (GPT context)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--warmup", type=float, help="share of the budget spent warming up")
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--stride", type=int, help="characters between training windows")
    parser.add_argument("--final-lr-fraction", type=float, default=0.05)
    parser.add_argument("--clipnorm", type=float, default=1.0)
    parser.add_argument("--steps-per-eval", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for key, value in DEFAULTS[args.model].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def build(args, vocab):
    if args.model == "gpt":
        return MiniGPT(vocab, context_length=args.seq_len, embed_dim=args.units,
                       num_heads=args.heads, num_layers=args.layers, dropout=args.dropout)
    return CharRNN(vocab, args.cell, args.units, args.layers, embedding_dim=args.embedding_dim,
                   dropout=args.dropout)


def main():
    args = parse_args()
    config.quiet_tf()
    config.set_seed(args.seed)
    text = load_corpus("shakespeare")
    vocab = CharVocab(text)
    train, val = make_char_dataset(
        vocab.encode(text), args.seq_len, args.batch_size, start_id=vocab.start_id, repeat=True,
        stride=args.stride,
    )
    model = build(args, vocab)
    model.compile(optimizer=keras.optimizers.Adam(args.lr, clipnorm=args.clipnorm))
    run = model.fit_within_budget(train, val, args.budget_seconds, args.steps_per_eval,
                                  args.final_lr_fraction, args.warmup)
    print(f"{'steps':>6} {'train nats':>10} {'val nats':>9}")
    for i, (loss, val_loss) in enumerate(zip(run["loss"], run["val_loss"], strict=True)):
        print(f"{(i + 1) * args.steps_per_eval:>6} {loss:>10.3f} {val_loss:>9.3f}")
    final = run["val_loss"][-1]
    print(f"\n{model.name}: {model.count_params():,} params, {run['steps']} steps of "
          f"{args.batch_size}x{args.seq_len} in {run['seconds']:.0f} s; settings {vars(args)}")
    target = {"rnn": 1.6, "gpt": 1.7}[args.model]
    print(f"validation: {final:.3f} nats/char, {final / math.log(2):.3f} bits/char, "
          f"perplexity {math.exp(final):.2f} (target <= {target} nats/char)")
    print(model.generate("\n", 300, temperature=0.7, seed=0))


if __name__ == "__main__":
    main()
