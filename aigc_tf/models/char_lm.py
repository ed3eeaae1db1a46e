"""What every character language model of the course shares: the vocabulary it carries, the
default loss, and :meth:`CharLanguageModel.generate` -- its argument checks, seeding, which ids
may be sampled and where the text stops.

:class:`aigc_tf.models.char_rnn.CharRNN` and :class:`aigc_tf.models.gpt.MiniGPT` subclass
:class:`CharLanguageModel` and only differ in ``_sample_ids``: how compiled steps advance the
text.
"""

import keras
import numpy as np
from keras import ops

from aigc_tf.callbacks import TimeBudget
from aigc_tf.sampling import check_sampling_args
from aigc_tf.text import CharVocab


def as_vocab(vocab):
    """Accept a :class:`CharVocab`, its ``get_config()`` dict, or the characters themselves."""
    if isinstance(vocab, CharVocab):
        return vocab
    if isinstance(vocab, dict):
        return CharVocab.from_config(vocab)
    if isinstance(vocab, (str, list, tuple)):
        return CharVocab(vocab)
    raise ValueError(
        f"vocab must be a CharVocab, its get_config() dict or a list of characters, "
        f"got {type(vocab).__name__}"
    )


class CharLanguageModel(keras.Model):
    """Base class: a ``keras.Model`` mapping ids ``(batch, time)`` to next-character logits.

    Args:
        vocab: a :class:`aigc_tf.text.CharVocab` (or its ``get_config()`` dict); it is saved
            with the model so a loaded ``.keras`` file can generate text.
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).

    Example:
        >>> class Constant(CharLanguageModel):
        ...     def call(self, ids):
        ...         return ops.zeros((*ops.shape(ids), self.vocab.size))
        >>> Constant(CharVocab("ab")).vocab.size
        5
    """

    def __init__(self, vocab, **kwargs):
        super().__init__(**kwargs)
        self.vocab = as_vocab(vocab)
        self.sampling_seed = keras.random.SeedGenerator(0)
        self._step_functions = {}

    def compile(self, optimizer="adam", loss=None, **kwargs):
        """Keras ``compile`` with sparse cross-entropy on logits as the default loss."""
        if loss is None:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def compile_from_config(self, config):
        # Keras skips compile() on load when it is overridden; ours only adds a default.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit_within_budget(self, train, validation, seconds, eval_every=200,
                          final_lr_fraction=0.05, warmup_fraction=0.0):
        """Train on the clock: ``seconds`` of wall-clock time, validating every ``eval_every``.

        Runs ``fit`` with a :class:`aigc_tf.callbacks.TimeBudget` (learning-rate warm-up, then
        linear decay to ``final_lr_fraction`` of the compiled learning rate).

        Args:
            train: an endless dataset of ``(ids, next_ids)`` windows (``repeat=True``).
            validation: a finite validation dataset.
            seconds: the training budget, validation included.
            eval_every: training steps between validation passes (points on the curves).
            final_lr_fraction: learning-rate multiplier at the end of the budget.
            warmup_fraction: share of the budget spent warming the learning rate up.

        Returns:
            A dict with the per-evaluation ``loss`` and ``val_loss`` lists (nats/char), the
            ``elapsed`` seconds and ``eval_steps`` (training steps so far) at each evaluation,
            the total ``steps`` run and the ``seconds`` taken.

        Example:
            A bigram model (next-character logits from the current character alone), trained
            for one second:

            >>> from aigc_tf.text import make_char_dataset
            >>> class Bigram(CharLanguageModel):
            ...     def __init__(self, vocab):
            ...         super().__init__(vocab)
            ...         self.table = keras.layers.Embedding(self.vocab.size, self.vocab.size)
            ...     def call(self, ids):
            ...         return self.table(ids)
            >>> text = "to be or not to be " * 50
            >>> model = Bigram(CharVocab(text))
            >>> train, val = make_char_dataset(model.vocab.encode(text), seq_len=16,
            ...                                batch_size=8, repeat=True)
            >>> model.compile(optimizer=keras.optimizers.Adam(1e-1, clipnorm=1.0))
            >>> run = model.fit_within_budget(train, val, seconds=1, eval_every=10)
            >>> sorted(run)
            ['elapsed', 'eval_steps', 'loss', 'seconds', 'steps', 'val_loss']
            >>> run["seconds"] >= 1, run["steps"] == run["eval_steps"][-1]
            (True, True)
            >>> import math
            >>> run["val_loss"][-1] < math.log(model.vocab.size)  # nats/char: beats uniform
            True
        """
        budget = TimeBudget(seconds, final_lr_fraction, warmup_fraction)
        history = self.fit(train, validation_data=validation, epochs=10_000_000,
                           steps_per_epoch=eval_every, callbacks=[budget], shuffle=False,
                           verbose=0)
        return {"loss": history.history["loss"], "val_loss": history.history["val_loss"],
                "elapsed": budget.epoch_seconds, "eval_steps": budget.epoch_steps,
                "steps": budget.steps, "seconds": budget.epoch_seconds[-1]}

    # --------------------------------------------------------------- generation

    def logit_offsets(self, stop_at_end=False):
        """Offsets added to the logits before sampling: ``-inf`` at ids never generated.

        The unknown id and ``<start>`` are never sampled, nor ``<end>`` unless
        ``stop_at_end``.
        """
        never = [self.vocab.unknown_id, self.vocab.start_id]
        if not stop_at_end:
            never.append(self.vocab.end_id)
        offsets = np.zeros(self.vocab.size, "float32")
        offsets[never] = -np.inf
        return offsets

    def generate(self, prompt, length, temperature=1.0, top_k=None, seed=None, greedy=False,
                 stop_at_end=False):
        """Continue ``prompt`` by ``length`` sampled characters.

        The prompt is read after ``<start>`` (as training windows built with
        ``start_id=vocab.start_id`` begin), so an empty prompt starts from ``<start>`` alone.
        Characters outside the vocabulary raise ``ValueError``. Only characters are sampled
        (never the unknown id or ``<start>``); ``<end>`` too, unless ``stop_at_end``.

        Args:
            prompt: text to continue (may be empty).
            length: number of characters to generate (>= 0).
            temperature: sampling temperature, > 0 (see :mod:`aigc_tf.sampling`).
            top_k: sample among the ``k`` most likely characters only (None: all).
            seed: integer seed for reproducible text; None draws one from NumPy's global
                generator (itself seeded by :func:`aigc_tf.config.set_seed`).
            greedy: always take the most likely character (ignores temperature).
            stop_at_end: let the model sample ``<end>`` and stop there (for corpora of
                separate texts that end with ``<end>``), so the text may be shorter.

        Returns:
            ``prompt`` followed by the generated characters.

        Example:
            An untrained char-RNN writes random characters, but only characters it knows:

            >>> from aigc_tf.models.char_rnn import CharRNN
            >>> model = CharRNN(CharVocab("abc"), units=8)
            >>> text = model.generate("ab", length=10, temperature=0.8, top_k=2, seed=0)
            >>> text[:2], len(text), set(text) <= {"a", "b", "c"}
            ('ab', 12, True)
            >>> text == model.generate("ab", length=10, temperature=0.8, top_k=2, seed=0)
            True

            A model that always wants to end stops at once when allowed to:

            >>> model.build()
            >>> _ = model.head.bias.assign(100 * np.eye(model.vocab.size)[model.vocab.end_id])
            >>> model.generate("ab", length=10, seed=0, stop_at_end=True)
            'ab'
        """
        check_sampling_args(temperature, top_k)
        if not isinstance(prompt, str):
            raise ValueError(f"prompt must be a str, got {type(prompt).__name__}")
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise ValueError(f"length must be a non-negative integer, got {length!r}")
        ids = [self.vocab.start_id, *self.vocab.encode(prompt).tolist()]
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        self.sampling_seed.state.assign(ops.array([seed, 0], self.sampling_seed.state.dtype))
        if length == 0:
            return prompt
        settings = {"top_k": top_k, "greedy": greedy, "stop_at_end": stop_at_end}
        generated = self._sample_ids(ids, length, ops.convert_to_tensor(temperature, "float32"),
                                     settings)
        return prompt + self._decode_until_end(generated)

    def _sample_ids(self, ids, length, temperature, settings):
        """Sample ``length`` ids after the prompt ``ids``: a list of ``(1,)`` id tensors.

        ``settings`` holds ``top_k``, ``greedy`` and ``stop_at_end`` (Python values: they
        select a compiled step); subclasses sample with ``self.sampling_seed`` and add
        :meth:`logit_offsets` to the logits.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement _sample_ids")

    def _decode_until_end(self, generated):
        """Decode the sampled id tensors, stopping at the first ``<end>``."""
        ids = np.concatenate([ops.convert_to_numpy(t) for t in generated])
        ends = np.flatnonzero(ids == self.vocab.end_id)
        return self.vocab.decode(ids[: ends[0]] if ends.size else ids)

    def get_config(self):
        config = super().get_config()
        config["vocab"] = self.vocab.get_config()
        return config
