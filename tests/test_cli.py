"""``aigc-tf train / sample / eval`` end to end (fast mode), resume after ``kill -9``, bad input."""

import csv
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from aigc_tf import cli, recipes, runs, training
from aigc_tf.training import AtomicBackupAndRestore

WORDS = ("the king and queen of denmark walk to the castle where a ghost waits in the night "
         "while good friends speak of love and war and the sea").split()


def run_cli(*argv):
    """Run ``aigc-tf`` in this process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


def files_under(folder):
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*"))


def history_epochs(run_dir):
    with open(Path(run_dir) / runs.HISTORY_FILE, newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, size=8)).capitalize() + "." for _ in range(300)]
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dcgan"
    code, stdout, stderr = run_cli("train", "dcgan", "--fast", "--epochs", "1", "--out", out)
    assert code == 0, stderr
    return out, stdout


@pytest.fixture(scope="module")
def char_rnn_run(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("runs") / "char-rnn"
    code, stdout, stderr = run_cli("train", "char-rnn", "--fast", "--epochs", "2", "--text",
                                   corpus, "--out", out)
    assert code == 0, stderr
    return out, stdout


@pytest.fixture(scope="module")
def cgan_file(tmp_path_factory):
    """An untrained conditional GAN saved as a model file (enough for sample's labels)."""
    recipe = recipes.get("cgan")
    model = recipe.build(runs.Settings("cgan"), None)
    path = tmp_path_factory.mktemp("models") / "cgan.keras"
    model.save(path)
    return path


# ----------------------------------------------------------------------------- train


def test_train_image_model_writes_samples_logs_model_and_metrics(dcgan_run):
    out, stdout = dcgan_run
    assert {"samples/epoch_000.png", "samples/epoch_001.png", "samples.png", "model.keras",
            "metrics.json", "history.csv", "run.json"} <= set(files_under(out))
    assert list((out / "logs" / "train").glob("events.out.tfevents.*"))
    assert not [name for name in files_under(out) if ".partial-" in name or "backup" in name]
    assert Image.open(out / "samples.png").size == (2 * (10 * 28 + 9), 2 * (10 * 28 + 9))
    report = json.loads((out / "metrics.json").read_text())
    training = report["training"]
    assert (training["epochs"], training["steps"], training["devices"]) == (1, 512 // 64, 1)
    assert 0 <= report["metrics"]["precision"] <= 1 and report["metrics"]["fd"] > 0
    lines = stdout.strip().splitlines()
    assert lines[-1] == report["metrics"]["summary"]
    assert f"sample grid: {out / 'samples.png'}" in lines
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    model, recipe = cli.load_generator(out / "model.keras")
    assert recipe.name == "dcgan" and model.sample(3, seed=0).shape == (3, 28, 28, 1)


def test_train_text_model_writes_text_samples_and_text_metrics(char_rnn_run):
    out, stdout = char_rnn_run
    names = files_under(out)
    assert {"samples/epoch_001.txt", "samples/epoch_002.txt", "samples.txt"} <= set(names)
    assert list((out / "logs" / "validation").glob("events.out.tfevents.*"))
    assert history_epochs(out) == [0, 1]
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["bits_per_char"] > 0 and "distinct_2" in metrics
    assert stdout.strip().splitlines()[-1] == metrics["summary"]
    assert f"generated text: {out / 'samples.txt'}" in stdout
    assert cli.load_generator(out / "model.keras")[1].name == "char-rnn"


# ----------------------------------------------------------------------------- sample, eval


def test_sample_writes_a_repeatable_grid(dcgan_run, tmp_path):
    model_file = dcgan_run[0] / "model.keras"
    for name in ("a.png", "b.png"):
        code, stdout, _ = run_cli("sample", model_file, "-n", 20, "--seed", 3, "--out",
                                  tmp_path / name)
        assert code == 0 and stdout.strip() == str(tmp_path / name)
    first, second = (np.asarray(Image.open(tmp_path / name)) for name in ("a.png", "b.png"))
    assert first.shape == (2 * (2 * 28 + 1), 2 * (10 * 28 + 9))  # 2 rows of 10, scale 2
    np.testing.assert_array_equal(first, second)


def test_sample_conditional_model_draws_one_row_per_requested_label(cgan_file, tmp_path):
    code, _, stderr = run_cli("sample", cgan_file, "--labels", 3, 7, "-n", 8, "--out",
                              tmp_path / "grid.png")
    assert code == 0, stderr
    assert np.asarray(Image.open(tmp_path / "grid.png")).shape == (2 * (2 * 28 + 1),
                                                                   2 * (4 * 28 + 3))


def test_sample_text_model_continues_the_prompt(char_rnn_run, tmp_path):
    model_file = char_rnn_run[0] / "model.keras"
    code, stdout, _ = run_cli("sample", model_file, "--prompt", "The king", "--length", 40,
                              "--seed", 1, "--top-k", 5, "--temperature", 0.7, "--out",
                              tmp_path / "text.txt")
    assert code == 0 and stdout.startswith("The king") and len(stdout) > len("The king")
    assert (tmp_path / "text.txt").read_text() + "\n" == stdout


def test_eval_prints_the_suite_line_and_writes_its_json(dcgan_run, char_rnn_run, corpus,
                                                         tmp_path):
    code, stdout, _ = run_cli("eval", dcgan_run[0] / "model.keras", "-n", 50, "--out",
                              tmp_path / "image.json")
    saved = json.loads((tmp_path / "image.json").read_text())
    assert code == 0 and saved["metrics"]["num_samples"] == 50
    assert stdout.strip() == saved["metrics"]["summary"]
    code, stdout, _ = run_cli("eval", char_rnn_run[0] / "model.keras", "--text", corpus)
    assert code == 0 and "bits/char" in stdout


# ----------------------------------------------------------------------------- resume


def checkpointed_epochs(run_dir):
    try:
        return (runs.RunFolder(run_dir, None).checkpoint() or {"epoch": 0})["epoch"]
    except ValueError:  # a newer checkpoint replaced the one just named
        return 0


def test_resume_after_kill_9_mid_epoch_loses_no_epoch(tmp_path):
    out, epochs, steps = tmp_path / "run", 3, 512 // 32
    log = open(tmp_path / "stderr.txt", "w")  # noqa: SIM115 (closed below)
    worker = subprocess.Popen(
        [sys.executable, "-m", "aigc_tf.cli", "train", "dcgan", "--fast", "--epochs",
         str(epochs), "--batch-size", "32", "--skip-eval", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and worker.poll() is None:
            if checkpointed_epochs(out) >= 1:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # into the next epoch
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(60) == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()
    finally:
        worker.kill()
        log.close()
    assert 1 <= checkpointed_epochs(out) < epochs
    assert json.loads((out / "run.json").read_text())["status"] == "running"

    code, stdout, stderr = run_cli("train", "dcgan", "--resume", out, "--skip-eval")
    assert code == 0, stderr
    assert history_epochs(out) == list(range(epochs))
    model, _ = cli.load_generator(out / "model.keras")
    for optimizer in (model.g_optimizer, model.d_optimizer):  # both restored, none repeated
        assert int(optimizer.iterations) == epochs * steps
    assert json.loads((out / "metrics.json").read_text())["training"]["epochs"] == epochs


def test_a_kill_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((8, 2), "float32")
    backup = AtomicBackupAndRestore(tmp_path, delete_checkpoint=False)
    model.fit(x, x[:, :1], epochs=2, callbacks=[backup], verbose=0)
    saved = runs.latest_checkpoint(tmp_path)

    def dies_half_way(path, **kwargs):
        Path(path).write_bytes(b"\x89HDF half a file")
        raise KeyboardInterrupt  # stands for the kill

    monkeypatch.setattr(model, "save_weights", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, x[:, :1], epochs=3, callbacks=[backup], verbose=0)
    assert runs.latest_checkpoint(tmp_path) == saved
    monkeypatch.undo()
    history = model.fit(x, x[:, :1], epochs=3, verbose=0,
                        callbacks=[AtomicBackupAndRestore(tmp_path, delete_checkpoint=False)])
    assert history.epoch == [2]  # resumed after the two complete epochs


# ----------------------------------------------------------------------------- bad input


def bad_model_files(folder, good_file):
    truncated = folder / "truncated.keras"
    truncated.write_bytes(Path(good_file).read_bytes()[:2000])
    pickled = folder / "pickled.keras"
    pickled.write_bytes(pickle.dumps({"not": "a model"}))
    foreign = folder / "foreign.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(foreign)
    with_code = folder / "lambda.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2)]).save(with_code)
    return {"missing": (folder / "nope.keras", "does not exist"),
            "truncated": (truncated, "not a readable .keras model file"),
            "pickle": (pickled, "not a readable .keras model file"),
            "foreign": (foreign, "holds a Sequential, not a course generator"),
            "code": (with_code, "not a readable .keras model file")}


def assert_one_line_error(code, stderr, message):
    assert code != 0
    assert stderr.count("\n") == 1 and message in stderr, stderr


@pytest.mark.parametrize("kind", ["missing", "truncated", "pickle", "foreign", "code"])
@pytest.mark.parametrize("command", ["sample", "eval"])
def test_unusable_model_files_fail_with_one_line(dcgan_run, tmp_path, kind, command):
    path, message = bad_model_files(tmp_path, dcgan_run[0] / "model.keras")[kind]
    before = files_under(tmp_path)
    code, _, stderr = run_cli(command, path, "--out", tmp_path / "out.png")
    assert_one_line_error(code, stderr, message)
    assert files_under(tmp_path) == before
    with zipfile.ZipFile(dcgan_run[0] / "model.keras") as archive:  # the good file is a zip
        assert "config.json" in archive.namelist()


def bad_train_inputs(folder, dcgan_dir, corpus):
    (folder / "empty.txt").write_text("  \n")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 text")
    (folder / "a_file").write_text("x")
    (folder / "not_a_run").mkdir()
    return {
        "unknown model": (["dcgna"], "unknown model 'dcgna'; expected one of dcgan"),
        "empty text": (["char-rnn", "--text", folder / "empty.txt"], "is empty"),
        "binary text": (["char-rnn", "--text", folder / "binary.txt"], "looks binary"),
        "missing text": (["char-rnn", "--text", folder / "no.txt"], "does not exist"),
        "text for images": (["dcgan", "--text", corpus], "--text is for the text models"),
        "unwritable out": (["dcgan", "--out", folder / "a_file" / "run"], "is not a folder"),
        "existing run": (["dcgan", "--out", dcgan_dir], "already holds a finished dcgan run"),
        "resume no run": (["dcgan", "--resume", folder / "not_a_run"], "holds no aigc-tf run"),
        "resume other model": (["cgan", "--resume", dcgan_dir], "holds a dcgan run, not cgan"),
        "resume finished": (["dcgan", "--resume", dcgan_dir], "has already finished"),
        "bad epochs": (["dcgan", "--epochs", "0"], "expected a positive number"),
        "no TF_CONFIG": (["dcgan", "--strategy", "multi-worker"], "TF_CONFIG"),
    }


@pytest.mark.parametrize("case", [
    "unknown model", "empty text", "binary text", "missing text", "text for images",
    "unwritable out", "existing run", "resume no run", "resume other model",
    "resume finished", "bad epochs", "no TF_CONFIG"])
def test_bad_train_input_fails_with_one_line_and_writes_nothing(dcgan_run, corpus, tmp_path,
                                                                monkeypatch, case):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # the default --out, runs/MODEL, would land here
    argv, message = bad_train_inputs(tmp_path, dcgan_run[0], corpus)[case]
    before, run_before = files_under(tmp_path), files_under(dcgan_run[0])
    code, _, stderr = run_cli("train", *argv, "--fast")
    assert_one_line_error(code, stderr, message)
    assert files_under(tmp_path) == before and files_under(dcgan_run[0]) == run_before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write to a read-only folder")
def test_read_only_output_folder_is_refused(tmp_path):
    tmp_path.chmod(0o555)
    try:
        code, _, stderr = run_cli("train", "dcgan", "--out", tmp_path / "run")
    finally:
        tmp_path.chmod(0o755)
    assert_one_line_error(code, stderr, "is read-only")


def test_labels_need_a_conditional_model(dcgan_run, tmp_path):
    code, _, stderr = run_cli("sample", dcgan_run[0] / "model.keras", "--labels", 3,
                              "--out", tmp_path / "grid.png")
    assert_one_line_error(code, stderr, "--labels needs a conditional model")
    assert not (tmp_path / "grid.png").exists()


def test_an_unfinished_run_is_resumed_with_its_own_settings(tmp_path):
    run = runs.RunFolder(tmp_path / "run", runs.Settings("dcgan", epochs=3, fast=True)).start()
    code, _, stderr = run_cli("train", "dcgan", "--resume", run.path, "--epochs", 5)
    assert_one_line_error(code, stderr, "--epochs 5 differs from the run's 3")
    code, _, stderr = run_cli("train", "dcgan", "--out", run.path)
    assert_one_line_error(code, stderr, f"continue it with --resume {run.path}")


# ----------------------------------------------------------------------------- latent diffusion


@pytest.fixture(scope="module")
def latent_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "latent-diffusion"
    code, stdout, stderr = run_cli("train", "latent-diffusion", "--fast", "--epochs", "1",
                                   "--out", out)
    assert code == 0, stderr
    return out, stdout


def test_train_latent_diffusion_writes_both_stages_samples_logs_and_metrics(latent_run):
    out, stdout = latent_run
    assert {"autoencoder/encoder.keras", "autoencoder/decoder.keras", "autoencoder/stage.json",
            "samples/epoch_000.png", "samples/epoch_001.png", "samples.png", "model.keras",
            "metrics.json", "history.csv", "run.json"} <= set(files_under(out))
    assert list((out / "logs" / "train").glob("events.out.tfevents.*"))
    assert not [name for name in files_under(out) if ".partial-" in name or "backup" in name]
    report = json.loads((out / "metrics.json").read_text())
    stage = json.loads((out / "autoencoder" / "stage.json").read_text())
    assert (report["training"]["epochs"], report["training"]["steps"]) == (1, 5)
    assert report["training"]["seconds"] >= round(stage["seconds"], 1)  # the budget counts it
    assert stdout.strip().splitlines()[-1] == report["metrics"]["summary"]
    model, recipe = cli.load_generator(out / "model.keras")
    assert recipe.name == "latent-diffusion" and model.num_classes is None
    images = model.sample(3, seed=0, steps=5)
    assert images.shape == (3, 28, 28, 1) and 0 <= images.min() <= images.max() <= 1


def test_sample_and_eval_a_latent_diffusion_model(latent_run, tmp_path):
    model_file = latent_run[0] / "model.keras"
    for name in ("a.png", "b.png"):
        code, _, stderr = run_cli("sample", model_file, "-n", 20, "--seed", 3, "--out",
                                  tmp_path / name)
        assert code == 0, stderr
    first, second = (np.asarray(Image.open(tmp_path / name)) for name in ("a.png", "b.png"))
    assert first.shape == (2 * (2 * 28 + 1), 2 * (10 * 28 + 9))
    np.testing.assert_array_equal(first, second)
    code, stdout, _ = run_cli("eval", model_file, "-n", 50, "--out", tmp_path / "eval.json")
    saved = json.loads((tmp_path / "eval.json").read_text())
    assert code == 0 and saved["model"] == "latent-diffusion"
    assert saved["metrics"]["num_samples"] == 50 and stdout.strip() == saved["metrics"]["summary"]


def test_interrupted_conditional_latent_diffusion_resumes_with_its_autoencoder(tmp_path,
                                                                                monkeypatch):
    out, epochs, steps = tmp_path / "run", 2, 5
    save_checkpoint = training.AtomicBackupAndRestore._save_model

    def save_then_die(self):
        save_checkpoint(self)
        raise KeyboardInterrupt  # stands for a kill after the first epoch's checkpoint

    monkeypatch.setattr(training.AtomicBackupAndRestore, "_save_model", save_then_die)
    code, _, stderr = run_cli("train", "latent-diffusion-cond", "--fast", "--epochs", epochs,
                              "--skip-eval", "--out", out)
    assert code == cli.INTERRUPTED and "--resume" in stderr
    monkeypatch.undo()
    stage_dir = out / "autoencoder"
    saved = {name: (stage_dir / name).read_bytes() for name in ("stage.json", "encoder.keras")}
    decoder = keras.saving.load_model(stage_dir / "decoder.keras")

    code, stdout, stderr = run_cli("train", "latent-diffusion-cond", "--resume", out)
    assert code == 0, stderr
    assert {name: (stage_dir / name).read_bytes() for name in saved} == saved  # not retrained
    assert history_epochs(out) == list(range(epochs))
    model, recipe = cli.load_generator(out / "model.keras")
    assert recipe.name == "latent-diffusion-cond"
    assert int(model.optimizer.iterations) == epochs * steps  # no epoch lost or repeated
    for restored, trained in zip(model.decoder.weights, decoder.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), trained.numpy())
    report = json.loads((out / "metrics.json").read_text())
    stage_seconds = json.loads(saved["stage.json"])["seconds"]
    assert report["training"]["seconds"] >= round(stage_seconds, 1)
    assert "label_accuracy" in report["metrics"] and "labels" in stdout

    code, _, stderr = run_cli("sample", out / "model.keras", "--labels", 3, 7, "-n", 8,
                              "--out", tmp_path / "grid.png")
    assert code == 0, stderr
    assert np.asarray(Image.open(tmp_path / "grid.png")).shape == (2 * (2 * 28 + 1),
                                                                   2 * (4 * 28 + 3))
