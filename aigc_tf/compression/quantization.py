"""Post-training int8 quantisation: by hand, with Keras 3, and with the LiteRT converter.

Symmetric int8 quantisation stores a float tensor :math:`x` as integers
:math:`q = \\mathrm{round}(x / s)` clipped to ``[-127, 127]`` with one float scale
:math:`s = \\max|x| / 127`, and reads it back as :math:`\\hat x = s\\,q`; the error of each
value is at most :math:`s / 2`.

* :func:`quantize_symmetric` / :func:`dequantize` do it on a NumPy array (per tensor or per
  channel).
* :func:`quantize_keras_int8` applies Keras 3's ``model.quantize("int8")`` to a copy of a model:
  the weights of its Dense, EinsumDense and Embedding layers become int8 (other layers stay
  float) and activations are quantised on the fly.
* :func:`to_litert` converts a Keras model into a LiteRT (formerly TensorFlow Lite) flat buffer;
  with a representative dataset it is *full-integer*: weights and activations in int8, with
  activation ranges calibrated on the representative inputs. :class:`LiteRTModel` runs it.
"""

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

INT8_MAX = 127


def quantize_symmetric(values, axis=None):
    """Symmetric int8 quantisation of an array: ``(q, scale)`` with ``values ≈ scale * q``.

    Args:
        values: a float array, finite and not empty.
        axis: ``None`` for one scale for the whole tensor, or the axis that keeps one scale
            per slice (e.g. ``-1``: one scale per output channel of a Dense kernel).

    Returns:
        ``q`` (``int8``, same shape, in ``[-127, 127]``) and ``scale`` (``float32``, a scalar
        or an array broadcastable against ``values``).

    Example:
        >>> q, scale = quantize_symmetric(np.array([-1.0, 0.02, 0.5, 2.54]))
        >>> q.tolist(), round(float(scale), 6)
        ([-50, 1, 25, 127], 0.02)
        >>> [round(float(v), 4) for v in dequantize(q, scale)]
        [-1.0, 0.02, 0.5, 2.54]
    """
    values = np.asarray(values, dtype="float64")
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("values must be a non-empty array of finite numbers")
    reduce_axes = None if axis is None else tuple(
        a for a in range(values.ndim) if a != axis % values.ndim)
    largest = np.max(np.abs(values), axis=reduce_axes, keepdims=axis is not None)
    scale = np.where(largest > 0, largest / INT8_MAX, 1.0)  # an all-zero slice keeps scale 1
    q = np.clip(np.round(values / scale), -INT8_MAX, INT8_MAX).astype("int8")
    return q, scale.astype("float32")


def dequantize(q, scale):
    """Float values back from int8 codes: ``scale * q`` (see :func:`quantize_symmetric`).

    Example:
        >>> dequantize(np.array([-127, 0, 64], dtype="int8"), 0.5).tolist()
        [-63.5, 0.0, 32.0]
    """
    return np.asarray(q, dtype="float32") * np.asarray(scale, dtype="float32")


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built; call it on a batch first")


def quantize_keras_int8(model):
    """A copy of ``model`` quantised by Keras 3's ``model.quantize("int8")``.

    The model is copied through a ``.keras`` file (so a registered subclass such as
    :class:`aigc_tf.models.gpt.MiniGPT` keeps its class and methods), then its Dense,
    EinsumDense and Embedding layers store int8 weights with per-channel scales. The
    original stays float. Keras warns once for every layer it leaves in float (LayerNorm,
    Dropout, ...); those expected warnings are silenced.

    Args:
        model: a built ``keras.Model``.

    Returns:
        The quantised copy.

    Example:
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> small = quantize_keras_int8(model)
        >>> str(small.layers[0].kernel.dtype), str(model.layers[0].kernel.dtype)
        ('int8', 'float32')
        >>> x = np.linspace(-1, 1, 16).reshape(2, 8)
        >>> bool(np.allclose(small.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.05))
        True
    """
    _check_model(model)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copy.keras"
        model.save(path)
        copy = keras.models.load_model(path, compile=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have a `quantize` method")
        copy.quantize("int8")
    return copy


def _calibration_batches(representative_data, num_calibration):
    samples = np.asarray(representative_data, dtype="float32")
    if samples.ndim < 2 or len(samples) == 0 or not np.all(np.isfinite(samples)):
        raise ValueError("representative_data must be a non-empty batch of finite model "
                         f"inputs, shape (N, ...), got shape {samples.shape}")
    if not isinstance(num_calibration, int) or num_calibration < 1:
        raise ValueError(f"num_calibration must be a positive integer, got {num_calibration!r}")

    def batches():
        for sample in samples[:num_calibration]:
            yield [sample[None]]
    return batches


def to_litert(model, representative_data=None, num_calibration=200):
    """Convert a Keras model to a LiteRT (TFLite) flat buffer, float32 or full-integer int8.

    Args:
        model: a built ``keras.Model`` with one input and one output.
        representative_data: ``None`` for a float32 flat buffer; else typical inputs, shape
            ``(N, ...)``: the converter runs the first ``num_calibration`` of them through the
            model to calibrate every activation's int8 range, and quantises weights,
            activations, input and output to int8 (full-integer quantisation, what
            integer-only accelerators need).
        num_calibration: how many representative inputs to use.

    Returns:
        The flat buffer (``bytes``): write it to a ``.tflite`` file or run it with
        :class:`LiteRTModel`.

    Example:
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> x = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
        >>> int8 = LiteRTModel(to_litert(model, representative_data=x))  # doctest: +SKIP
        >>> int8.input_dtype  # doctest: +SKIP
        'int8'
    """
    import tensorflow as tf

    _check_model(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if representative_data is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _calibration_batches(representative_data,
                                                                num_calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # The export step lists every traced tensor on stdout, and the converter warns that
        # the input has no statistics, which is expected: the representative data give them.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # older set-ups: TensorFlow's own (deprecated) copy of the runtime
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter


class LiteRTModel:
    """Run a LiteRT flat buffer on NumPy batches, like ``model.predict``.

    Float inputs are quantised with the flat buffer's input scale and zero point when its
    input is int8, and int8 outputs are dequantised, so the caller always passes and gets
    float32 arrays. The interpreter comes from ``ai-edge-litert`` when it is installed,
    else from ``tf.lite``.

    Args:
        flatbuffer: bytes from :func:`to_litert` (or a ``.tflite`` file's content).
        num_threads: CPU threads the interpreter may use (``None``: its default).

    Example:
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> runner = LiteRTModel(to_litert(model))  # doctest: +SKIP
        >>> runner.predict(np.ones((3, 8))).shape  # doctest: +SKIP
        (3, 4)
    """

    def __init__(self, flatbuffer, num_threads=None):
        if not isinstance(flatbuffer, (bytes, bytearray)) or not flatbuffer:
            raise ValueError("flatbuffer must be the non-empty bytes that to_litert returns")
        self.size_bytes = len(flatbuffer)
        self._interpreter = _interpreter_class()(model_content=bytes(flatbuffer),
                                                 num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.input_dtype = np.dtype(self._input["dtype"]).name
        self._batch = None

    def _to_input(self, batch):
        if self.input_dtype != "int8":
            return batch.astype(self._input["dtype"])
        scale, zero_point = self._input["quantization"]
        return np.clip(np.round(batch / scale) + zero_point, -128, 127).astype("int8")

    def _from_output(self, values):
        if values.dtype != np.int8:
            return values.astype("float32")
        scale, zero_point = self._output["quantization"]
        return ((values.astype("float32") - zero_point) * scale).astype("float32")

    def _run(self, batch):
        if len(batch) != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], batch.shape)
            self._interpreter.allocate_tensors()
            self._batch = len(batch)
        self._interpreter.set_tensor(self._input["index"], self._to_input(batch))
        self._interpreter.invoke()
        return self._from_output(self._interpreter.get_tensor(self._output["index"]))

    def predict(self, inputs, batch_size=256):
        """Outputs for a batch of float inputs, shape ``(N, ...)``, in chunks of ``batch_size``."""
        inputs = np.asarray(inputs, dtype="float32")
        expected = tuple(self._input["shape"][1:])
        if inputs.ndim < 1 or len(inputs) == 0 or tuple(inputs.shape[1:]) != expected:
            raise ValueError(f"inputs must have shape (N, {', '.join(map(str, expected))}) "
                             f"with N >= 1, got {inputs.shape}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        chunks = [self._run(inputs[start:start + batch_size])
                  for start in range(0, len(inputs), batch_size)]
        return np.concatenate(chunks)
