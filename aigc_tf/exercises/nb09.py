"""Hidden cases for notebook 09 (character-level RNN)."""

import math

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


def _softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


@exercise("09.bits_and_perplexity",
          hint="bits per character = nats / ln 2; perplexity = e ** nats (math.log, math.exp)")
def _bits_and_perplexity_cases(bits_and_perplexity):
    from aigc_tf.metrics.text import nll_to_metrics

    cases = [("a loss of 0 nats", 0.0), ("a loss of ln 2 nats", math.log(2)),
             ("a loss of 1.23 nats", 1.23), ("a loss of 3.31 nats", 3.31)]
    for name, nats in cases:
        answer = bits_and_perplexity(nats)
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            raise ExerciseFailure(
                f"{name}: expected a pair (bits, perplexity), got {type(answer).__name__}")
        expected = nll_to_metrics(nats)
        expect_close(f"{name}, bits per character", answer[0], expected["bits_per_char"])
        expect_close(f"{name}, perplexity", answer[1], expected["perplexity"])
    return len(cases)


@exercise("09.temperature_softmax",
          hint="divide the logits by T, subtract each row's maximum (exp of large numbers "
               "overflows), exponentiate and divide by the row sum")
def _temperature_softmax_cases(temperature_softmax):
    import keras

    from aigc_tf.sampling import sample_logits

    rng = np.random.default_rng(9)
    cases = [("one row of 3 logits at T = 1", np.array([[1.0, 2.0, 3.0]]), 1.0),
             ("one row of 3 logits at T = 0.5", np.array([[1.0, 2.0, 3.0]]), 0.5),
             ("4 rows of 10 logits at T = 2", rng.normal(size=(4, 10)), 2.0),
             ("2 rows of 67 logits at T = 0.7", 3 * rng.normal(size=(2, 67)), 0.7),
             ("large logits (around 100) at T = 0.05", 100 + rng.normal(size=(3, 5)), 0.05)]
    passed = check_cases(temperature_softmax, cases,
                         lambda logits, temperature: _softmax(logits / temperature), rtol=1e-5,
                         atol=1e-7)
    # The library's sampler draws from exactly this distribution.
    logits = np.array([[2.0, 1.0, 0.0, -1.0, 0.5]])
    draws = 20_000
    ids = sample_logits(np.repeat(logits, draws, axis=0).astype("float32"), temperature=0.8,
                        seed_generator=keras.random.SeedGenerator(9))
    frequencies = np.bincount(keras.ops.convert_to_numpy(ids), minlength=5) / draws
    expect_close("T = 0.8: the frequencies of aigc_tf.sampling.sample_logits's draws",
                 temperature_softmax(logits.copy(), 0.8)[0], frequencies, rtol=0, atol=0.015)
    return passed + 1


@exercise("09.keep_top_k",
          hint="find the k-th largest logit of each row (np.sort(logits, axis=-1)[:, -k]) and "
               "set every logit strictly below it to -inf; ties with it stay")
def _keep_top_k_cases(keep_top_k):
    from keras import ops

    from aigc_tf.sampling import top_k_logits

    rng = np.random.default_rng(90)
    cases = [("one row, k = 2", np.array([[1.0, 3.0, 2.0, 0.5]]), 2),
             ("3 rows of 10, k = 4", rng.normal(size=(3, 10)), 4),
             ("2 rows of 67, k = 1", rng.normal(size=(2, 67)), 1),
             ("2 rows of 6, k = 6 (keep everything)", rng.normal(size=(2, 6)), 6),
             ("ties at the k-th value, k = 2", np.array([[0.0, 1.0, 1.0, 2.0, -1.0]]), 2)]
    for name, logits, k in cases:
        logits = logits.astype("float32")
        expected = ops.convert_to_numpy(top_k_logits(logits, k)).astype("float64")
        got = np.asarray(keep_top_k(logits.copy(), k), dtype="float64")
        if got.shape != expected.shape:
            raise ExerciseFailure(f"{name}: expected shape {expected.shape}, got {got.shape}")
        kept = np.isfinite(expected)
        expect_close(f"{name}, which logits are kept (1) or dropped (0)",
                     np.isfinite(got), kept, rtol=0, atol=0)
        if not np.all(np.isneginf(got[~kept])):
            raise ExerciseFailure(f"{name}: dropped logits must be -inf (probability 0)")
        expect_close(f"{name}, the kept logits", got[kept], expected[kept], rtol=0, atol=1e-6)
    return len(cases)
