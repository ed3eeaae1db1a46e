"""A mini-GPT: a decoder-only Transformer language model over characters.

Token + position embeddings, a stack of pre-norm causal :class:`aigc_tf.layers.TransformerBlock`
layers, a final LayerNorm and a linear head give logits for the next character at every
position. Training is ordinary next-token cross-entropy (in nats per character), exactly as
for :class:`aigc_tf.models.char_rnn.CharRNN`, and :meth:`MiniGPT.generate` has the same
interface. Generation runs one XLA-compiled step per character on a fixed-size context window
(no ``model.predict`` per character); when the text outgrows the window the oldest characters
are cropped.
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

        Training and generation work as for :class:`aigc_tf.models.char_rnn.CharRNN`.
    """

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
        # Generation may not produce ids that never appear as training targets.
        self._never_sampled = self._never_sample(self.vocab.unknown_id, self.vocab.start_id)

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

    def _advance(self, window, length, next_id):
        """Write ``next_id`` after the ``length`` ids in ``window``, cropping when full.

        The window always starts with ``<start>`` (training windows do too); when it is full
        the oldest character after it is dropped.
        """
        positions = ops.arange(self.context_length)[None]
        appended = ops.where(positions == length, next_id[:, None], window)
        cropped = ops.concatenate([window[:, :1], window[:, 2:], next_id[:, None]], axis=1)
        is_full = length >= self.context_length
        return ops.where(is_full, cropped, appended), ops.minimum(length + 1, self.context_length)

    def _compiled_step(self, top_k, greedy):
        """One XLA-compiled ``(window, length, temperature) -> (id, window, length)``."""
        key = (top_k, greedy)
        if key not in self._step_functions:

            @tf.function(jit_compile=True)
            def sample_step(window, length, temperature):
                logits = self(window, training=False)
                last = ops.take(logits, length - 1, axis=1) + self._never_sampled
                next_id = sample_logits(
                    last, temperature, top_k, seed_generator=self.sampling_seed, greedy=greedy
                )
                window, length = self._advance(window, length, next_id)
                return next_id, window, length

            self._step_functions[key] = sample_step
        return self._step_functions[key]

    def _initial_window(self, ids):
        if len(ids) > self.context_length:  # keep <start> and the most recent characters
            ids = [ids[0], *ids[len(ids) - self.context_length + 1 :]]
        window = np.zeros((1, self.context_length), "int32")
        window[0, : len(ids)] = ids
        return tf.constant(window), tf.constant(len(ids), "int32")

    def generate(self, prompt, length, temperature=1.0, top_k=None, seed=None, greedy=False):
        """Continue ``prompt`` by ``length`` sampled characters.

        The prompt is read after ``<start>``, so an empty prompt starts from ``<start>``
        alone; a prompt longer than the context window is cropped to its last characters
        (the returned text still begins with the whole prompt). Characters outside the
        vocabulary raise ``ValueError``. The unknown id and ``<start>`` are never sampled;
        sampling ``<end>`` stops the text early.

        Args:
            prompt: text to continue (may be empty).
            length: number of characters to generate (>= 0).
            temperature: sampling temperature, > 0 (see :mod:`aigc_tf.sampling`).
            top_k: sample among the ``k`` most likely characters only (None: all).
            seed: integer seed for reproducible text; None draws one from NumPy's global
                generator (itself seeded by :func:`aigc_tf.config.set_seed`).
            greedy: always take the most likely character (ignores temperature).

        Returns:
            ``prompt`` followed by the generated characters.

        Example:
            An untrained model with a 4-character window: the prompt is longer, so only its
            end is read, yet the text returned begins with the whole prompt:

            >>> from aigc_tf.text import CharVocab
            >>> model = MiniGPT(CharVocab("ab"), context_length=4, embed_dim=8, num_heads=1,
            ...                 num_layers=1)
            >>> text = model.generate("ababab", length=6, seed=0)
            >>> text[:6], len(text) <= 12, set(text) <= {"a", "b"}  # <end> may stop it early
            ('ababab', True, True)
            >>> text == model.generate("ababab", length=6, seed=0)  # same seed, same text
            True
        """
        ids = self._start_generation(prompt, length, temperature, top_k, seed)
        sample_step = self._compiled_step(top_k, greedy)
        temperature = tf.constant(temperature, "float32")
        window, filled = self._initial_window(ids)
        generated = []
        for _ in range(length):
            next_id, window, filled = sample_step(window, filled, temperature)
            generated.append(next_id)
        return self._finish_generation(prompt, generated)

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
