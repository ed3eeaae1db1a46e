"""Attention and Transformer layers written from the equations.

Scaled dot-product attention, ``softmax(Q K^T / sqrt(d_k)) V``, with an optional mask; a
causal mask; multi-head self-attention; token + position embeddings; and a pre-norm
Transformer block. ``MultiHeadSelfAttention`` computes exactly what
``keras.layers.MultiHeadAttention`` computes for self-attention (the tests copy the weights
across and compare), but every step is visible in a few lines of ``keras.ops``.

For generation, the attention layer and the block also run with a key/value cache
(``call_with_cache``): each new position computes its own query, key and value only, and
attends to the keys and values of earlier positions kept in the cache.
"""

import math
import numbers

import keras
from keras import ops

#: Added to the scores of masked positions: exp() of it underflows to exactly 0 in float32.
MASK_VALUE = -1e9


def causal_mask(length):
    """Boolean ``(length, length)`` mask: position ``i`` may attend to positions ``j <= i``.

    Args:
        length: sequence length: a positive integer, or a scalar integer tensor (e.g.
            ``ops.shape(x)[1]`` of a sequence whose length is unknown when the graph is built).

    Returns:
        A boolean tensor, ``True`` where attention is allowed (lower triangle and diagonal).

    Example:
        >>> ops.convert_to_numpy(causal_mask(3))
        array([[ True, False, False],
               [ True,  True, False],
               [ True,  True,  True]])
    """
    if isinstance(length, bool) or not (isinstance(length, numbers.Integral)
                                        or ops.is_tensor(length)):
        raise ValueError(f"length must be a positive integer, got {length!r}")
    if isinstance(length, numbers.Integral) and length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    rows = ops.arange(length)[:, None]
    cols = ops.arange(length)[None, :]
    return ops.greater_equal(rows, cols)


def scaled_dot_product_attention(q, k, v, mask=None):
    """Scaled dot-product attention ``softmax(Q K^T / sqrt(d_k)) V``.

    Args:
        q: queries, shape ``(..., length_q, d_k)``.
        k: keys, shape ``(..., length_k, d_k)``.
        v: values, shape ``(..., length_k, d_v)``.
        mask: optional boolean tensor broadcastable to ``(..., length_q, length_k)``;
            ``True`` where a query may attend to a key. Masked scores are set to a large
            negative number, so their weights are exactly 0. Every query must be allowed at
            least one key.

    Returns:
        ``(outputs, weights)``: outputs of shape ``(..., length_q, d_v)`` and the attention
        weights of shape ``(..., length_q, length_k)`` (each row sums to 1).

    Example:
        >>> q = k = v = keras.random.normal((2, 5, 8))
        >>> out, w = scaled_dot_product_attention(q, k, v, mask=causal_mask(5))
        >>> tuple(out.shape), tuple(w.shape)
        ((2, 5, 8), (2, 5, 5))
    """
    q, k, v = ops.convert_to_tensor(q), ops.convert_to_tensor(k), ops.convert_to_tensor(v)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same last dimension d_k, got {q.shape[-1]} and {k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same length (axis -2), got {k.shape[-2]} and {v.shape[-2]}"
        )
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = ops.cast(mask, "bool")
        scores = ops.where(mask, scores, ops.cast(MASK_VALUE, scores.dtype))
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


def _check_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_rate(name, value):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


@keras.saving.register_keras_serializable(package="aigc_tf")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Multi-head self-attention: project to heads, attend, concatenate, project back.

    For input ``x`` of shape ``(batch, length, d_model)`` and each head ``h``:
    ``head_h = Attention(x W_q^h, x W_k^h, x W_v^h)``; the output is
    ``concat(head_1, ..., head_H) W_o``. The three input projections share one ``Dense``
    (``qkv``) so the CPU runs one matrix multiply instead of three.

    Args:
        num_heads: number of attention heads ``H``.
        key_dim: size of each head's queries/keys/values (``d_k``).
        causal: if True, position ``i`` attends only to positions ``<= i``.
        dropout: dropout rate on the attention weights during training.
        use_bias: whether the projections have biases.
        **kwargs: standard ``keras.layers.Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        x: tensor ``(batch, length, d_model)``.
        training: Python bool, enables dropout.
        return_attention_scores: also return the weights ``(batch, H, length, length)``.

    Example:
        >>> layer = MultiHeadSelfAttention(num_heads=4, key_dim=16, causal=True)
        >>> tuple(layer(keras.random.normal((2, 10, 64))).shape)
        (2, 10, 64)
    """

    def __init__(self, num_heads, key_dim, causal=False, dropout=0.0, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("num_heads", num_heads)
        _check_positive_int("key_dim", key_dim)
        _check_rate("dropout", dropout)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.causal = causal
        self.dropout = dropout
        self.use_bias = use_bias
        self.qkv = keras.layers.Dense(3 * num_heads * key_dim, use_bias=use_bias, name="qkv")
        self.attention_dropout = keras.layers.Dropout(dropout)
        self.output_dense = None

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"MultiHeadSelfAttention expects inputs (batch, length, d_model), "
                f"got shape {input_shape}"
            )
        self.qkv.build(input_shape)
        self.output_dense = keras.layers.Dense(
            input_shape[-1], use_bias=self.use_bias, name="output_dense"
        )
        self.output_dense.build((*input_shape[:-1], self.num_heads * self.key_dim))

    def _split_heads(self, x):
        # (batch, length, H * d_k) -> (batch, H, length, d_k)
        x = ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], self.num_heads, self.key_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def _project(self, x):
        q, k, v = ops.split(self.qkv(x), 3, axis=-1)
        return self._split_heads(q), self._split_heads(k), self._split_heads(v)

    def _merge_heads(self, heads, batch, length):
        # (batch, H, length, d_k) -> (batch, length, d_model)
        heads = ops.reshape(
            ops.transpose(heads, (0, 2, 1, 3)), (batch, length, self.num_heads * self.key_dim)
        )
        return self.output_dense(heads)

    def call(self, x, training=None, return_attention_scores=False):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        q, k, v = self._project(x)
        mask = causal_mask(length) if self.causal else None
        heads, weights = scaled_dot_product_attention(q, k, v, mask=mask)
        if self.dropout > 0:
            # Dropout on the weights means recomputing the weighted sum with dropped weights.
            weights = self.attention_dropout(weights, training=training)
            heads = ops.matmul(weights, v)
        outputs = self._merge_heads(heads, batch, length)
        return (outputs, weights) if return_attention_scores else outputs

    def initial_cache(self, batch_size, max_length):
        """An empty key/value cache: zeros ``(batch_size, 2, H, max_length, d_k)``."""
        return ops.zeros((batch_size, 2, self.num_heads, max_length, self.key_dim))

    def call_with_cache(self, x, cache, index):
        """Causal self-attention for ``x`` at positions ``index, index + 1, ...`` of a cache.

        Writes the keys and values of ``x`` into ``cache`` at ``index`` and lets each query
        (absolute position ``p``) attend to every cached position ``<= p``. Running a sequence
        in pieces this way gives the outputs of :meth:`call` on the whole sequence (causal,
        inference: no dropout) at a fraction of the cost per new position.

        Args:
            x: tensor ``(batch, length, d_model)``.
            cache: keys and values ``(batch, 2, H, max_length, d_k)``, from
                :meth:`initial_cache` or an earlier call.
            index: position of ``x``'s first element (int or scalar int tensor).

        Returns:
            ``(outputs, cache)``: outputs ``(batch, length, d_model)`` and the updated cache.

        Example:
            >>> import numpy as np
            >>> layer = MultiHeadSelfAttention(num_heads=2, key_dim=4, causal=True)
            >>> x = keras.random.normal((1, 5, 8), seed=0)
            >>> whole = layer(x)
            >>> cache = layer.initial_cache(batch_size=1, max_length=5)
            >>> first, cache = layer.call_with_cache(x[:, :3], cache, index=0)
            >>> last, cache = layer.call_with_cache(x[:, 3:], cache, index=3)
            >>> bool(np.allclose(ops.concatenate([first, last], axis=1), whole, atol=1e-5))
            True
        """
        if not self.causal:
            raise ValueError("a key/value cache needs causal attention (causal=True): a "
                             "non-causal position would also attend to later ones")
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        q, k, v = self._project(x)
        cache = ops.slice_update(cache, (0, 0, 0, index, 0), ops.stack([k, v], axis=1))
        query_positions = index + ops.arange(length)
        mask = query_positions[:, None] >= ops.arange(ops.shape(cache)[3])[None, :]
        heads, _ = scaled_dot_product_attention(q, cache[:, 0], cache[:, 1], mask=mask)
        return self._merge_heads(heads, batch, length), cache

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            causal=self.causal,
            dropout=self.dropout,
            use_bias=self.use_bias,
        )
        return config


@keras.saving.register_keras_serializable(package="aigc_tf")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Sum of a learnt token embedding and a learnt position embedding.

    Attention alone is blind to order (permuting the inputs permutes the outputs); adding a
    vector per position ``0 .. max_length - 1`` tells the model where each token sits.

    Args:
        vocab_size: number of token ids.
        max_length: longest sequence the layer accepts.
        embed_dim: size of the embedding vectors.
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Example:
        >>> emb = TokenAndPositionEmbedding(vocab_size=50, max_length=32, embed_dim=16)
        >>> tuple(emb(ops.zeros((2, 10), dtype="int32")).shape)
        (2, 10, 16)
    """

    def __init__(self, vocab_size, max_length, embed_dim, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("vocab_size", vocab_size)
        _check_positive_int("max_length", max_length)
        _check_positive_int("embed_dim", embed_dim)
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.embed_dim = embed_dim
        self.token_embedding = keras.layers.Embedding(vocab_size, embed_dim, name="token")
        self.position_embedding = keras.layers.Embedding(max_length, embed_dim, name="position")

    def _check_length(self, length):
        if length is not None and length > self.max_length:
            raise ValueError(
                f"sequence length {length} is longer than max_length={self.max_length}"
            )

    def build(self, input_shape):
        self._check_length(input_shape[-1])
        self.token_embedding.build(input_shape)
        self.position_embedding.build((input_shape[-1],))

    def call(self, token_ids, start_position=0):
        """Embed ``token_ids`` ``(batch, length)`` sitting at positions ``start_position, ...``.

        ``start_position`` (int or scalar int tensor) is for generation with a cache, where a
        new token sits after the ones already read.
        """
        self._check_length(token_ids.shape[-1])
        positions = start_position + ops.arange(ops.shape(token_ids)[-1])
        return self.token_embedding(token_ids) + self.position_embedding(positions)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embed_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size, max_length=self.max_length, embed_dim=self.embed_dim
        )
        return config


@keras.saving.register_keras_serializable(package="aigc_tf")
class TransformerBlock(keras.layers.Layer):
    """Pre-norm causal Transformer block (GPT-2 layout).

    ``x = x + Attention(LayerNorm(x))`` then ``x = x + MLP(LayerNorm(x))`` with a
    ``Dense(ff_dim, gelu) -> Dense(embed_dim)`` MLP. Normalising before each sub-layer keeps
    the residual path an identity, which makes deeper stacks train without a careful
    learning-rate warm-up.

    Args:
        embed_dim: model width ``d_model``; must be divisible by ``num_heads``.
        num_heads: number of attention heads (each of size ``embed_dim // num_heads``).
        ff_dim: hidden width of the MLP (commonly ``4 * embed_dim``).
        dropout: dropout rate on attention weights and on each residual branch.
        causal: mask the future (True for a language model).
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Example:
        >>> block = TransformerBlock(embed_dim=64, num_heads=4, ff_dim=256)
        >>> tuple(block(keras.random.normal((2, 10, 64))).shape)
        (2, 10, 64)
    """

    def __init__(self, embed_dim, num_heads, ff_dim, dropout=0.0, causal=True, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int("embed_dim", embed_dim)
        _check_positive_int("num_heads", num_heads)
        _check_positive_int("ff_dim", ff_dim)
        _check_rate("dropout", dropout)
        if embed_dim % num_heads:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.causal = causal
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm1")
        self.attention = MultiHeadSelfAttention(
            num_heads, embed_dim // num_heads, causal=causal, dropout=dropout, name="attention"
        )
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm2")
        self.ff_in = keras.layers.Dense(ff_dim, activation="gelu", name="ff_in")
        self.ff_out = keras.layers.Dense(embed_dim, name="ff_out")
        self.residual_dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        if input_shape[-1] != self.embed_dim:
            raise ValueError(
                f"TransformerBlock expects inputs (batch, length, {self.embed_dim}), "
                f"got shape {input_shape}"
            )
        self.norm1.build(input_shape)
        self.attention.build(input_shape)
        self.norm2.build(input_shape)
        self.ff_in.build(input_shape)
        self.ff_out.build((*input_shape[:-1], self.ff_dim))

    def _mlp(self, x):
        return self.ff_out(self.ff_in(self.norm2(x)))

    def call(self, x, training=None):
        attended = self.attention(self.norm1(x), training=training)
        x = x + self.residual_dropout(attended, training=training)
        return x + self.residual_dropout(self._mlp(x), training=training)

    def initial_cache(self, batch_size, max_length):
        """An empty key/value cache for :meth:`call_with_cache`."""
        return self.attention.initial_cache(batch_size, max_length)

    def call_with_cache(self, x, cache, index):
        """The block on ``x`` at positions ``index, ...`` with a key/value cache (inference).

        See :meth:`MultiHeadSelfAttention.call_with_cache`; returns ``(outputs, cache)``.
        """
        attended, cache = self.attention.call_with_cache(self.norm1(x), cache, index)
        x = x + attended
        return x + self._mlp(x), cache

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            embed_dim=self.embed_dim,
            num_heads=self.num_heads,
            ff_dim=self.ff_dim,
            dropout=self.dropout,
            causal=self.causal,
        )
        return config
