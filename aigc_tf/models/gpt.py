"""A mini-GPT: a decoder-only Transformer language model over characters.

Token + position embeddings, a stack of pre-norm causal :class:`aigc_tf.layers.TransformerBlock`
layers, a final LayerNorm and a linear head give logits for the next character at every
position. Training is ordinary next-token cross-entropy (in nats per character), exactly as
for :class:`aigc_tf.models.char_rnn.CharRNN`, and ``generate`` is the same method
(:meth:`aigc_tf.models.char_lm.CharLanguageModel.generate`).

Generation keeps a key/value cache: each new character computes its own query, key and value
only and attends to the cached keys and values of the characters before it, instead of running
the whole window again, and one XLA-compiled call (a loop) samples characters until the
window is full. Then the window keeps ``<start>`` and the most recent half of the text (a
"context shift") and the cache is rebuilt from it in one pass -- once every
``context_length // 2`` characters, not at every step. With ``use_kv_cache = False`` every
character costs one compiled call that recomputes the whole window (with the same shift): the
reference the cache is tested against; both give the same text for the same seed.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf.layers import TokenAndPositionEmbedding, TransformerBlock
from aigc_tf.models.char_lm import CharLanguageModel
from aigc_tf.sampling import sample_logits


@keras.saving.register_keras_serializable(package="aigc_tf")
class MiniGPT(CharLanguageModel):
    """Decoder-only Transformer over characters with compiled sampling.

    Train it on windows from :func:`aigc_tf.text.make_char_dataset` built with
    ``seq_len=context_length`` and ``start_id=vocab.start_id``; the default loss is sparse
    cross-entropy on the logits.

    Args:
        vocab: a :class:`aigc_tf.text.CharVocab` (or its ``get_config()`` dict); it is saved
            with the model so a loaded ``.keras`` file can :meth:`generate` text.
        context_length: the longest window the model reads (its position embeddings).
        embed_dim: model width ``d_model``.
        num_heads: attention heads per block (``embed_dim`` must be divisible by it).
        num_layers: number of Transformer blocks.
        ff_dim: hidden width of each block's MLP (default ``4 * embed_dim``).
        dropout: dropout rate in the blocks (training only).
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).

    Example:
        Next-character logits at every position; position ``t`` only sees characters up to
        ``t`` (the causal mask), so two texts that start alike get the same first logits:

        >>> from aigc_tf.text import CharVocab
        >>> vocab = CharVocab("hello world!")
        >>> model = MiniGPT(vocab, context_length=16, embed_dim=32, num_heads=2, num_layers=1)
        >>> hello, held = model(vocab.encode("hello")[None]), model(vocab.encode("held!")[None])
        >>> tuple(hello.shape)  # (batch, time, vocab.size)
        (1, 5, 12)
        >>> bool(np.allclose(hello[0, :3], held[0, :3])), bool(np.allclose(hello, held))
        (True, False)

        Training and generation work as for :class:`aigc_tf.models.char_rnn.CharRNN`. A
        prompt longer than the window is cropped to its last characters (the returned text
        still begins with the whole prompt), and the cache gives the text of full
        recomputation:

        >>> text = model.generate("hello world!", length=20, seed=0)
        >>> text[:12], len(text)
        ('hello world!', 32)
        >>> model.use_kv_cache = False  # recompute the whole window at every step
        >>> model.generate("hello world!", length=20, seed=0) == text
        True
    """

    #: Generate with a key/value cache (False: recompute the whole window at every step).
    use_kv_cache = True

    def __init__(
        self,
        vocab,
        context_length=128,
        embed_dim=128,
        num_heads=4,
        num_layers=2,
        ff_dim=None,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(vocab, **kwargs)
        if not isinstance(context_length, int) or context_length < 2:
            raise ValueError(f"context_length must be an integer >= 2, got {context_length!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        self.context_length = context_length
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.num_layers = num_layers
        self.ff_dim = ff_dim or 4 * embed_dim
        self.dropout = dropout
        self.embedding = TokenAndPositionEmbedding(
            self.vocab.size, context_length, embed_dim, name="embedding"
        )
        self.blocks = [
            TransformerBlock(embed_dim, num_heads, self.ff_dim, dropout=dropout, name=f"block_{i}")
            for i in range(num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.head = keras.layers.Dense(self.vocab.size, name="logits")

    def build(self, input_shape=(None, None)):
        self.embedding.build(input_shape)
        shape = (*input_shape, self.embed_dim)
        for block in self.blocks:
            block.build(shape)
        self.final_norm.build(shape)
        self.head.build(shape)
        self.built = True

    def call(self, inputs, training=False):
        x = self.embedding(inputs)
        for block in self.blocks:
            x = block(x, training=training)
        return self.head(self.final_norm(x))

    # --------------------------------------------------------------- generation

    @property
    def _kept_after_shift(self):
        """Characters the window keeps after ``<start>`` when it is full and grows."""
        return self.context_length // 2

    def _shift(self, window, next_id):
        """The window ``<start>, (last kept - 1 characters), next_id``, zero-padded."""
        kept = self._kept_after_shift
        padding = ops.zeros((ops.shape(window)[0], self.context_length - kept - 1), window.dtype)
        return ops.concatenate([window[:, :1], window[:, self.context_length - kept + 1:],
                                next_id[:, None], padding], axis=1)

    def _advance(self, window, length, next_id):
        """Write ``next_id`` after the ``length`` ids in ``window``, shifting it when full."""
        positions = ops.arange(self.context_length)[None]
        appended = ops.where(positions == length, next_id[:, None], window)
        is_full = length >= self.context_length
        return (ops.where(is_full, self._shift(window, next_id), appended),
                ops.where(is_full, self._kept_after_shift + 1, length + 1))

    def _forward_with_cache(self, ids, caches, index):
        """Logits for ``ids`` at positions ``index, ...``, reading and updating the caches."""
        x = self.embedding(ids, start_position=index)
        updated = []
        for block, cache in zip(self.blocks, caches, strict=True):
            x, cache = block.call_with_cache(x, cache, index)
            updated.append(cache)
        return self.head(self.final_norm(x)), updated

    def _compiled_steps(self, top_k, greedy, stop_at_end):
        """XLA-compiled ``(recompute, segment)`` functions for one sampling setting."""
        key = (top_k, greedy, stop_at_end)
        if key in self._step_functions:
            return self._step_functions[key]
        offsets = self.logit_offsets(stop_at_end)

        def pick(logits, temperature):
            return sample_logits(logits + offsets, temperature, top_k,
                                 seed_generator=self.sampling_seed, greedy=greedy)

        @tf.function(jit_compile=True)
        def recompute(window, filled, temperature):
            """Run the whole window, sample the next id, append it (shifting when full)."""
            logits = self(window, training=False)
            next_id = pick(ops.take(logits, filled - 1, axis=1), temperature)
            window, filled = self._advance(window, filled, next_id)
            return next_id, window, filled

        @tf.function(jit_compile=True)
        def segment(window, filled, temperature, count):
            """Sample ``count`` ids after the ``filled`` ids of ``window``, with a cache.

            One pass over the window fills the cache and gives the first id; each next id
            costs one cached step that appends the previous id at the next position.
            """
            caches = [block.initial_cache(1, self.context_length) for block in self.blocks]
            logits, caches = self._forward_with_cache(window, caches, 0)
            first = pick(ops.take(logits, filled - 1, axis=1), temperature)
            sampled = ops.slice_update(ops.zeros((self.context_length,), "int32"), (0,), first)

            def one_more(i, token, window, caches, sampled):
                position = filled + i - 1
                window = ops.slice_update(window, (0, position), token[:, None])
                logits, caches = self._forward_with_cache(token[:, None], caches, position)
                token = pick(logits[:, 0], temperature)
                return i + 1, token, window, caches, ops.slice_update(sampled, (i,), token)

            _, _, window, _, sampled = tf.while_loop(
                lambda i, *_: i < count, one_more, (1, first, window, caches, sampled))
            return sampled, window

        self._step_functions[key] = recompute, segment
        return self._step_functions[key]

    def _initial_window(self, ids):
        if len(ids) > self.context_length:  # keep <start> and the most recent characters
            ids = [ids[0], *ids[len(ids) - self.context_length + 1 :]]
        window = np.zeros((1, self.context_length), "int32")
        window[0, : len(ids)] = ids
        return tf.constant(window), len(ids)

    def _sample_ids(self, ids, length, temperature, settings):
        if not self.built:  # the cached path calls the blocks' layers directly
            self.build()
        recompute, segment = self._compiled_steps(**settings)
        window, filled = self._initial_window(ids)
        generated = []
        if not self.use_kv_cache:
            filled = tf.constant(filled, "int32")
            for _ in range(length):
                next_id, window, filled = recompute(window, filled, temperature)
                generated.append(next_id)
            return generated
        count = 0
        while True:
            # Fill the window, plus one id that no longer fits (or stop at length).
            steps = min(self.context_length - filled + 1, length - count)
            sampled, window = segment(window, tf.constant(filled, "int32"), temperature,
                                      tf.constant(steps, "int32"))
            generated.append(sampled[:steps])
            count += steps
            if count == length:
                return generated
            # Context shift: the window keeps <start>, the recent text and that last id.
            window = self._shift(window, sampled[steps - 1 : steps])
            filled = self._kept_after_shift + 1

    def get_config(self):
        config = super().get_config()
        config.update(
            context_length=self.context_length,
            embed_dim=self.embed_dim,
            num_heads=self.num_heads,
            num_layers=self.num_layers,
            ff_dim=self.ff_dim,
            dropout=self.dropout,
        )
        return config
