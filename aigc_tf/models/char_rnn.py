"""Character-level recurrent language model (char-RNN) with fast, compiled generation.

Training reads whole windows (``(batch, seq_len)`` ids -> ``(batch, seq_len, vocab)``
logits) through Keras's ``SimpleRNN``/``LSTM``/``GRU`` layers. Generation instead carries the
recurrent state from one character to the next through the layers' cells in a single
compiled (XLA) step function, so each new character costs one small compiled call -- not a
``model.predict`` that re-reads the whole text.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf.models.char_lm import CharLanguageModel
from aigc_tf.sampling import sample_logits

RNN_LAYERS = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@keras.saving.register_keras_serializable(package="aigc_tf")
class CharRNN(CharLanguageModel):
    """Embedding -> stacked ``SimpleRNN``/``LSTM``/``GRU`` (+ dropout) -> logits per character.

    Train it like any Keras classifier on windows from
    :func:`aigc_tf.text.make_char_dataset` (built with ``start_id=vocab.start_id``): the
    default loss is sparse cross-entropy on the logits, in nats per character. Gradient
    clipping is an optimizer option, e.g. ``keras.optimizers.Adam(3e-3, clipnorm=1.0)``.

    Args:
        vocab: a :class:`aigc_tf.text.CharVocab` (or its ``get_config()`` dict); it is saved
            with the model so a loaded ``.keras`` file can :meth:`generate` text.
        cell: ``"rnn"`` (``SimpleRNN``), ``"lstm"`` or ``"gru"``.
        units: state size of each recurrent layer.
        num_layers: number of stacked recurrent layers.
        embedding_dim: size of the character embedding.
        dropout: dropout rate after each recurrent layer (training only).
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).

    Example:
        A small GRU learns a short text by heart:

        >>> from aigc_tf.text import CharVocab, make_char_dataset
        >>> keras.utils.set_random_seed(0)
        >>> text = "hello world! " * 40
        >>> vocab = CharVocab(text)
        >>> model = CharRNN(vocab, cell="gru", units=32)
        >>> tuple(model(vocab.encode("hello")[None]).shape)  # (batch, time, vocab.size) logits
        (1, 5, 12)
        >>> train, _ = make_char_dataset(vocab.encode(text), seq_len=12, batch_size=8,
        ...                              start_id=vocab.start_id, stride=1)
        >>> model.compile(optimizer=keras.optimizers.Adam(2e-2))
        >>> history = model.fit(train, epochs=1, verbose=0)
        >>> model.generate("hel", length=20, greedy=True)
        'hello world! hello worl'
        >>> [(char, round(p, 1)) for char, p in model.next_char_probabilities("hello w", k=1)]
        [('o', 1.0)]
    """

    def __init__(
        self,
        vocab,
        cell="gru",
        units=256,
        num_layers=1,
        embedding_dim=64,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(vocab, **kwargs)
        if cell not in RNN_LAYERS:
            raise ValueError(f"unknown cell {cell!r}; expected one of {list(RNN_LAYERS)}")
        for name, value in (("units", units), ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.cell_type = cell
        self.units = units
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.embedding = keras.layers.Embedding(self.vocab.size, embedding_dim, name="embedding")
        self.rnn_layers = [
            RNN_LAYERS[cell](units, return_sequences=True, name=f"{cell}_{i}")
            for i in range(num_layers)
        ]
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(self.vocab.size, name="logits")

    def build(self, input_shape=(None, None)):
        # step() (so generate() on a fresh model) builds the embedding, the cells and the
        # head on their own; building them a second time would fail.
        if not self.embedding.built:
            self.embedding.build(input_shape)
        shape = (None, None, self.embedding_dim)
        for layer in self.rnn_layers:
            layer.build(shape)  # builds its cell unless step() already has
            shape = (None, None, self.units)
        if not self.head.built:
            self.head.build(shape)
        self.built = True

    def call(self, inputs, training=False):
        x = self.embedding(inputs)
        for layer in self.rnn_layers:
            x = self.dropout_layer(layer(x, training=training), training=training)
        return self.head(x)

    # --------------------------------------------------------------- generation

    @property
    def states_per_layer(self):
        """How many state tensors each recurrent layer carries (2 for LSTM: h and c)."""
        return 2 if self.cell_type == "lstm" else 1

    def initial_states(self, batch_size=1):
        """Zero recurrent states: a flat list, ``states_per_layer`` tensors per layer."""
        count = self.num_layers * self.states_per_layer
        return [ops.zeros((batch_size, self.units)) for _ in range(count)]

    def step(self, token_ids, states):
        """Advance one character: ids ``(batch,)`` and states -> logits ``(batch, vocab)``, states.

        Uses the recurrent layers' cells directly (no sequence loop), eval mode.

        Example:
            >>> from aigc_tf.text import CharVocab
            >>> vocab = CharVocab("ab")
            >>> model = CharRNN(vocab, cell="lstm", units=8)
            >>> logits, states = model.step(ops.array([vocab.start_id]), model.initial_states())
            >>> tuple(logits.shape), [tuple(s.shape) for s in states]  # LSTM: h and c
            ((1, 5), [(1, 8), (1, 8)])

            Stepping through ``"abba"`` gives the logits of reading it in one call:

            >>> ids, states = vocab.encode("abba"), model.initial_states()
            >>> for i in ids:
            ...     logits, states = model.step(ops.array([i]), states)
            >>> bool(np.allclose(logits[0], model(ids[None])[0, -1], atol=1e-5))
            True
        """
        x = self.embedding(token_ids)
        new_states, per = [], self.states_per_layer
        for i, layer in enumerate(self.rnn_layers):
            cell_states = list(states[i * per : (i + 1) * per])
            x, cell_states = layer.cell(x, cell_states, training=False)
            new_states.extend(cell_states)
        return self.head(x), new_states

    def _compiled_step(self, top_k, greedy, stop_at_end):
        """One XLA-compiled ``(ids, states, temperature) -> (next ids, states)`` per setting."""
        key = (top_k, greedy, stop_at_end)
        if key not in self._step_functions:
            offsets = self.logit_offsets(stop_at_end)

            @tf.function(jit_compile=True)
            def sample_step(token_ids, states, temperature):
                logits, states = self.step(token_ids, states)
                next_ids = sample_logits(logits + offsets, temperature, top_k,
                                         seed_generator=self.sampling_seed, greedy=greedy)
                return next_ids, states

            self._step_functions[key] = sample_step
        return self._step_functions[key]

    def _sample_ids(self, ids, length, temperature, settings):
        """Carry the recurrent state through the prompt, then sample one id per step."""
        sample_step = self._compiled_step(**settings)
        states = self.initial_states()
        for token in ids[:-1]:  # read the prompt; the samples drawn here are discarded
            _, states = sample_step(tf.constant([token], "int32"), states, temperature)
        token, generated = tf.constant([ids[-1]], "int32"), []
        for _ in range(length):
            token, states = sample_step(token, states, temperature)
            generated.append(token)
        return generated

    def next_char_probabilities(self, prompt, k=5):
        """The ``k`` most likely next characters after ``prompt`` with their probabilities.

        Args:
            prompt: text read after ``<start>`` (may be empty).
            k: how many characters to list.

        Returns:
            A list of ``(character, probability)`` pairs, most likely first.

        Example:
            Only characters get probability (never ``<start>``, ``<end>`` or the unknown id),
            even from an untrained model:

            >>> from aigc_tf.text import CharVocab
            >>> model = CharRNN(CharVocab("ab"), units=8)
            >>> probs = model.next_char_probabilities("ab", k=2)
            >>> sorted(char for char, _ in probs), round(sum(p for _, p in probs), 3)
            (['a', 'b'], 1.0)
        """
        ids = np.array([[self.vocab.start_id, *self.vocab.encode(prompt).tolist()]], "int32")
        logits = self(ids, training=False)[0, -1] + self.logit_offsets()
        probs = ops.convert_to_numpy(ops.softmax(logits))
        top = np.argsort(-probs)[:k]
        return [(self.vocab.decode([i]) or self.vocab.special_tokens[i], float(probs[i]))
                for i in top]

    def get_config(self):
        config = super().get_config()
        config.update(
            cell=self.cell_type,
            units=self.units,
            num_layers=self.num_layers,
            embedding_dim=self.embedding_dim,
            dropout=self.dropout,
        )
        return config
