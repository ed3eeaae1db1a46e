"""Command line: ``aigc-tf doctor`` checks the set-up, ``aigc-tf run-notebooks`` refreshes
notebook outputs.

Examples:
    aigc-tf doctor
    aigc-tf run-notebooks notebooks/01_neural_net_basics.ipynb
    aigc-tf run-notebooks --fast notebooks/*.ipynb      # quick smoke run, not for committing
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from aigc_tf import config


def doctor(args):
    """Print versions, devices, mode and data source; load the shipped MNIST judge."""
    import keras
    import numpy as np
    import tensorflow as tf

    from aigc_tf import data
    from aigc_tf.models.classifier import load_mnist_judge

    print(f"Python      {platform.python_version()}")
    print(f"TensorFlow  {tf.__version__}")
    print(f"Keras       {keras.__version__} (backend: {keras.backend.backend()})")
    print(f"NumPy       {np.__version__}")
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(f"Devices     {', '.join(devices)}; CPU cores: {os.cpu_count()}")
    print(f"Fast mode   {'on' if config.is_fast() else 'off'} ({config.FAST_ENV})")
    print(f"Offline     {'on' if config.is_offline() else 'off'} ({config.OFFLINE_ENV})")
    print(f"Data dir    {config.data_dir()}")
    data.load_mnist("train")
    if not args.skip_judge:
        start = time.perf_counter()
        load_mnist_judge()
        print(f"Judge ready in {time.perf_counter() - start:.1f} s")
    print("All good: open notebooks/00_start_here.ipynb")
    return 0


def run_notebooks(args):
    """Execute notebooks top to bottom and save them with their outputs."""
    import nbclient
    import nbformat

    if args.fast:
        os.environ[config.FAST_ENV] = "1"
    else:
        os.environ.pop(config.FAST_ENV, None)
    for name in args.paths:
        path = Path(name)
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        client = nbclient.NotebookClient(
            notebook, timeout=args.timeout, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
        nbformat.write(notebook, path)
        mode = "fast" if args.fast else "full"
        print(f"{path}: executed in {time.perf_counter() - start:.0f} s ({mode} mode)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="aigc-tf", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("doctor", help="check the installation and data")
    check.add_argument("--skip-judge", action="store_true", help="do not load the MNIST judge")
    check.set_defaults(handler=doctor)
    refresh = commands.add_parser("run-notebooks", help="execute notebooks and save outputs")
    refresh.add_argument("paths", nargs="+", help="notebook files")
    refresh.add_argument("--fast", action="store_true", help="fast mode (for a smoke test)")
    refresh.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    refresh.set_defaults(handler=run_notebooks)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
