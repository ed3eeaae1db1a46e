"""Hidden cases for notebook 11 (attention and a mini-GPT)."""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, exercise, expect_close


@exercise("11.causal_mask",
          hint="entry (i, j) is True when j <= i: the lower triangle and the diagonal "
               "(np.tril of a matrix of ones, as booleans)")
def _causal_mask_cases(causal_mask):
    from aigc_tf.layers import causal_mask as library_mask

    lengths = (1, 2, 5, 17, 64)
    for length in lengths:
        got = np.asarray(causal_mask(length))
        if got.dtype != bool:
            raise ExerciseFailure(f"length {length}: expected a boolean mask, got dtype "
                                  f"{got.dtype} (compare with >= or use .astype(bool))")
        expect_close(f"length {length} (1 = may attend)", got,
                     np.asarray(library_mask(length)), rtol=0, atol=0)
    return len(lengths)


@exercise("11.attention",
          hint="weights = softmax(q k^T / sqrt(d_k)) along the key axis, with the scores of "
               "masked pairs (mask False) set to -1e9 or -inf before the softmax; "
               "outputs = weights v")
def _attention_cases(attention):
    from aigc_tf.layers import causal_mask, scaled_dot_product_attention

    rng = np.random.default_rng(11)
    cases = []
    for name, n_q, n_k, d_k, d_v, mask in [
        ("4 queries and keys, d_k = 2, no mask", 4, 4, 2, 2, None),
        ("6 queries, d_k = 8, causal mask", 6, 6, 8, 3, "causal"),
        ("3 queries, 5 keys, d_k = 4, d_v = 6, no mask", 3, 5, 4, 6, None),
        ("5 queries and keys, d_k = 16, random mask", 5, 5, 16, 4, "random"),
    ]:
        q, k, v = (rng.normal(size=shape) for shape in ((n_q, d_k), (n_k, d_k), (n_k, d_v)))
        if mask == "causal":
            mask = np.asarray(causal_mask(n_q))
        elif mask == "random":
            mask = rng.random((n_q, n_k)) < 0.5
            mask[np.arange(n_q), rng.integers(0, n_k, n_q)] = True  # every query sees a key
        cases.append((name, q, k, v, mask))
    for name, q, k, v, mask in cases:
        answer = attention(q.copy(), k.copy(), v.copy(),
                           mask=None if mask is None else mask.copy())
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            raise ExerciseFailure(
                f"{name}: expected a pair (outputs, weights), got {type(answer).__name__}")
        outputs, weights = scaled_dot_product_attention(
            q.astype("float32"), k.astype("float32"), v.astype("float32"), mask=mask)
        expect_close(f"{name}, weights", answer[1], np.asarray(weights), rtol=1e-4, atol=1e-5)
        expect_close(f"{name}, outputs", answer[0], np.asarray(outputs), rtol=1e-4, atol=1e-5)
    return len(cases)
