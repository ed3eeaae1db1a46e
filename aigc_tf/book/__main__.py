"""``python -m aigc_tf.book book OUT_DIR`` / ``notebooks DIR``."""

import sys

from aigc_tf.book import main

sys.exit(main())
