"""aigc_tf: learn generative AI with Keras 3 / TensorFlow on a laptop CPU.

Modules: ``config`` (fast mode, seeds, data directory), ``data`` (MNIST, toy data,
tf.data pipelines), ``plotting`` (figures), ``basics`` (a two-layer net by hand),
``clustering`` (k-means), ``models`` (GMM, bigram, MNIST judge and the generative models).
"""

__version__ = "0.1.0"

from aigc_tf.config import is_fast, pick, quiet_tf, set_seed

quiet_tf()

__all__ = ["__version__", "is_fast", "pick", "set_seed"]
