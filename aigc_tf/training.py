"""How ``aigc-tf train`` runs ``fit``: distribution strategy, callbacks, resume, the end.

:func:`run` trains a recipe's model in a :class:`aigc_tf.runs.RunFolder`, with Keras's own
machinery: ``tf.distribute`` for several devices or machines, ``BackupAndRestore`` (made
kill-safe by :class:`AtomicBackupAndRestore`) to resume, ``TensorBoard`` and ``CSVLogger`` for
the curves, :class:`aigc_tf.callbacks.SampleGrid` for the per-epoch samples and
:class:`aigc_tf.callbacks.TimeBudget` for a wall-clock budget.
"""

import importlib.util
import json
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from aigc_tf import config, recipes, runs
from aigc_tf.callbacks import SampleGrid, TimeBudget, tile_images

STRATEGIES = ("default", "mirrored", "multi-worker")
GRID_SCALE = 2
FINAL_GRID_PER_ROW = 10


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose checkpoint survives a kill at any moment.

    Keras writes ``latest.weights.h5`` in place and then ``training_metadata.json``: a kill
    during the first write leaves a truncated weights file, and a kill between the two leaves
    weights one epoch ahead of the recorded epoch. Here every checkpoint goes into a new
    folder, and ``checkpoint.json``, replaced atomically, names the last complete one; the
    loading and the resume logic are Keras's own. The weights file holds the model and every
    optimizer it has as an attribute (a GAN's two), so all of their states come back.

    Args:
        backup_dir: folder of the checkpoints.
        clock_offset: training seconds done before this ``fit`` (a resumed run's), added to
            the seconds recorded with each checkpoint.
        **kwargs: passed to ``BackupAndRestore`` (e.g. ``delete_checkpoint``).
    """

    def __init__(self, backup_dir, clock_offset=0.0, **kwargs):
        super().__init__(str(backup_dir), **kwargs)
        self.folder = Path(backup_dir)
        self.clock_offset = clock_offset
        self._point_at(runs.latest_checkpoint(self.folder))

    def _point_at(self, folder):
        folder = folder or self.folder / "none"
        self._weights_path = str(folder / runs.CHECKPOINT_WEIGHTS)
        self._training_metadata_path = str(folder / runs.CHECKPOINT_METADATA)

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._point_at(runs.latest_checkpoint(self.folder))
        super().on_train_begin(logs)

    def _save_model(self):
        name = f"epoch-{self._current_epoch:05d}-batch-{self._last_batch_seen:06d}"
        folder = self.folder / name
        shutil.rmtree(folder, ignore_errors=True)  # left by a run killed while writing it
        folder.mkdir(parents=True)
        weights = folder / runs.CHECKPOINT_WEIGHTS
        self.model.save_weights(weights)
        runs.fsync(weights)
        runs.write_json(folder / runs.CHECKPOINT_METADATA, {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "train_seconds": self.clock_offset + time.perf_counter() - self._start,
        })
        runs.write_json(self.folder / runs.CHECKPOINT_POINTER, {"folder": name})
        for old in self.folder.iterdir():
            if old.is_dir() and old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        self._point_at(folder)


class ProgressBar(keras.callbacks.Callback):
    """One ``tqdm`` bar for the whole run: steps out of all epochs, or seconds of a budget.

    Keras's own bar restarts every epoch and cannot show a wall-clock budget.

    Args:
        steps_per_epoch: training steps in one epoch.
        epochs: planned epochs (None with a time budget).
        seconds: the time budget in seconds (None with a number of epochs).
        seconds_done: budget already used by an interrupted run.
        description: text in front of the bar.
    """

    def __init__(self, steps_per_epoch, epochs=None, seconds=None, seconds_done=0.0,
                 description="train"):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.seconds = seconds
        self.seconds_done = seconds_done
        self.description = description
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self._start = time.perf_counter() - self.seconds_done
        if self.seconds is not None:
            self.bar = tqdm(total=round(self.seconds), unit="s", desc=self.description,
                            initial=round(self.seconds_done), dynamic_ncols=True)
        else:
            self.bar = tqdm(total=self.epochs * self.steps_per_epoch, unit="step",
                            desc=self.description, dynamic_ncols=True)

    def on_epoch_begin(self, epoch, logs=None):
        if self.seconds is None:
            self.bar.n = epoch * self.steps_per_epoch  # a resumed run starts further on
            self.bar.refresh()

    def on_train_batch_end(self, batch, logs=None):
        # update() redraws at most every 0.1 s, however fast the steps are.
        if self.seconds is None:
            self.bar.update(1)
        else:
            elapsed = min(round(time.perf_counter() - self._start), self.bar.total)
            self.bar.update(max(0, elapsed - self.bar.n))

    def on_epoch_end(self, epoch, logs=None):
        shown = {key: f"{float(value):.3g}" for key, value in (logs or {}).items()
                 if not key.startswith("val_") and np.ndim(value) == 0}
        self.bar.set_postfix(epoch=epoch + 1, **shown)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


class TextSamples(keras.callbacks.Callback):
    """Write ``samples/epoch_XXX.txt`` after every epoch: text generated from a fixed seed.

    Args:
        out_dir: the folder of the files.
        generate: function of no argument returning the text.
    """

    def __init__(self, out_dir, generate):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.generate = generate

    def on_epoch_end(self, epoch, logs=None):
        self.out_dir.mkdir(parents=True, exist_ok=True)
        text = self.generate()
        runs.write_atomically(self.out_dir / f"epoch_{epoch + 1:03d}.txt",
                              lambda tmp: tmp.write_text(text))


class EpochGrid(SampleGrid):
    """:class:`aigc_tf.callbacks.SampleGrid` that draws the before-training grid
    (``epoch_000.png``) only in a fresh run: a resumed run's weights are not epoch 0's."""

    def __init__(self, *args, fresh=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fresh = fresh

    def on_train_begin(self, logs=None):
        if self.fresh:
            super().on_train_begin(logs)


def make_strategy(name):
    """The ``tf.distribute`` strategy called ``name`` (see :data:`STRATEGIES`).

    ``"mirrored"`` copies the model onto every local GPU, or onto every logical CPU device
    when there is no GPU; ``"multi-worker"`` reads the cluster and this machine's place in it
    from the ``TF_CONFIG`` environment variable. Create it before anything else touches
    TensorFlow (a multi-worker strategy must come first).
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi-worker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


def _check_tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError("--strategy multi-worker reads the cluster from the TF_CONFIG "
                         "environment variable, which is not set (see the README)")
    try:
        cluster = json.loads(raw)
        workers, task = cluster["cluster"]["worker"], cluster["task"]
        if task["type"] != "worker" or not 0 <= int(task["index"]) < len(workers):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            'TF_CONFIG must look like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            f'"task": {{"type": "worker", "index": 0}}}}, got {raw!r}') from None


def _give_scalar_logs_an_axis(model):
    """Work around Keras 3 under ``MultiWorkerMirroredStrategy``.

    ``fit`` averages each step's logs across workers with ``strategy.reduce("MEAN", v,
    axis=0)``, which fails on the scalar losses every model returns ("Invalid reduction
    dimension 0 for input with 0 dimensions", tensorflow/tensorflow#72388). Giving them a
    length-1 axis lets that reduction run; its result is a scalar again.
    """
    import tensorflow as tf

    def with_axis(step):
        def wrapped(data):
            return tf.nest.map_structure(
                lambda value: tf.reshape(value, (1,)) if value.shape.rank == 0 else value,
                step(data))

        return wrapped

    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)


def _shard_by_data(dataset):
    """Let every worker read its share of the examples (the data has no files to split)."""
    import tensorflow as tf

    if dataset is None:
        return None
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def save_grid(path, images, ncols):
    """Tile images in [0, 1] into a PNG at ``path``, written atomically."""
    grid = tile_images(images, ncols=ncols, value_range=recipes.SAMPLE_RANGE)
    grid = grid.repeat(GRID_SCALE, axis=0).repeat(GRID_SCALE, axis=1)
    return runs.write_atomically(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))


def _budget(recipe, settings):
    if settings.epochs is None and settings.minutes is None:
        kind, value = recipe.default_budget()
        return (value, None) if kind == "epochs" else (None, value * 60)
    return settings.epochs, None if settings.minutes is None else settings.minutes * 60


def _callbacks(recipe, model, run, steps_per_epoch, fresh, checkpoint, stage_seconds):
    epochs, seconds = _budget(recipe, run.settings)
    seconds_done = checkpoint["train_seconds"] if checkpoint else stage_seconds
    callbacks = []
    if seconds is not None:
        # as in the notebooks, the GANs and VAEs (no such attributes) keep their rates
        callbacks.append(TimeBudget(
            max(seconds - seconds_done, 1e-3),
            final_lr_fraction=getattr(recipe, "final_lr_fraction", 1.0),
            warmup_fraction=getattr(recipe, "warmup_fraction", 0.0)))
    callbacks.append(ProgressBar(steps_per_epoch, epochs, seconds, seconds_done,
                                 description=run.settings.model))
    if recipe.kind == "image":
        inputs, sample_fn = recipe.epoch_samples(model, run.settings.seed)
        callbacks.append(EpochGrid(inputs, sample_fn=sample_fn, out_dir=run.samples_dir,
                                   value_range=recipes.SAMPLE_RANGE, fresh=fresh))
    else:
        callbacks.append(TextSamples(run.samples_dir,
                                     lambda: recipe.generate(model, run.settings.seed)))
    if importlib.util.find_spec("tensorboard") is not None:
        callbacks.append(keras.callbacks.TensorBoard(str(run.log_dir), write_graph=False))
    else:
        print("no TensorBoard logs: the tensorboard package is not installed")
    callbacks += [
        keras.callbacks.CSVLogger(str(run.history_path), append=True),
        # Last, so that an epoch's samples, logs and history row are written before the
        # checkpoint says the epoch is done.
        AtomicBackupAndRestore(run.backup_dir, clock_offset=seconds_done,
                               delete_checkpoint=False),
    ]
    return callbacks, epochs


def run(recipe, run_folder, strategy, fresh, evaluate=True):
    """Train ``recipe``'s model in ``run_folder``, save it, evaluate it; returns the report.

    Args:
        recipe: an entry of :data:`aigc_tf.recipes.RECIPES`.
        run_folder: the :class:`aigc_tf.runs.RunFolder`; a fresh one is only written once
            the data and the model are ready, so a bad input leaves nothing behind.
        strategy: the ``tf.distribute`` strategy from :func:`make_strategy`.
        fresh: False when resuming an interrupted run.
        evaluate: run the evaluation suite at the end (``aigc-tf eval`` can do it later).

    Returns:
        What ``metrics.json`` holds (``model``, ``training``, ``metrics``) plus the paths
        ``model_file``, ``samples_file`` and ``metrics_file``.
    """
    settings = run_folder.settings
    config.set_seed(settings.seed)
    training_data, stage_seconds = recipe.first_stage(run_folder, recipe.load_data(settings))
    batch_size = settings.batch_size or recipe.default_batch_size()
    with strategy.scope():
        model = recipe.build(settings, training_data)
    if settings.strategy == "multi-worker":
        _give_scalar_logs_an_axis(model)
    train, validation, steps_per_epoch = recipe.datasets(model, training_data, settings,
                                                         batch_size)
    if fresh:
        run_folder.start()
    checkpoint = None if fresh else run_folder.checkpoint()
    if checkpoint:
        run_folder.drop_history_after(checkpoint["epoch"])
    callbacks, epochs = _callbacks(recipe, model, run_folder, steps_per_epoch, fresh,
                                   checkpoint, stage_seconds)
    start = time.perf_counter()
    model.fit(_shard_by_data(train), validation_data=_shard_by_data(validation),
              epochs=epochs or 10_000_000, steps_per_epoch=steps_per_epoch, callbacks=callbacks,
              shuffle=False, verbose=0)  # the datasets shuffle themselves
    fit_seconds = time.perf_counter() - start
    return _finish(recipe, model, run_folder, training_data, fit_seconds, evaluate)


def _finish(recipe, model, run_folder, training_data, fit_seconds, evaluate):
    settings = run_folder.settings
    done = run_folder.checkpoint() or {"epoch": 0, "train_seconds": fit_seconds}
    runs.write_atomically(run_folder.model_path, model.save)
    if recipe.kind == "image":
        samples_path = _final_grid(recipe, model, run_folder)
        metrics = recipe.evaluate(model, settings.seed) if evaluate else None
    else:
        generated = recipe.generate(model, settings.seed, recipe.eval_chars)
        samples_path = runs.write_atomically(run_folder.path / "samples.txt",
                                             lambda tmp: tmp.write_text(generated))
        metrics = (recipe.evaluate(model, settings.seed, training_data, generated)
                   if evaluate else None)
    report = {
        "model": settings.model,
        "training": {"epochs": done["epoch"], "steps": recipes.training_steps(model),
                     "seconds": round(done["train_seconds"], 1),
                     "devices": model.distribute_strategy.num_replicas_in_sync},
        "metrics": metrics,
    }
    runs.write_json(run_folder.metrics_path, report)
    run_folder.finish()
    shutil.rmtree(run_folder.backup_dir, ignore_errors=True)
    return {**report, "model_file": run_folder.model_path, "samples_file": samples_path,
            "metrics_file": run_folder.metrics_path}


def _final_grid(recipe, model, run_folder):
    seed = run_folder.settings.seed
    if recipe.conditional:
        labels = recipe.grid_labels(FINAL_GRID_PER_ROW)
        images = recipe.draw(model, len(labels), seed, labels)
    else:
        images = recipe.draw(model, FINAL_GRID_PER_ROW**2, seed)
    return save_grid(run_folder.path / "samples.png", images, FINAL_GRID_PER_ROW)
