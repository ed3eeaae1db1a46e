"""Sampling the next token from logits: temperature, top-k, greedy.

Conventions shared by every text generator of the course (char-RNN, mini-GPT):

* ``temperature`` must be a finite number ``> 0``. Sampling uses ``softmax(logits / T)``:
  ``T < 1`` sharpens the distribution, ``T > 1`` flattens it, and as ``T -> 0`` it approaches
  the argmax. ``T = 0`` itself is rejected (it would divide by zero); ask for greedy decoding
  explicitly with ``greedy=True``.
* ``top_k`` is ``None`` (all tokens) or an integer ``>= 1``: only the ``k`` largest logits
  keep their probability mass. A ``top_k`` larger than the vocabulary means all tokens.
"""

import math
import numbers

import keras
from keras import ops


def check_sampling_args(temperature, top_k):
    """Raise ``ValueError`` unless ``temperature > 0`` (finite) and ``top_k`` is None or >= 1.

    Args:
        temperature: softmax temperature.
        top_k: number of most likely tokens to sample from, or None for all.

    Example:
        >>> check_sampling_args(0.8, top_k=5)
        >>> check_sampling_args(0, None)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
            ...
        ValueError: temperature must be a finite number > 0 (softmax(logits / T)), got 0;
        for greedy (argmax) decoding use greedy=True
    """
    is_number = isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
    if not is_number or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(
            f"temperature must be a finite number > 0 (softmax(logits / T)), got "
            f"{temperature!r}; for greedy (argmax) decoding use greedy=True"
        )
    if top_k is None:
        return
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}")


def top_k_logits(logits, k):
    """Set every logit below the ``k``-th largest of its row to ``-inf``.

    Args:
        logits: float tensor of shape ``(batch, vocab)``.
        k: integer >= 1 (values above the vocabulary size keep every logit).

    Example:
        >>> ops.convert_to_numpy(top_k_logits([[1.0, 3.0, 2.0]], k=2))
        array([[-inf,   3.,   2.]], dtype=float32)
    """
    logits = ops.convert_to_tensor(logits, "float32")
    k = min(int(k), logits.shape[-1])
    kth_largest = ops.top_k(logits, k)[0][..., -1:]
    return ops.where(logits < kth_largest, float("-inf"), logits)


def sample_logits(logits, temperature=1.0, top_k=None, seed_generator=None, greedy=False):
    """Draw one token id per row from ``softmax(logits / temperature)``, optionally top-k.

    Works eagerly and inside ``tf.function``/XLA (``temperature`` may then be a tensor,
    which is not checked; call :func:`check_sampling_args` beforehand).

    Args:
        logits: float tensor of shape ``(batch, vocab)``.
        temperature: number or scalar tensor ``> 0``; see the module docstring.
        top_k: None or an integer >= 1 (a Python int: it fixes a shape).
        seed_generator: a ``keras.random.SeedGenerator`` (use one inside compiled
            functions), an integer seed, or None.
        greedy: return the argmax instead of sampling.

    Returns:
        int32 tensor of shape ``(batch,)``.

    Example:
        >>> gen = keras.random.SeedGenerator(0)
        >>> ids = sample_logits(ops.zeros((4, 10)), temperature=0.7, top_k=3, seed_generator=gen)
        >>> ids.shape
        TensorShape([4])
        >>> logits = ops.convert_to_tensor([[0.0, 5.0, 1.0]])
        >>> int(sample_logits(logits, greedy=True)[0])  # the argmax, no sampling
        1
    """
    if isinstance(temperature, numbers.Real):
        check_sampling_args(temperature, top_k)
    else:
        check_sampling_args(1.0, top_k)
    logits = ops.convert_to_tensor(logits, "float32")
    if len(logits.shape) != 2:
        raise ValueError(f"logits must have shape (batch, vocab), got {tuple(logits.shape)}")
    if greedy:
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
    if top_k is not None:
        logits = top_k_logits(logits, top_k)
    scaled = logits / ops.cast(temperature, "float32")
    ids = keras.random.categorical(scaled, 1, dtype="int32", seed=seed_generator)
    return ids[:, 0]
