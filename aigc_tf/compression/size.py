"""How many bytes a model takes: its ``.keras`` file and the gzip size of its weights."""

import gzip
import tempfile
from pathlib import Path

import keras
import numpy as np


def _check_model(model):
    if not isinstance(model, keras.layers.Layer):
        raise ValueError(f"model must be a Keras model or layer, got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built; call it on a batch first")


def keras_file_size(model):
    """Bytes of the model's ``.keras`` file without optimizer state: architecture and weights.

    ``model.save`` always stores a compiled model's optimizer variables too (Adam keeps two
    per weight, tripling the file), which inference does not need; so a model with optimizer
    state is saved, reloaded without compiling and saved again, and the second file is
    measured. (A model quantised by ``model.quantize`` cannot be reloaded this way, so measure
    the copy :func:`aigc_tf.compression.quantize_keras_int8` returns, which has no optimizer.)

    Args:
        model: a built Keras model.

    Returns:
        The file size in bytes.

    Example:
        >>> model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(100)])
        >>> size = keras_file_size(model)
        >>> size > 4 * 100 * 100  # 10,100 float32 weights and some JSON
        True
        >>> model.compile(optimizer="adam", loss="mse")
        >>> _ = model.fit(np.ones((4, 100)), np.ones((4, 100)), verbose=0)  # Adam state: 2x
        >>> keras_file_size(model) < 1.05 * size  # the file keeps only some compile JSON
        True
    """
    _check_model(model)
    optimizer = getattr(model, "optimizer", None)
    with tempfile.TemporaryDirectory() as folder:
        path, inference_only = Path(folder) / "model.keras", Path(folder) / "inference.keras"
        model.save(path)
        if optimizer is None or not optimizer.variables:
            return path.stat().st_size
        keras.models.load_model(path, compile=False).save(inference_only)
        return inference_only.stat().st_size


def gzipped_weights_size(model):
    """Bytes of the model's weights, as stored (float32, int8, ...), after gzip compression.

    Zeros compress well, so this is the size a pruned model really needs on disk or on the
    wire, whereas its ``.keras`` file stays as big as the dense model's.

    Args:
        model: a built Keras model.

    Returns:
        The compressed size in bytes.

    Example:
        >>> model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(100)])
        >>> dense = gzipped_weights_size(model)
        >>> _ = model.layers[0].kernel.assign(np.zeros((100, 100)))
        >>> gzipped_weights_size(model) < dense / 10
        True
    """
    _check_model(model)
    raw = b"".join(np.ascontiguousarray(keras.ops.convert_to_numpy(w)).tobytes()
                   for w in model.weights)
    return len(gzip.compress(raw, compresslevel=9, mtime=0))
