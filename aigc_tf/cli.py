"""Command line aigc-tf: train, sample from and evaluate the course's generators.

Examples:
    aigc-tf train dcgan --minutes 3 --out runs/dcgan      # the README's main job
    aigc-tf train dcgan --resume runs/dcgan               # continue an interrupted run
    aigc-tf train char-rnn --text my_corpus.txt --epochs 20
    aigc-tf sample runs/dcgan/model.keras -n 64 --out grid.png
    aigc-tf sample runs/cgan/model.keras --labels 3 7 --out threes_and_sevens.png
    aigc-tf sample runs/char-rnn/model.keras --prompt "ROMEO:" --length 300
    aigc-tf eval runs/dcgan/model.keras
    aigc-tf doctor
    aigc-tf run-notebooks notebooks/01_neural_net_basics.ipynb
    aigc-tf exercises student out/                        # student versions of the notebooks

Bad input (unknown model, unreadable model file, unwritable folder, ...) ends with one line
on standard error and a non-zero exit status, before anything is written.
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

from aigc_tf import config

USAGE_ERROR = 2
RUN_ERROR = 1
INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block)."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def _seed(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def _model_name(name):
    from aigc_tf import recipes

    try:
        return recipes.get(name).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# ----------------------------------------------------------------------------- train


def _settings_from(args):
    from aigc_tf import runs

    return runs.Settings(
        model=args.model, epochs=args.epochs, minutes=args.minutes, batch_size=args.batch_size,
        seed=0 if args.seed is None else args.seed, fast=args.fast or config.is_fast(),
        text=None if args.text is None else str(Path(args.text).expanduser().resolve()),
        strategy=args.strategy)


def _check_same_settings(saved, args):
    """A resumed run keeps its settings: refuse command-line values that differ."""
    asked = {"epochs": args.epochs, "minutes": args.minutes, "batch_size": args.batch_size,
             "seed": args.seed, "fast": args.fast or None,
             "text": None if args.text is None else str(Path(args.text).resolve())}
    for name, value in asked.items():
        if value is not None and value != getattr(saved, name):
            option = "--" + name.replace("_", "-")
            raise ValueError(f"{option} {value} differs from the run's {getattr(saved, name)}; "
                             "a resumed run keeps its settings (leave the option out)")


def _prepare_run(args, recipe):
    """Check everything about the run before TensorFlow starts; returns (run folder, fresh)."""
    from aigc_tf import runs, text

    if args.text is not None:
        if recipe.kind != "text":
            raise ValueError(f"--text is for the text models (char-rnn, mini-gpt), "
                             f"not {recipe.name}")
        text.load_corpus(path=args.text)  # missing, binary, non-UTF-8 or empty: clear error
    if args.resume is not None:
        if args.out is not None and Path(args.out).resolve() != Path(args.resume).resolve():
            raise ValueError("give either --out (a new run) or --resume (an interrupted one)")
        folder = runs.RunFolder.open(args.resume, recipe.name)
        _check_same_settings(folder.settings, args)
        folder.settings.strategy = args.strategy  # a run may resume on other devices
        return folder, False
    out = Path(args.out) if args.out is not None else Path("runs") / recipe.name
    runs.RunFolder.check_new(out)
    return runs.RunFolder(out, _settings_from(args)), True


def train(args):
    """Train a model of the course; print where its files are and the metric line."""
    from aigc_tf import recipes, training

    recipe = recipes.get(args.model)
    if args.fast:
        os.environ[config.FAST_ENV] = "1"
    run_folder, fresh = _prepare_run(args, recipe)
    args.run_dir = run_folder.path  # named by the message if the run is interrupted
    if run_folder.settings.fast:
        os.environ[config.FAST_ENV] = "1"
    strategy = training.make_strategy(run_folder.settings.strategy)
    report = training.run(recipe, run_folder, strategy, fresh, evaluate=not args.skip_eval)
    done = report["training"]
    print(f"{recipe.name}: {done['epochs']} epochs, {done['steps']:,} steps in "
          f"{done['seconds']:.0f} s on {done['devices']} device(s)")
    print(f"model: {report['model_file']}")
    print(f"metrics: {report['metrics_file']}")
    print(f"curves: tensorboard --logdir {run_folder.log_dir}")
    kind = "sample grid" if recipe.kind == "image" else "generated text"
    print(f"{kind}: {report['samples_file']}")
    if report["metrics"] is None:
        print(f"evaluation skipped; run aigc-tf eval {report['model_file']}")
    else:
        print(report["metrics"]["summary"])
    return 0


def _add_train(commands):
    from aigc_tf import recipes, training

    names = ", ".join(recipes.RECIPES)
    command = commands.add_parser(
        "train", help="train a model of the course",
        description="Train a model of the course with its notebook's recipe; writes samples "
                    "per epoch, TensorBoard logs, model.keras and metrics.json to the run "
                    "folder.")
    command.add_argument("model", type=_model_name, metavar="MODEL", help=f"one of {names}")
    budget = command.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=_positive(int),
                        help="number of epochs (the image models' default: their notebook's; "
                             "latent diffusion trains on the clock, 5 minutes)")
    budget.add_argument("--minutes", type=_positive(float),
                        help="wall-clock training budget (default: 8 for the text models, 5 for "
                             "latent diffusion, autoencoder included)")
    command.add_argument("--batch-size", type=_positive(int),
                         help="global batch size, split across devices")
    command.add_argument("--seed", type=_seed, help="seed of everything (default 0)")
    folder = command.add_mutually_exclusive_group()
    folder.add_argument("--out", help="new run folder (default runs/MODEL)")
    folder.add_argument("--resume", metavar="DIR", help="continue the interrupted run in DIR")
    command.add_argument("--fast", action="store_true", help="tiny sizes, for a smoke test")
    command.add_argument("--text", metavar="FILE", help="UTF-8 corpus for a text model "
                                                        "(default: Shakespeare)")
    command.add_argument("--skip-eval", action="store_true",
                         help="do not run the evaluation suite at the end")
    command.add_argument("--strategy", choices=training.STRATEGIES, default="default",
                         help="mirrored: every local GPU (or CPU device); multi-worker: the "
                              "machines listed in TF_CONFIG")
    command.set_defaults(handler=train)


# ----------------------------------------------------------------------------- sample, eval


def load_generator(path):
    """Load a model file written by ``aigc-tf train`` (Keras safe mode: no code runs).

    Returns:
        ``(model, recipe)``.
    """
    import keras

    from aigc_tf import recipes

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {str(path)!r} does not exist")
    try:
        with warnings.catch_warnings():  # a GAN's unused default optimizer is not restored
            warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
            model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # a damaged zip fails in many ways; all mean the same here
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(f"{str(path)!r} is not a readable .keras model file ({reason})") from None
    return model, recipes.for_model(model)


def _check_output(path):
    from aigc_tf import runs

    runs.check_writable_folder(Path(path).parent)
    if Path(path).is_dir():
        raise ValueError(f"--out {str(path)!r} is a folder; give a file name")


def _image_labels(args, recipe):
    if args.labels is None:
        return recipe.grid_labels(max(1, args.n // 10)) if recipe.conditional else None
    if not recipe.conditional:
        raise ValueError(f"--labels needs a conditional model (cgan, cvae, latent-diffusion-cond), "
                         f"not {recipe.name}")
    if any(not 0 <= label < 10 for label in args.labels):
        raise ValueError(f"--labels must be digits 0-9, got {args.labels}")
    return [label for label in args.labels for _ in range(max(1, args.n // len(args.labels)))]


def sample(args):
    """Write a grid of samples (image model) or print generated text (text model)."""
    from aigc_tf import runs, training

    model, recipe = load_generator(args.model_file)
    if recipe.kind == "text":
        if args.labels is not None:
            raise ValueError("--labels is for the conditional image models (cgan, cvae, "
                             "latent-diffusion-cond)")
        if args.out is not None:
            _check_output(args.out)
        text = model.generate(args.prompt, args.length, temperature=args.temperature,
                              top_k=args.top_k, seed=args.seed)
        if args.out is not None:
            runs.write_atomically(args.out, lambda tmp: tmp.write_text(text))
        print(text)
        return 0
    out = args.out or "grid.png"
    _check_output(out)
    labels = _image_labels(args, recipe)
    count = args.n if labels is None else len(labels)
    images = recipe.draw(model, count, args.seed, labels)
    per_row = 10 if labels is None else len(labels) // len(set(labels)) or 1
    print(training.save_grid(Path(out), images, per_row))
    return 0


def evaluate(args):
    """Run the evaluation suite on a model file; print its line, optionally save the JSON."""
    from aigc_tf import runs

    model, recipe = load_generator(args.model_file)
    if args.out is not None:
        _check_output(args.out)
    if recipe.kind == "text":
        settings = runs.Settings(recipe.name, text=args.text)
        results = recipe.evaluate(model, args.seed, recipe.load_data(settings))
    else:
        if args.text is not None:
            raise ValueError("--text is for the text models (char-rnn, mini-gpt)")
        results = recipe.evaluate(model, args.seed, args.n)
    if args.out is not None:
        runs.write_json(args.out, {"model": recipe.name, "metrics": results})
    print(results["summary"])
    return 0


def _add_sample_and_eval(commands):
    command = commands.add_parser("sample", help="draw samples from a trained model file")
    command.add_argument("model_file", help="a model.keras written by aigc-tf train")
    command.add_argument("-n", type=_positive(int), default=100,
                         help="images (default 100); with --labels, in total over the labels")
    command.add_argument("--labels", type=int, nargs="+",
                         help="digits to draw (cgan, cvae, latent-diffusion-cond)")
    command.add_argument("--seed", type=_seed, help="seed of the samples")
    command.add_argument("--out", help="PNG for images (default grid.png); text file for text")
    command.add_argument("--prompt", default="", help="text to continue (text models)")
    command.add_argument("--length", type=_positive(int), default=300,
                         help="characters to generate (default 300)")
    command.add_argument("--temperature", type=_positive(float), default=0.8,
                         help="sampling temperature (default 0.8)")
    command.add_argument("--top-k", type=_positive(int), help="sample among the k likeliest")
    command.set_defaults(handler=sample)

    command = commands.add_parser("eval", help="run the evaluation suite on a model file")
    command.add_argument("model_file", help="a model.keras written by aigc-tf train")
    command.add_argument("-n", type=_positive(int),
                         help="generated images to judge (default 1000; 200 in fast mode)")
    command.add_argument("--seed", type=_seed, default=0, help="seed of the samples")
    command.add_argument("--text", metavar="FILE",
                         help="corpus of a text model (default Shakespeare): its last 10%% "
                              "is the held-out text")
    command.add_argument("--out", help="also write every number to this JSON file")
    command.set_defaults(handler=evaluate)


# ----------------------------------------------------------------------------- set-up


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


def _add_setup(commands):
    check = commands.add_parser("doctor", help="check the installation and data")
    check.add_argument("--skip-judge", action="store_true", help="do not load the MNIST judge")
    check.set_defaults(handler=doctor)
    refresh = commands.add_parser("run-notebooks", help="execute notebooks and save outputs")
    refresh.add_argument("paths", nargs="+", help="notebook files")
    refresh.add_argument("--fast", action="store_true", help="fast mode (for a smoke test)")
    refresh.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    refresh.set_defaults(handler=run_notebooks)


def build_parser():
    """The ``aigc-tf`` argument parser with every command."""
    from aigc_tf import grading

    parser = _Parser(prog="aigc-tf", description=__doc__.splitlines()[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="\n".join(__doc__.splitlines()[2:]))
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train(commands)
    _add_sample_and_eval(commands)
    _add_setup(commands)
    grading.add_commands(commands)
    return parser


def _one_line(error):
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def main(argv=None):
    """Run ``aigc-tf`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error already printed
        return exit_request.code
    try:
        return args.handler(args)
    except (ValueError, OSError) as error:
        print(f"aigc-tf: error: {_one_line(error)}", file=sys.stderr)
        return RUN_ERROR
    except KeyboardInterrupt:
        run_dir = getattr(args, "run_dir", None)
        hint = f"; continue with aigc-tf train {args.model} --resume {run_dir}" if run_dir else ""
        print(f"aigc-tf: interrupted{hint}", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
