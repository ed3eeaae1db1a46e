"""aigc_tf: learn generative AI with Keras 3 / TensorFlow on a laptop CPU.

Modules: ``config`` (fast mode, seeds, data directory), ``data`` (MNIST, toy data,
tf.data pipelines), ``plotting`` (figures), ``basics`` (a two-layer net by hand),
``models`` (GMM, bigram, MNIST judge and the generative models).
"""

import os

# Before TensorFlow is first imported: hide its C++ start-up chatter (CUDA probes, CPU flags).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

from aigc_tf.config import is_fast, pick, set_seed  # noqa: E402

__all__ = ["__version__", "is_fast", "pick", "set_seed"]
