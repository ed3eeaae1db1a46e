"""A character bigram model: the smallest autoregressive generative model.

    P(x_1, ..., x_T) = prod_t P(x_t | x_{t-1})

with ``x_0`` a start marker and a final end marker, and each conditional estimated by counting
with add-``alpha`` smoothing: ``P(b | a) = (count(a, b) + alpha) / (count(a) + alpha V)``.
"""

import numpy as np

BOUNDARY = "\n"


class BigramModel:
    """Character bigram language model over words (the newline marks start and end).

    Args:
        alpha: add-alpha smoothing so unseen pairs keep a small probability.

    Example:
        >>> model = BigramModel().fit(["anna", "hannah", "ann"])
        >>> {c: round(float(p), 2) for c, p in model.next_char_probs("an").items()}  # after "n"
        {'\\n': 0.17, 'a': 0.33, 'h': 0.02, 'n': 0.48}
        >>> model.sample(3, seed=0)  # it only remembers one character: odd words
        ['ah', '', 'hannnnn']
    """

    def __init__(self, alpha=0.1):
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.alpha = alpha

    def fit(self, words):
        """Count character pairs in ``words`` (an iterable of non-empty strings)."""
        words = [w for w in words if w]
        if not words:
            raise ValueError("fit needs at least one non-empty word")
        if any(BOUNDARY in w for w in words):
            raise ValueError("words must not contain newlines (the start/end marker)")
        self.vocab_ = [BOUNDARY] + sorted(set("".join(words)))
        self.index_ = {ch: i for i, ch in enumerate(self.vocab_)}
        counts = np.zeros((len(self.vocab_), len(self.vocab_)))
        for word in words:
            ids = self._ids(BOUNDARY + word + BOUNDARY)
            np.add.at(counts, (ids[:-1], ids[1:]), 1)
        smoothed = counts + self.alpha
        self.probs_ = smoothed / smoothed.sum(axis=1, keepdims=True)
        return self

    def _ids(self, text):
        unknown = sorted(set(text) - set(self.index_))
        if unknown:
            raise ValueError(f"characters {unknown} are not in the model's vocabulary")
        return np.array([self.index_[ch] for ch in text])

    def log_prob(self, word):
        """``log P(word)`` in nats: the sum of ``log P(x_t | x_{t-1})`` including the end."""
        ids = self._ids(BOUNDARY + word + BOUNDARY)
        return float(np.sum(np.log(self.probs_[ids[:-1], ids[1:]])))

    def next_char_probs(self, previous):
        """Distribution over the next character after ``previous`` as a dict."""
        row = self.probs_[self._ids(previous[-1:] or BOUNDARY)[0]]
        return dict(zip(self.vocab_, row, strict=True))

    def sample(self, n, seed=0, max_length=30):
        """Generate ``n`` words one character at a time from ``P(x_t | x_{t-1})``."""
        rng = np.random.default_rng(seed)
        words = []
        for _ in range(n):
            current, chars = 0, []
            while len(chars) < max_length:
                current = rng.choice(len(self.vocab_), p=self.probs_[current])
                if current == 0:
                    break
                chars.append(self.vocab_[current])
            words.append("".join(chars))
        return words
