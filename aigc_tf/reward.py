"""Learning from a reward: fine-tune a character language model with REINFORCE and a KL penalty.

The objective is the one RLHF optimises, in miniature:

    max_theta  E_{x ~ pi_theta}[ r(x) ]  -  beta * KL(pi_theta || pi_ref)

:class:`RewardFineTuner` samples whole texts from the policy inside its ``train_step``, scores
them with any Python function of text (:class:`LipogramReward` here; a learnt reward model in
RLHF), estimates each text's KL to the frozen pre-trained model from the log-probabilities of
its own characters (:func:`sequence_kl`), and takes a REINFORCE step on the penalised reward
``r(x) - beta * KL(x)`` minus the batch mean as baseline (:func:`reinforce_loss`).
"""

import re

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf.callbacks import TimeBudget
from aigc_tf.models.char_lm import CharLanguageModel

_WORD = re.compile(r"[A-Za-z]+")


@keras.saving.register_keras_serializable(package="aigc_tf")
class LipogramReward:
    """Reward of a text: the share of its words that do not contain ``letter`` (any case).

    A *lipogram* is writing that avoids a letter. Words are runs of ASCII letters; a text with
    no word at all scores 0, so the reward cannot be won by writing nothing but punctuation.

    Args:
        letter: the letter to avoid (one ASCII letter).

    Example:
        >>> reward = LipogramReward("e")
        >>> [round(float(r), 3) for r in reward(["the cat sat", "A fox ran.", "...", "Eve"])]
        [0.667, 1.0, 0.0, 0.0]
    """

    def __init__(self, letter="e"):
        if not (isinstance(letter, str) and len(letter) == 1 and letter.isascii()
                and letter.isalpha()):
            raise ValueError(f"letter must be one ASCII letter, got {letter!r}")
        self.letter = letter.lower()

    def __call__(self, texts):
        """Score each text of the list ``texts``: a float32 array of shape ``(len(texts),)``."""
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings, got one str; wrap it in a list")
        return np.array([self._score(text) for text in texts], "float32")

    def _score(self, text):
        words = _WORD.findall(text)
        if not words:
            return 0.0
        return sum(self.letter not in word.lower() for word in words) / len(words)

    def get_config(self):
        return {"letter": self.letter}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def sequence_kl(log_probs, ref_log_probs):
    """Per-sequence KL estimate from the log-probabilities of the sampled tokens.

    For a text ``x`` sampled from the policy, ``log pi(x) - log pi_ref(x) = sum_t (log pi(x_t |
    x_<t) - log pi_ref(x_t | x_<t))`` is an unbiased estimate of ``KL(pi || pi_ref)`` over
    whole texts (its mean over samples); a single text's value may be negative.

    Args:
        log_probs: ``(batch, time)`` log-probabilities of the sampled tokens under the policy.
        ref_log_probs: the same tokens' log-probabilities under the reference model.

    Returns:
        A ``(batch,)`` tensor: the estimate for each sequence, in nats.

    Example:
        >>> policy = np.log([[0.5, 0.25], [0.5, 0.5]])
        >>> reference = np.log([[0.25, 0.25], [0.5, 1.0]])
        >>> [round(float(kl), 4) for kl in sequence_kl(policy, reference)]  # log 2, -log 2
        [0.6931, -0.6931]
    """
    log_probs = ops.convert_to_tensor(log_probs, "float32")
    ref_log_probs = ops.convert_to_tensor(ref_log_probs, "float32")
    if len(log_probs.shape) != 2 or tuple(log_probs.shape) != tuple(ref_log_probs.shape):
        raise ValueError(
            f"log_probs and ref_log_probs must both have shape (batch, time), got "
            f"{tuple(log_probs.shape)} and {tuple(ref_log_probs.shape)}")
    return ops.sum(log_probs - ref_log_probs, axis=1)


def reinforce_loss(sequence_log_probs, rewards, baseline=None):
    """REINFORCE surrogate loss with a baseline: ``-mean((r - b) * log pi(x))``.

    Its gradient is the policy-gradient estimate of ``-E[r]``; subtracting a baseline that
    does not depend on the sample leaves the gradient unbiased and lowers its variance. The
    rewards are constants (no gradient flows through them).

    Args:
        sequence_log_probs: ``(batch,)`` log-probability of each sampled sequence.
        rewards: ``(batch,)`` reward of each sequence.
        baseline: a number, or None for the batch mean of ``rewards``.

    Returns:
        A scalar tensor.

    Example:
        >>> float(reinforce_loss([-2.0, -4.0], [1.0, 0.0]))  # baseline 0.5
        -0.5
    """
    sequence_log_probs = ops.convert_to_tensor(sequence_log_probs, "float32")
    rewards = ops.stop_gradient(ops.convert_to_tensor(rewards, "float32"))
    if len(rewards.shape) != 1 or tuple(rewards.shape) != tuple(sequence_log_probs.shape):
        raise ValueError(
            f"sequence_log_probs and rewards must both have shape (batch,), got "
            f"{tuple(sequence_log_probs.shape)} and {tuple(rewards.shape)}")
    if baseline is None:
        baseline = ops.mean(rewards)
    return -ops.mean((rewards - baseline) * sequence_log_probs)


def frozen_copy(model):
    """A copy of a character language model with the same weights, not trainable.

    Example:
        >>> from aigc_tf.models.char_rnn import CharRNN
        >>> model = CharRNN("ab", units=4)
        >>> model.build()
        >>> copy = frozen_copy(model)
        >>> copy.trainable, all(np.array_equal(a, b) for a, b in
        ...                     zip(copy.get_weights(), model.get_weights()))
        (False, True)
    """
    copy = type(model).from_config(model.get_config())
    copy.build()
    copy.set_weights(model.get_weights())
    copy.trainable = False
    return copy


def _check_positive_int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


@keras.saving.register_keras_serializable(package="aigc_tf")
class RewardFineTuner(keras.Model):
    """Fine-tune a character language model to raise a reward, with a KL penalty (RLHF-style).

    Each ``train_step`` samples ``batch_size`` texts of ``sample_length`` characters from the
    policy (after ``<start>``, temperature 1, seeded by ``keras.random``), scores them with
    ``reward``, estimates each one's KL to the frozen reference (:func:`sequence_kl`) and
    minimises :func:`reinforce_loss` on the penalised reward ``r - kl_coef * KL`` with the batch
    mean as baseline, divided by the batch's standard deviation of penalised rewards (the step
    size does not depend on the reward's units) and by ``sample_length`` (per character). The
    data passed to ``fit`` are ignored: the policy makes its own. The logs report ``reward``
    (mean ``r``), ``kl`` (mean per-sequence KL estimate, nats) and ``loss``.

    Args:
        policy: the pre-trained :class:`aigc_tf.models.char_lm.CharLanguageModel` to
            fine-tune (changed in place). Models with a ``step`` method (``CharRNN``) sample in
            one cell step per character; others recompute the prefix at every character.
        reward: a callable mapping a list of texts to an array of rewards, e.g.
            :class:`LipogramReward` (serializable if it is a registered Keras object).
        kl_coef: ``beta``, the weight of the KL penalty (``>= 0``; 0 turns it off).
        sample_length: characters per sampled text.
        batch_size: texts sampled per step.
        reference: the frozen model the KL is measured to; default a frozen copy of
            ``policy`` as it is now (the pre-trained model).
        seed: seed of the sampling noise.
        **kwargs: passed to ``keras.Model``.

    Example:
        >>> from aigc_tf.models.char_rnn import CharRNN
        >>> keras.utils.set_random_seed(0)
        >>> policy = CharRNN("abe ", units=8)
        >>> tuner = RewardFineTuner(policy, LipogramReward("e"), kl_coef=0.1,
        ...                         sample_length=12, batch_size=4)
        >>> tuner.compile(optimizer=keras.optimizers.Adam(1e-2))
        >>> logs = tuner.fit(np.zeros(2), epochs=1, batch_size=1, verbose=0).history
        >>> sorted(logs), tuple(tuner.sample_texts(seed=1).shape)
        (['kl', 'loss', 'reward'], (4,))
    """

    def __init__(self, policy, reward, kl_coef=0.1, sample_length=64, batch_size=32,
                 reference=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(policy, CharLanguageModel):
            raise ValueError(f"policy must be a CharLanguageModel (CharRNN, MiniGPT), got "
                             f"{type(policy).__name__}")
        if not callable(reward):
            raise ValueError(f"reward must be callable on a list of texts, got {reward!r}")
        if isinstance(kl_coef, bool) or not isinstance(kl_coef, (int, float)) or not (
                0 <= kl_coef < float("inf")):
            raise ValueError(f"kl_coef must be a finite number >= 0, got {kl_coef!r}")
        _check_positive_int(sample_length, "sample_length")
        _check_positive_int(batch_size, "batch_size")
        context = getattr(policy, "context_length", None)
        if context is not None and sample_length > context:
            raise ValueError(f"sample_length {sample_length} exceeds the policy's "
                             f"context_length {context}")
        if not policy.built:
            policy.build()
        self.policy, self.reward = policy, reward
        self.reference = frozen_copy(policy) if reference is None else reference
        self.reference.trainable = False
        self.kl_coef, self.sample_length, self.batch_size = float(kl_coef), sample_length, \
            batch_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        never = np.isinf(policy.logit_offsets())  # unknown id, <start>, <end>
        self._offsets = np.where(never, -1e9, 0.0).astype("float32")
        self.reward_tracker = keras.metrics.Mean(name="reward")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.reward_tracker, self.kl_tracker, self.loss_tracker]

    def call(self, inputs, training=False):
        return self.policy(inputs, training=training)

    # ------------------------------------------------------------------ sampling

    def sample_ids(self):
        """Sample ``(batch_size, sample_length)`` character ids from the policy (no gradient)."""
        start = ops.full((self.batch_size,), self.policy.vocab.start_id, "int32")
        if hasattr(self.policy, "step"):  # a graph loop: compiles in seconds at any length
            def one_more(i, carry):
                token, states, ids = carry
                logits, states = self.policy.step(token, states)
                token = self._draw(logits)
                position = ops.one_hot(i, self.sample_length, dtype="int32")
                return token, states, ids + position[None, :] * token[:, None]

            ids = ops.zeros((self.batch_size, self.sample_length), "int32")
            carry = (start, self.policy.initial_states(self.batch_size), ids)
            _, _, ids = ops.fori_loop(0, self.sample_length, one_more, carry)
            return ops.stop_gradient(ids)
        ids = start[:, None]
        for _ in range(self.sample_length):
            token = self._draw(self.policy(ids, training=False)[:, -1])
            ids = ops.concatenate([ids, token[:, None]], axis=1)
        return ops.stop_gradient(ids[:, 1:])

    def _draw(self, logits):
        draws = keras.random.categorical(logits + self._offsets, 1, seed=self.seed_generator)
        return ops.cast(draws[:, 0], "int32")

    def sample_texts(self, seed=None):
        """Sample a batch of texts (a NumPy array of str); ``seed`` makes them reproducible."""
        if seed is not None:
            self.seed_generator.state.assign(
                ops.array([seed, 0], self.seed_generator.state.dtype))
        return self.decode(ops.convert_to_numpy(self.sample_ids()))

    def decode(self, ids):
        """Texts of a ``(batch, time)`` array of character ids (a NumPy array of str)."""
        return np.array([self.policy.vocab.decode(row) for row in np.asarray(ids)], dtype=object)

    def _rewards(self, ids):
        rewards = np.asarray(self.reward(list(self.decode(ids))), "float32")
        if rewards.shape != (len(ids),) or not np.all(np.isfinite(rewards)):
            raise ValueError(f"the reward must return {len(ids)} finite numbers, one per "
                             f"text; got shape {rewards.shape}")
        return rewards

    # ------------------------------------------------------------------ training

    def token_log_probs(self, model, ids):
        """Log-probability of each id of ``ids`` ``(batch, time)`` under ``model``, after
        ``<start>``: a ``(batch, time)`` tensor."""
        start = ops.full((ops.shape(ids)[0], 1), self.policy.vocab.start_id, "int32")
        inputs = ops.concatenate([start, ops.cast(ids[:, :-1], "int32")], axis=1)
        log_probs = ops.log_softmax(model(inputs, training=False) + self._offsets, axis=-1)
        picked = ops.take_along_axis(log_probs, ops.cast(ids, "int32")[..., None], axis=-1)
        return picked[..., 0]

    def train_step(self, data):
        ids = self.sample_ids()
        rewards = tf.numpy_function(self._rewards, [ids], tf.float32, stateful=False)
        rewards = ops.reshape(rewards, (self.batch_size,))
        ref_log_probs = ops.stop_gradient(self.token_log_probs(self.reference, ids))
        with tf.GradientTape() as tape:
            log_probs = self.token_log_probs(self.policy, ids)
            kl = sequence_kl(ops.stop_gradient(log_probs), ref_log_probs)
            penalised = rewards - self.kl_coef * kl
            # One scale for the batch (not per sample): the step size no longer depends on
            # the reward's units, and the direction is that of REINFORCE with a baseline.
            scale = ops.std(penalised) + 1e-6
            loss = reinforce_loss(ops.sum(log_probs, axis=1), penalised / scale)
            loss = loss / self.sample_length
        weights = self.policy.trainable_weights
        self.optimizer.apply(tape.gradient(loss, weights), weights)
        for tracker, value in ((self.reward_tracker, rewards), (self.kl_tracker, kl),
                               (self.loss_tracker, loss)):
            tracker.update_state(value)
        return {metric.name: metric.result() for metric in self.metrics}

    def fit_within_budget(self, seconds, eval_every=20, held_out_text=None):
        """Train on the clock; every ``eval_every`` steps log the means and held-out bits/char.

        Args:
            seconds: training budget in wall-clock seconds (evaluations included).
            eval_every: training steps between points on the curves.
            held_out_text: text scored with :func:`aigc_tf.metrics.text.bits_per_char` at
                each point (None: skip).

        Returns:
            A dict of lists, one entry per point: ``reward``, ``kl``, ``loss``,
            ``bits_per_char`` (if ``held_out_text``), ``steps`` and ``elapsed`` seconds.
        """
        from aigc_tf.metrics.text import bits_per_char  # the metrics import the models

        _check_positive_int(eval_every, "eval_every")
        curves = {"bits_per_char": []} if held_out_text is not None else {}

        def score_held_out(epoch, logs):
            curves["bits_per_char"].append(bits_per_char(self.policy, held_out_text,
                                                         batch_size=32)["bits_per_char"])

        callbacks = [TimeBudget(seconds, final_lr_fraction=1.0)]
        if held_out_text is not None:
            callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=score_held_out))
        steps = tf.data.Dataset.from_tensors(0.0).repeat()
        history = self.fit(steps, epochs=10_000_000, steps_per_epoch=eval_every,
                           callbacks=callbacks, shuffle=False, verbose=0)
        curves.update({name: history.history[name] for name in ("reward", "kl", "loss")})
        return {**curves, "steps": callbacks[0].epoch_steps,
                "elapsed": callbacks[0].epoch_seconds}

    def get_config(self):
        return {**super().get_config(),
                "policy": keras.saving.serialize_keras_object(self.policy),
                "reference": keras.saving.serialize_keras_object(self.reference),
                "reward": keras.saving.serialize_keras_object(self.reward),
                "kl_coef": self.kl_coef, "sample_length": self.sample_length,
                "batch_size": self.batch_size, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("policy", "reference", "reward"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)
