import random

import numpy as np
import pytest
import tensorflow as tf

from aigc_tf import config


def test_pick_follows_fast_switch(monkeypatch):
    monkeypatch.setenv(config.FAST_ENV, "1")
    assert config.is_fast()
    assert config.pick(full=30, fast=1) == 1
    monkeypatch.setenv(config.FAST_ENV, "0")
    assert not config.is_fast()
    assert config.pick(full=30, fast=1) == 30
    monkeypatch.delenv(config.FAST_ENV)
    assert config.pick(full=30, fast=1) == 30


def test_test_suite_runs_fast_and_offline():
    assert config.is_fast() and config.is_offline()


def test_set_seed_repeats_python_numpy_and_tf():
    def draw():
        return random.random(), np.random.rand(), float(tf.random.uniform(()))

    config.set_seed(123)
    first = draw()
    config.set_seed(123)
    assert draw() == first
    config.set_seed(124)
    assert draw() != first


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_set_seed_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        config.set_seed(bad)


def test_data_dir_override(monkeypatch, tmp_path):
    target = tmp_path / "cache" / "here"
    monkeypatch.setenv(config.DATA_DIR_ENV, str(target))
    assert config.data_dir() == target
    assert target.is_dir()
