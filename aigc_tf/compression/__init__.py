"""Making a trained model smaller and faster: quantisation, pruning, distillation.

* :mod:`aigc_tf.compression.quantization` -- symmetric int8 quantisation of a tensor, Keras 3's
  own ``model.quantize("int8")`` on a copy of a model, and full-integer LiteRT (TFLite) flat
  buffers with a representative dataset, run by :class:`LiteRTModel`.
* :mod:`aigc_tf.compression.pruning` -- the polynomial sparsity schedule and a
  :class:`MagnitudePruning` callback (Keras 3 has no pruning API, and
  ``tensorflow-model-optimization`` does not support Keras 3).
* :mod:`aigc_tf.compression.distillation` -- the temperature-scaled distillation loss and a
  :class:`Distiller` that trains a small student on a teacher's soft labels.
* :mod:`aigc_tf.compression.size` -- file sizes (``.keras``, flat buffer) and the gzip size
  of a model's weights.
"""

from aigc_tf.compression.distillation import Distiller, distillation_loss
from aigc_tf.compression.pruning import (
    MagnitudePruning,
    polynomial_sparsity,
    prunable_weights,
    prune_by_magnitude,
    weight_sparsity,
)
from aigc_tf.compression.quantization import (
    LiteRTModel,
    dequantize,
    quantize_keras_int8,
    quantize_symmetric,
    to_litert,
)
from aigc_tf.compression.size import gzipped_weights_size, keras_file_size

__all__ = [
    "Distiller", "LiteRTModel", "MagnitudePruning", "dequantize", "distillation_loss",
    "gzipped_weights_size", "keras_file_size", "polynomial_sparsity", "prunable_weights",
    "prune_by_magnitude", "quantize_keras_int8", "quantize_symmetric", "to_litert",
    "weight_sparsity",
]
