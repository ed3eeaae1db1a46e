"""Trained models kept between notebooks: a ``.keras`` file and its training cost beside it.

Notebook 13 compares the models that notebooks 04-07, 09 and 11 trained, without training
them again. Each notebook saves its model under ``data/models/NAME.keras`` with a JSON file
recording how long training took; fast mode uses separate ``NAME_fast`` files, so a smoke run
never overwrites a real model. Files are written under a temporary name first and then
renamed, so an interrupted save never leaves a half-written model behind.
"""

import importlib
import json
from pathlib import Path

import keras

from aigc_tf import config

# Modules whose classes are registered Keras serializables; loading needs them imported.
MODEL_MODULES = ("gan", "self_conditioned_gan", "vae", "char_rnn", "gpt", "word2vec", "diffusion")


def trained_model_path(name):
    """Where the model ``name`` is kept: ``data/models/NAME.keras`` (``NAME_fast`` in fast mode).

    Example:
        >>> trained_model_path("dcgan_04").name in ("dcgan_04.keras", "dcgan_04_fast.keras")
        True
    """
    if not name or Path(name).name != name or name.endswith(".keras"):
        raise ValueError(f"expected a plain model name such as 'dcgan_04', got {name!r}")
    stem = name + config.pick(full="", fast="_fast")
    return config.data_dir() / "models" / f"{stem}.keras"


def save_trained(model, name, train_seconds, **info):
    """Save ``model`` and its training cost (``train_seconds`` and any other numbers).

    Returns:
        The path of the ``.keras`` file.
    """
    if not train_seconds >= 0:
        raise ValueError(f"train_seconds must be a non-negative number, got {train_seconds!r}")
    path = trained_model_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial_model = path.with_name(f"partial-{path.name}")
    partial_info = path.with_name(f"partial-{path.stem}.json")
    try:
        model.save(partial_model)
        partial_info.write_text(
            json.dumps({"train_seconds": float(train_seconds), **info}, indent=2))
        partial_model.replace(path)
        partial_info.replace(path.with_suffix(".json"))
    finally:
        partial_model.unlink(missing_ok=True)
        partial_info.unlink(missing_ok=True)
    return path


def load_trained(name):
    """Load the model saved as ``name`` and its info dict, or ``(None, None)`` if there is none.

    Example:
        >>> load_trained("no_such_model")
        (None, None)
    """
    path = trained_model_path(name)
    info_path = path.with_suffix(".json")
    for module in MODEL_MODULES:
        importlib.import_module(f"aigc_tf.models.{module}")
    if not (path.is_file() and info_path.is_file()):
        return None, None
    return keras.models.load_model(path), json.loads(info_path.read_text())
