"""``aigc-tf train --strategy mirrored / multi-worker`` on CPU devices of this machine.

Each test runs in fresh processes: logical devices and a multi-worker cluster must be set up
before TensorFlow starts.
"""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from aigc_tf import cli

EPOCHS = 3
# Largest allowed gap between the per-epoch losses on two devices and on one. Two logical
# devices split each batch of 64 in halves of 32, so BatchNorm sees other batch statistics
# and the noise is drawn per half: the curves are close, not equal (measured gap <= 0.011
# over 3 epochs; losses are between 0.6 and 1.3).
LOSS_TOLERANCE = 0.05
# Largest gap between the two workers' BatchNorm moving statistics after one epoch (fast DCGAN).
MOVING_STATS_TOLERANCE = 0.02  # measured 0.006
TIMEOUT = 600  # seconds; a busy 2-core machine needs most of it to start TensorFlow twice
# Largest gap between latent diffusion's EMA weights after a step on two logical devices and
# the EMA formula applied to the trained weights: measured 0.0 (each replica updates its copy
# from the same all-reduced weights); a decay one step off would give 7e-4.
EMA_TOLERANCE = 1e-6
# Split this machine's CPU into two logical devices; must run before anything touches TensorFlow.
TWO_LOGICAL_CPUS = textwrap.dedent("""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
""")


def read_history(run_dir):
    with open(run_dir / "history.csv", newline="") as handle:
        return [{key: float(value) for key, value in row.items() if value != "NA"}
                for row in csv.DictReader(handle)]


def devices(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())["training"]["devices"]


def run_on_two_cpus(script, *args):
    """Run ``script`` with ``args`` in a fresh Python whose CPU is two logical devices.

    The script runs after :data:`TWO_LOGICAL_CPUS`, so ``tf`` is imported already.

    Returns:
        What the script printed; a failed script fails the test with its stderr's end.
    """
    done = subprocess.run(
        [sys.executable, "-c", TWO_LOGICAL_CPUS + textwrap.dedent(script), *map(str, args)],
        capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_two_logical_cpus_give_the_one_device_loss_curve(tmp_path):
    two, one = tmp_path / "two_devices", tmp_path / "one_device"
    run_on_two_cpus(f"""
        import sys
        from aigc_tf.cli import main

        for out, extra in ((sys.argv[1], ["--strategy", "mirrored"]), (sys.argv[2], [])):
            args = ["train", "dcgan", "--fast", "--epochs", "{EPOCHS}", "--skip-eval",
                    "--out", out]
            assert main(args + extra) == 0
    """, two, one)
    assert (devices(two), devices(one)) == (2, 1)
    curves = read_history(two), read_history(one)
    assert [len(curve) for curve in curves] == [EPOCHS, EPOCHS]
    for key in ("d_loss", "g_loss"):
        gap = max(abs(a[key] - b[key]) for a, b in zip(*curves, strict=True))
        assert gap <= LOSS_TOLERANCE, (key, curves)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_workers_on_localhost_end_with_identical_weights(tmp_path):
    workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    processes, logs = [], [tmp_path / f"w{index}.log" for index in range(2)]
    for index, log in enumerate(logs):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        with open(log, "w") as stderr:  # a file: a full pipe would stall the other worker
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "aigc_tf.cli", "train", "dcgan", "--fast", "--epochs",
                 "1", "--strategy", "multi-worker", "--skip-eval", "--out",
                 str(tmp_path / f"w{index}")],
                env=env, stdout=subprocess.DEVNULL, stderr=stderr))
    try:
        codes = [process.wait(timeout=TIMEOUT) for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
    models = [cli.load_generator(tmp_path / f"w{index}" / "model.keras")[0]
              for index in range(2)]
    assert devices(tmp_path / "w0") == 2
    assert int(models[0].g_optimizer.iterations) == 512 // 64  # each step used both workers
    # Gradients are all-reduced, so every trainable weight is the same on both workers. The
    # BatchNorm moving statistics are not: each worker averages its own half-batches, drawn
    # with its own noise, so they are two estimates of the same statistics.
    trainable = [[w.numpy() for w in model.trainable_weights] for model in models]
    for first, second in zip(*trainable, strict=True):
        np.testing.assert_array_equal(first, second)
    moving = [[w.numpy() for w in model.non_trainable_weights if "moving" in w.path]
              for model in models]
    assert moving[0], "the DCGAN generator has BatchNorm moving statistics"
    for first, second in zip(*moving, strict=True):
        np.testing.assert_allclose(first, second, atol=MOVING_STATS_TOLERANCE)


@pytest.mark.parametrize("raw", ["not json", '{"cluster": {}}',
                                 '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", '
                                 '"index": 3}}'])
def test_malformed_tf_config_is_one_clear_error(tmp_path, monkeypatch, raw):
    monkeypatch.setenv("TF_CONFIG", raw)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["train", "dcgan", "--fast", "--strategy", "multi-worker"])
    assert code != 0 and not list(tmp_path.iterdir())


def test_hand_written_steps_scale_the_loss_and_draw_new_noise_per_replica():
    """One SGD step of a VAE on two logical CPUs moves the weights as one device does (each
    replica's loss divided by 2: without it the step would be twice as long), and the two
    replicas draw different noise (a mirrored SeedGenerator alone gives both the same)."""
    stdout = run_on_two_cpus("""
        import numpy as np
        import keras
        from aigc_tf.models.replicas import replica_normal
        from aigc_tf.models.vae import VAE, build_mlp_decoder, build_mlp_encoder

        images = np.random.default_rng(0).uniform(size=(64, 28, 28, 1)).astype("float32")

        def step(strategy):
            with strategy.scope():
                keras.utils.set_random_seed(0)
                vae = VAE(build_mlp_encoder(2, (32,)), build_mlp_decoder(2, (32,)), seed=0)
                vae.compile(optimizer=keras.optimizers.SGD(1e-3))
                before = [w.numpy().copy() for w in vae.trainable_weights]
                vae.fit(images, batch_size=64, epochs=1, verbose=0, shuffle=False)
            return np.concatenate([(w.numpy() - b).ravel()
                                   for w, b in zip(vae.trainable_weights, before)])

        mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        two, one = step(mirrored), step(tf.distribute.get_strategy())
        print("gap", np.linalg.norm(two - one) / np.linalg.norm(one))
        generator = keras.random.SeedGenerator(5)
        noise = mirrored.run(lambda: replica_normal((4,), generator))
        first, second = (t.numpy() for t in mirrored.experimental_local_results(noise))
        print("same_noise", bool(np.allclose(first, second)))
    """)
    lines = dict(line.split() for line in stdout.splitlines() if line[:4] in ("gap ", "same"))
    assert float(lines["gap"]) < 0.3, stdout  # unscaled: about 1 (a step twice as long)
    assert lines["same_noise"] == "False"


def test_latent_diffusion_keeps_one_ema_on_both_replicas_and_samples():
    """Diffusion's train step updates the EMA copy in replica context: each replica updates
    its own copy from the same all-reduced weights, so the copies stay equal and follow
    ``decay * average + (1 - decay) * weight`` with ``decay = min(ema_decay, (1 + n) / (10 + n))``
    after step n."""
    result = json.loads(run_on_two_cpus("""
        import json
        import keras
        import numpy as np
        from aigc_tf.models.diffusion_networks import build_autoencoder
        from aigc_tf.models.latent_diffusion import build_latent_diffusion

        codes = np.random.default_rng(0).normal(size=(96, 4)).astype("float32")
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            keras.utils.set_random_seed(0)
            _, decoder, _ = build_autoencoder(latent_dim=4, hidden_units=(16,))
            model = build_latent_diffusion(decoder, codes, width=16, depth=1, timesteps=50,
                                           ema_decay=0.9, seed=0)
            model.compile(optimizer=keras.optimizers.Adam(1e-2))
            model.fit(codes, batch_size=32, epochs=1, verbose=0, shuffle=False)  # 3 steps
            before = [w.numpy() for w in model.ema_network.weights]
            model.fit(codes[:32], batch_size=32, epochs=1, verbose=0)  # one more
        step = int(model.optimizer.iterations.numpy())
        decay = min(0.9, (1 + step) / (10 + step))
        replica_gap = max(
            float(np.abs(first - second).max()) for first, second in (
                [t.numpy() for t in strategy.experimental_local_results(v.value)]
                for v in model.ema_network.weights))
        formula_gap = max(
            float(np.abs(average.numpy() - (decay * old + (1 - decay) * weight.numpy())).max())
            for average, old, weight in zip(model.ema_network.weights, before,
                                            model.network.weights, strict=True))
        ema_moved = max(float(np.abs(average.numpy() - old).max())
                        for average, old in zip(model.ema_network.weights, before))
        images = model.sample(4, seed=0, steps=5)
        print(json.dumps({"step": step, "replica_gap": replica_gap, "formula_gap": formula_gap,
                          "ema_moved": ema_moved, "shape": images.shape,
                          "range": [float(images.min()), float(images.max())]}))
    """).splitlines()[-1])
    assert result["step"] == 4
    assert result["replica_gap"] == 0.0
    assert result["ema_moved"] > 100 * EMA_TOLERANCE  # the step moved the average
    assert result["formula_gap"] <= EMA_TOLERANCE, result
    low, high = result["range"]
    assert result["shape"] == [4, 28, 28, 1] and 0 <= low <= high <= 1


def test_cli_trains_latent_diffusion_on_two_logical_cpus(tmp_path):
    run_on_two_cpus("""
        import sys
        from aigc_tf.cli import main

        assert main(["train", "latent-diffusion", "--fast", "--epochs", "1", "--skip-eval",
                     "--strategy", "mirrored", "--out", sys.argv[1]]) == 0
    """, tmp_path / "run")
    run_dir = tmp_path / "run"
    report = json.loads((run_dir / "metrics.json").read_text())
    assert (report["training"]["devices"], report["training"]["steps"]) == (2, 5)
    assert (run_dir / "samples.png").is_file() and read_history(run_dir)[0]["loss"] > 0
    model, recipe = cli.load_generator(run_dir / "model.keras")
    assert recipe.name == "latent-diffusion"
    images = model.sample(3, seed=0, steps=5)
    assert images.shape == (3, 28, 28, 1) and 0 <= images.min() <= images.max() <= 1
