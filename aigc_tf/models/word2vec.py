"""Skip-gram word embeddings trained with negative sampling (word2vec).

Each word gets two vectors: ``v_w`` when it is the centre word and ``u_c`` when it is a
context word. For a centre word ``w`` seen with context word ``c`` (within ``window``
positions) and ``K`` "negative" words ``n_1..n_K`` drawn from the unigram distribution raised
to the power 3/4, the loss is

``-log sigmoid(u_c . v_w) - sum_k log sigmoid(-u_{n_k} . v_w)``

so words that appear in similar contexts end up with similar ``v`` vectors. Similarity is
the cosine ``a.b / (|a| |b|)``.
"""

import re
from collections import Counter

import keras
import numpy as np
from keras import ops

WORD_PATTERN = re.compile(r"[a-z]+(?:'[a-z]+)?")
#: Negative words are drawn with probability proportional to count ** NEGATIVE_POWER.
NEGATIVE_POWER = 0.75


def tokenize_words(text):
    """Lower-case ``text`` and split it into words (letters, with inner apostrophes).

    Args:
        text: a string.

    Example:
        >>> tokenize_words("Thou art; I'll go.")
        ['thou', 'art', "i'll", 'go']
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    return WORD_PATTERN.findall(text.lower())


def build_word_vocab(words, min_count=5, max_size=None):
    """Vocabulary of the words seen at least ``min_count`` times, most frequent first.

    Args:
        words: list of word strings (e.g. from :func:`tokenize_words`).
        min_count: drop rarer words (their vectors would be noise).
        max_size: keep at most this many words.

    Returns:
        ``(vocabulary, counts)``: a list of words and a NumPy int64 array of their counts.

    Example:
        >>> build_word_vocab(["a", "b", "a"], min_count=1)
        (['a', 'b'], array([2, 1]))
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    frequent = [(w, n) for w, n in Counter(words).most_common(max_size) if n >= min_count]
    if len(frequent) < 2:
        raise ValueError(
            f"need at least 2 words seen >= {min_count} times, found {len(frequent)}; "
            "use a longer text or a smaller min_count"
        )
    vocabulary, counts = zip(*frequent, strict=True)
    return list(vocabulary), np.array(counts, dtype="int64")


def skipgram_pairs(token_ids, window=2, counts=None, subsample=1e-3, seed=0):
    """All (centre, context) id pairs within ``window`` positions of each other.

    Ids below 0 (out-of-vocabulary words) are dropped first. With ``counts`` given, each
    occurrence of word ``w`` (frequency ``f_w``) is kept with probability
    ``min(1, sqrt(t / f_w) + t / f_w)`` (``t = subsample``), so "the" and "and" stop
    dominating the pairs.

    Args:
        token_ids: 1-D integer array of word ids.
        window: maximum distance between centre and context word.
        counts: optional word counts for frequent-word subsampling.
        subsample: threshold ``t`` of the subsampling.
        seed: seed of the subsampling.

    Returns:
        ``(centres, contexts)``: two int32 arrays of the same length.

    Example:
        >>> skipgram_pairs(np.array([0, 1, 2]), window=1)
        (array([1, 2, 0, 1], dtype=int32), array([0, 1, 1, 2], dtype=int32))
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    ids = np.asarray(token_ids, dtype="int64")
    ids = ids[ids >= 0]
    if counts is not None:
        freq = np.asarray(counts, dtype="float64") / np.sum(counts)
        keep = np.minimum(1.0, np.sqrt(subsample / freq) + subsample / freq)
        ids = ids[np.random.default_rng(seed).random(len(ids)) < keep[ids]]
    centres, contexts = [], []
    for offset in range(1, window + 1):
        centres += [ids[offset:], ids[:-offset]]
        contexts += [ids[:-offset], ids[offset:]]
    centres, contexts = np.concatenate(centres), np.concatenate(contexts)
    if len(centres) == 0:
        raise ValueError("no (centre, context) pairs: the text has fewer than 2 known words")
    return centres.astype("int32"), contexts.astype("int32")


@keras.saving.register_keras_serializable(package="aigc_tf")
class SkipGram(keras.Model):
    """Skip-gram word2vec with negative sampling; ``fit`` on (centre, context) id pairs.

    ``call(ids)`` returns the centre-word vectors (the embeddings we keep);
    ``compute_loss`` draws ``num_negatives`` negative words per pair with the model's
    ``SeedGenerator`` and applies the negative-sampling loss above. Leave XLA off
    (``jit_compile=False``, Keras's default on a CPU): its scatter-add for the embedding
    gradients ran about 7x slower than plain TensorFlow on our 2-core machine.

    Args:
        vocabulary: list of words; word ``vocabulary[i]`` has id ``i``.
        counts: count of each word in the corpus (sets the negative-sampling distribution).
        embed_dim: size of the word vectors.
        num_negatives: negative words per positive pair.
        seed: seed of the negative sampling.
        **kwargs: standard ``keras.Model`` arguments.

    Example:
        Kings and queens rule and reign, cats and dogs eat and sleep:

        >>> text = ("the king rules. a queen rules. the cat eats. a dog eats. "
        ...         "a king reigns. the queen reigns. a cat sleeps. the dog sleeps. ") * 30
        >>> words = tokenize_words(text)
        >>> vocab, counts = build_word_vocab(words)
        >>> vocab
        ['the', 'a', 'king', 'rules', 'queen', 'cat', 'eats', 'dog', 'reigns', 'sleeps']
        >>> model = SkipGram(vocab, counts, embed_dim=16, seed=0)
        >>> centres, contexts = skipgram_pairs(model.encode(words), window=1)  # neighbours
        >>> model.compile(optimizer=keras.optimizers.Adam(1e-2))
        >>> history = model.fit(centres, contexts, batch_size=64, epochs=3, verbose=0)
        >>> model.most_similar("king", k=1)[0][0], model.most_similar("cat", k=1)[0][0]
        ('queen', 'dog')
        >>> model.similarity("king", "queen") > model.similarity("king", "dog")
        True
    """

    def __init__(self, vocabulary, counts, embed_dim=64, num_negatives=5, seed=None, **kwargs):
        super().__init__(**kwargs)
        vocabulary = list(vocabulary)
        counts = np.asarray(counts, dtype="int64")
        if len(vocabulary) < 2 or len(set(vocabulary)) != len(vocabulary):
            raise ValueError("vocabulary must hold at least 2 distinct words")
        if counts.shape != (len(vocabulary),) or np.any(counts < 1):
            raise ValueError(
                f"counts must hold one positive count per word ({len(vocabulary)}), "
                f"got shape {counts.shape}"
            )
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        self.vocabulary = vocabulary
        self.counts = counts
        self.embed_dim = embed_dim
        self.num_negatives = num_negatives
        self.seed = seed
        self.word_index = {w: i for i, w in enumerate(vocabulary)}
        self.centre_embedding = keras.layers.Embedding(
            len(vocabulary), embed_dim, name="centre_embedding"
        )
        self.context_embedding = keras.layers.Embedding(
            len(vocabulary), embed_dim, embeddings_initializer="zeros", name="context_embedding"
        )
        weights = counts.astype("float64") ** NEGATIVE_POWER
        self.negative_cdf = ops.convert_to_tensor(np.cumsum(weights / weights.sum()), "float32")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape=None):
        self.centre_embedding.build()
        self.context_embedding.build()

    def call(self, ids):
        return self.centre_embedding(ids)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        batch = ops.shape(y)[0]
        # Inverse-CDF sampling: O(log V) per draw instead of a categorical over V logits.
        uniform = keras.random.uniform((batch * self.num_negatives,), seed=self.seed_generator)
        negatives = ops.searchsorted(self.negative_cdf, uniform, side="right")
        negatives = ops.reshape(
            ops.minimum(negatives, len(self.vocabulary) - 1), (batch, self.num_negatives)
        )
        centre = y_pred[:, None, :]
        positive = ops.sum(centre * self.context_embedding(ops.reshape(y, (-1, 1))), axis=-1)
        negative = ops.sum(centre * self.context_embedding(negatives), axis=-1)
        # -log sigmoid(s) = softplus(-s) and -log sigmoid(-s) = softplus(s).
        per_pair = ops.softplus(-positive[:, 0]) + ops.sum(ops.softplus(negative), axis=1)
        return ops.mean(per_pair)

    def encode(self, words):
        """Word ids of ``words``; words outside the vocabulary become ``-1``."""
        return np.array([self.word_index.get(w, -1) for w in words], dtype="int64")

    def _index(self, word):
        if word not in self.word_index:
            raise ValueError(
                f"unknown word {word!r}: it is not among the {len(self.vocabulary)} words of "
                "the vocabulary (rare words below min_count are left out)"
            )
        return self.word_index[word]

    def vectors(self, normalize=False):
        """All centre-word vectors as a NumPy array ``(vocab_size, embed_dim)``.

        Args:
            normalize: scale each vector to unit length (then dot products are cosines).
        """
        vectors = np.asarray(self.centre_embedding.embeddings)
        if normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def vector(self, word):
        """The embedding of ``word`` (ValueError for an unknown word)."""
        return self.vectors()[self._index(word)]

    def similarity(self, word_a, word_b):
        """Cosine similarity ``a.b / (|a| |b|)`` of two words' embeddings."""
        a, b = self.vector(word_a), self.vector(word_b)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))

    def most_similar(self, word, k=5):
        """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded).

        Args:
            word: a word of the vocabulary (ValueError otherwise).
            k: how many neighbours to return.

        Returns:
            A list of ``(word, cosine_similarity)`` pairs, most similar first.

        Example:
            Three hand-set unit vectors: queen is 37 degrees from king, cat 90 degrees.

            >>> model = SkipGram(["king", "queen", "cat"], counts=[1, 1, 1], embed_dim=2)
            >>> model.build()
            >>> _ = model.centre_embedding.embeddings.assign([[1, 0], [0.8, 0.6], [0, 1]])
            >>> [(word, round(cosine, 2)) for word, cosine in model.most_similar("king", k=2)]
            [('queen', 0.8), ('cat', 0.0)]
        """
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        index = self._index(word)
        unit = self.vectors(normalize=True)
        cosines = unit @ unit[index]
        cosines[index] = -np.inf
        best = np.argsort(-cosines)[: min(k, len(self.vocabulary) - 1)]
        return [(self.vocabulary[i], float(cosines[i])) for i in best]

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary=self.vocabulary,
            counts=self.counts.tolist(),
            embed_dim=self.embed_dim,
            num_negatives=self.num_negatives,
            seed=self.seed,
        )
        return config
