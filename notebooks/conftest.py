"""nbval runs the notebooks in kernels that inherit this environment: fast, offline, quiet."""

import os

from aigc_tf.config import TEST_ENV

os.environ.update(TEST_ENV)
