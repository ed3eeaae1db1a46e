"""Pre-train, then fine-tune: a character language model adapted to a new corpus (notebook 15).

:func:`public_domain_docstrings` builds a small offline corpus that differs from Shakespeare:
the docstrings of an installed package's modules that declare themselves public domain
(Docutils' do). :func:`fit_to_vocab` rewrites a text with the characters a pre-trained
model knows, and :func:`fine_tune` trains a copy of the model -- with its pre-trained weights,
or from random weights for the comparison -- for a fixed number of steps, recording held-out
bits per character along the way.
"""

import ast
import collections
import importlib.util
import math
import time
import unicodedata
from pathlib import Path

import keras
import numpy as np

from aigc_tf import config

PUBLIC_DOMAIN_MARK = "placed in the public domain"

# Characters outside a vocabulary replaced by a look-alike before anything is dropped.
LOOKALIKES = {
    '"': "'", "\u201c": "'", "\u201d": "'", "\u2018": "'", "\u2019": "'", "`": "'",
    "\u2014": "-", "\u2013": "-", "\u2026": "...", "\t": " ",
}


def _package_root(package):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"package {package!r} is not installed (or is a single module); "
                         "pass an installed package such as 'docutils'")
    return Path(list(spec.submodule_search_locations)[0])


def _docstrings(source):
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                found.append((getattr(node, "lineno", 0), doc.strip()))
    return [doc for _, doc in sorted(found)]


def public_domain_docstrings(package="docutils"):
    """The docstrings of every module of ``package`` that declares itself public domain.

    A module counts when its first 2,000 characters contain "placed in the public domain"
    (Docutils marks its public-domain files this way; files under other licences lack the
    mark and are skipped). Docstrings are taken in file and line order, separated by blank
    lines.

    Args:
        package: name of an installed package.

    Returns:
        The corpus as one string.

    Example:
        >>> text = public_domain_docstrings("docutils")
        >>> len(text) > 50_000, "reStructuredText" in text
        (True, True)
    """
    parts = []
    for path in sorted(_package_root(package).rglob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        if PUBLIC_DOMAIN_MARK in " ".join(source[:2000].split()):
            parts.extend(_docstrings(source))
    if not parts:
        raise ValueError(f"no module of {package!r} declares itself {PUBLIC_DOMAIN_MARK!r}")
    return "\n\n".join(parts) + "\n"


def _fit_char(char, known):
    if char in known:
        return char
    if char in LOOKALIKES:
        return LOOKALIKES[char]
    base = unicodedata.normalize("NFKD", char)  # "ü" -> "u" + combining diaeresis
    return "".join(c for c in base if c in known)


def fit_to_vocab(text, vocab):
    """Rewrite ``text`` with the characters of ``vocab`` only.

    A character the vocabulary lacks is replaced by a look-alike (:data:`LOOKALIKES`:
    straight and curly double quotes and backquotes become ``'``, dashes ``-``, a tab a
    space), else by its unaccented letters ("ü" -> "u"), else dropped.

    Args:
        text: the text to rewrite.
        vocab: a :class:`aigc_tf.text.CharVocab` (e.g. a pre-trained model's ``vocab``).

    Returns:
        ``(fitted_text, report)``: ``report`` holds ``replaced`` and ``dropped``, each a
        ``collections.Counter`` of the original characters, and ``kept_share``, the share of
        the original characters kept unchanged.

    Example:
        >>> from aigc_tf.text import CharVocab
        >>> fitted, report = fit_to_vocab('Say "café" 3 times.', CharVocab("Say'cafe tims."))
        >>> fitted
        "Say 'cafe'  times."
        >>> dict(report["dropped"]), report["replaced"]["é"]
        ({'3': 1}, 1)
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str, got {type(text).__name__} "
                         f"of length {len(text) if isinstance(text, str) else 'n/a'}")
    known = set(vocab.characters)
    fitted = {char: _fit_char(char, known) for char in set(text)}
    counts = collections.Counter(text)
    report = {
        "replaced": collections.Counter({c: n for c, n in counts.items()
                                         if c not in known and fitted[c]}),
        "dropped": collections.Counter({c: n for c, n in counts.items() if not fitted[c]}),
        "kept_share": sum(n for c, n in counts.items() if c in known) / len(text),
    }
    return "".join(fitted[char] for char in text), report


def copy_language_model(model, pretrained=True, seed=0):
    """A new model of the same architecture, with ``model``'s weights or fresh random ones.

    Args:
        model: a built character language model (``MiniGPT``, ``CharRNN``).
        pretrained: copy the weights (True) or keep the new random initialisation (False).
        seed: seed of the random initialisation.

    Example:
        >>> from aigc_tf.models.gpt import MiniGPT
        >>> model = MiniGPT("ab", context_length=8, embed_dim=8, num_heads=1, num_layers=1)
        >>> model.build()
        >>> same, fresh = copy_language_model(model), copy_language_model(model, False)
        >>> ids = np.array([[1, 3, 4]])
        >>> bool(np.allclose(same(ids), model(ids))), bool(np.allclose(fresh(ids), model(ids)))
        (True, False)
    """
    if not model.built:
        raise ValueError("model must be built (trained or loaded) before it can be copied")
    config.set_seed(seed)
    copy = type(model).from_config(model.get_config())
    copy(np.full((1, 2), model.vocab.start_id, "int32"))  # builds every layer
    if pretrained:
        copy.set_weights(model.get_weights())
    return copy


def _check_steps(steps, eval_every):
    if not isinstance(eval_every, int) or eval_every < 1:
        raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
    if not isinstance(steps, int) or steps < eval_every or steps % eval_every:
        raise ValueError(f"steps must be a positive multiple of eval_every={eval_every}, "
                         f"got {steps!r}")


def train_for_steps(model, train, validation, steps, eval_every):
    """Train a compiled model for ``steps`` steps, scoring the validation set as it goes.

    Args:
        model: a compiled character language model (loss in nats per character).
        train: an endless dataset of ``(ids, next_ids)`` windows (``repeat=True``).
        validation: a finite validation dataset.
        steps: training steps, a multiple of ``eval_every``.
        eval_every: steps between validation passes.

    Returns:
        dict with ``steps`` (0, ``eval_every``, ..., ``steps``), ``val_bits_per_char`` at
        each of them (step 0: before any training), ``train_bits_per_char`` (the mean over
        each stretch of ``eval_every`` steps; ``nan`` at step 0) and ``seconds``.
    """
    _check_steps(steps, eval_every)
    start = time.perf_counter()
    initial = model.evaluate(validation, verbose=0, return_dict=True)["loss"]
    history = model.fit(train, validation_data=validation, epochs=steps // eval_every,
                        steps_per_epoch=eval_every, shuffle=False, verbose=0).history
    to_bits = 1 / math.log(2)
    return {"steps": list(range(0, steps + 1, eval_every)),
            "val_bits_per_char": [to_bits * v for v in [initial, *history["val_loss"]]],
            "train_bits_per_char": [math.nan] + [to_bits * v for v in history["loss"]],
            "seconds": time.perf_counter() - start}


def fine_tune(model, train, validation, steps, eval_every=100, learning_rate=1e-3,
              pretrained=True, frozen=(), warmup_steps=0, seed=0):
    """Train a copy of ``model`` on new data: fine-tuning, or the from-scratch baseline.

    The copy (:func:`copy_language_model`) is compiled with Adam (gradient norm clipped at
    1), a linear warm-up over ``warmup_steps`` and a cosine decay to 5% of
    ``learning_rate`` at ``steps``, then trained with :func:`train_for_steps`.

    Args:
        model: the pre-trained, built character language model (left unchanged).
        train, validation: datasets of the new corpus, encoded with ``model.vocab``.
        steps, eval_every: see :func:`train_for_steps`.
        learning_rate: peak learning rate (fine-tuning usually wants a smaller one than
            pre-training, so the pre-trained weights are adjusted, not overwritten).
        pretrained: start from ``model``'s weights (True) or from random weights (False).
        frozen: names of layers kept fixed (``layer.trainable = False``), e.g.
            ``("embedding",)``.
        warmup_steps: steps of linear warm-up from 0.
        seed: seed of the copy's initialisation and of dropout.

    Returns:
        ``(trained_copy, run)`` with ``run`` from :func:`train_for_steps`.

    Example:
        >>> from aigc_tf.models.gpt import MiniGPT
        >>> from aigc_tf.text import make_char_dataset
        >>> text = "the cat sat on the mat. " * 40
        >>> model = MiniGPT(text, context_length=16, embed_dim=16, num_heads=1, num_layers=1)
        >>> model.build()
        >>> train, val = make_char_dataset(model.vocab.encode(text), 16, 8, repeat=True,
        ...                                start_id=model.vocab.start_id)
        >>> tuned, run = fine_tune(model, train, val, steps=20, eval_every=10,
        ...                        learning_rate=1e-2, frozen=("embedding",))
        >>> run["steps"], run["val_bits_per_char"][-1] < run["val_bits_per_char"][0]
        ([0, 10, 20], True)
        >>> tuned.get_layer("embedding").trainable, model.get_layer("embedding").trainable
        (False, True)
    """
    _check_steps(steps, eval_every)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if not isinstance(warmup_steps, int) or not 0 <= warmup_steps < steps:
        raise ValueError(f"warmup_steps must be an integer in [0, steps={steps}), "
                         f"got {warmup_steps!r}")
    layer_names = [layer.name for layer in model.layers]
    unknown = [name for name in frozen if name not in layer_names]
    if unknown:
        raise ValueError(f"no layer named {unknown[0]!r} to freeze; the model's layers are "
                         f"{layer_names}")
    copy = copy_language_model(model, pretrained, seed)
    for name in frozen:
        copy.get_layer(name).trainable = False
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup_steps else learning_rate, decay_steps=steps - warmup_steps, alpha=0.05,
        warmup_target=learning_rate if warmup_steps else None, warmup_steps=warmup_steps)
    copy.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0))
    return copy, train_for_steps(copy, train, validation, steps, eval_every)
