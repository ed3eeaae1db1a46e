import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from aigc_tf.models import store


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGC_TF_DATA_DIR", str(tmp_path))
    return tmp_path


def small_model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def test_saved_model_and_cost_load_back(data_dir):
    model = small_model()
    path = store.save_trained(model, "tiny", train_seconds=12.5, steps=40)
    assert path.parent == data_dir / "models" and path.name == "tiny_fast.keras"  # fast mode
    loaded, info = store.load_trained("tiny")
    assert info == {"train_seconds": 12.5, "steps": 40}
    x = np.ones((4, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not list((data_dir / "models").glob("partial-*"))


def test_missing_model_loads_as_none(data_dir):
    assert store.load_trained("never_saved") == (None, None)


def test_failed_save_keeps_the_previous_model(data_dir, monkeypatch):
    store.save_trained(small_model(), "kept", train_seconds=1)
    before = (data_dir / "models" / "kept_fast.json").read_text()

    def broken_save(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        store.save_trained(small_model(), "kept", train_seconds=99)
    assert (data_dir / "models" / "kept_fast.json").read_text() == before
    assert json.loads(before)["train_seconds"] == 1
    assert not list((data_dir / "models").glob("partial-*"))


@pytest.mark.parametrize("name", ["", "../escape", "model.keras"])
def test_bad_names_are_rejected(name):
    with pytest.raises(ValueError, match="plain model name"):
        store.trained_model_path(name)


def test_negative_training_time_is_rejected(data_dir):
    with pytest.raises(ValueError, match="non-negative"):
        store.save_trained(small_model(), "tiny", train_seconds=-1)


def test_course_models_load_in_a_fresh_process(data_dir):
    script = (
        "from aigc_tf.models.gan import GAN, build_mlp_discriminator, build_mlp_generator\n"
        "from aigc_tf.models.store import save_trained\n"
        "gan = GAN(build_mlp_generator(2, 2, (4,)), build_mlp_discriminator(2, (4,)))\n"
        "save_trained(gan, 'gan', 1)\n"
    )
    env = {**os.environ, "AIGC_TF_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    loaded = subprocess.run(
        [sys.executable, "-c", "from aigc_tf.models.store import load_trained\n"
                               "print(type(load_trained('gan')[0]).__name__)"],
        check=True, env=env, capture_output=True, text=True)
    assert loaded.stdout.strip().endswith("GAN")
