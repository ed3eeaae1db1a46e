"""Test-suite environment: fast mode, offline, quiet TF; notebook kernels inherit it."""

import os

from aigc_tf.config import TEST_ENV

os.environ.update(TEST_ENV)
