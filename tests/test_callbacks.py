"""TimeBudget's learning-rate shaping across fit calls, schedules and GANs; sampler inputs."""

import keras
import numpy as np
import pytest

from aigc_tf.callbacks import SampleSnapshots, TimeBudget
from aigc_tf.data import make_ring
from aigc_tf.models.gan import GAN, build_mlp_discriminator, build_mlp_generator

X = np.zeros((64, 1), "float32")


class LearningRates(keras.callbacks.Callback):
    """Records each optimizer's learning rate after every batch (after TimeBudget sets it)."""

    def __init__(self, names):
        super().__init__()
        self.names = names
        self.rates = {name: [] for name in names}

    def on_train_batch_end(self, batch, logs=None):
        for name in self.names:
            rate = getattr(self.model, name).learning_rate
            self.rates[name].append(float(keras.ops.convert_to_numpy(rate)))


def _regression(optimizer):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _fit_on_budget(model, budget, x=X, y=X, names=("optimizer",)):
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # trace the train step off the clock
    rates = LearningRates(names)
    model.fit(x, y, batch_size=16, epochs=10_000, callbacks=[budget, rates], verbose=0)
    return rates.rates


def test_successive_fits_start_from_the_same_base_rate():
    model = _regression(keras.optimizers.SGD(0.01))
    budget = TimeBudget(0.3, final_lr_fraction=0.1)
    for callback in (budget, budget, TimeBudget(0.3, final_lr_fraction=0.1)):
        rates = _fit_on_budget(model, callback)["optimizer"]
        assert rates[-1] == pytest.approx(0.001, rel=1e-5)  # 0.1 x the base, not compounded
        assert max(rates) <= 0.01 * (1 + 1e-6)
        assert float(model.optimizer.learning_rate) == pytest.approx(0.01)  # base put back


def test_a_learning_rate_schedule_is_left_alone():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=1, decay_rate=0.5)
    model = _regression(keras.optimizers.SGD(schedule))
    with pytest.warns(UserWarning, match="follows its own schedule"):
        rates = _fit_on_budget(model, TimeBudget(0.3, final_lr_fraction=0.1))["optimizer"]
    assert len(rates) > 3
    # The schedule's own values: halved at every step, from 0.01 / 2^steps.
    np.testing.assert_allclose(np.array(rates[1:]) / np.array(rates[:-1]), 0.5, rtol=1e-4)
    steps = int(model.optimizer.iterations)
    assert rates[-1] == pytest.approx(0.01 * 0.5**steps, rel=1e-4)


def test_a_gan_shapes_its_two_optimizers():
    points, _ = make_ring(256)
    gan = GAN(build_mlp_generator(), build_mlp_discriminator(), seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(4e-4))
    unused = float(gan.optimizer.learning_rate)
    budget = TimeBudget(0.5, final_lr_fraction=0.5)
    rates = _fit_on_budget(gan, budget, points, None, ("d_optimizer", "g_optimizer"))
    factors = {name: np.array(rates[name]) / base
               for name, base in (("d_optimizer", 1e-3), ("g_optimizer", 4e-4))}
    np.testing.assert_allclose(factors["d_optimizer"], factors["g_optimizer"], rtol=1e-5)
    assert factors["d_optimizer"][-1] == pytest.approx(0.5, rel=1e-5)  # decayed to half
    assert factors["d_optimizer"][0] > 0.6  # from near the base
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-3)  # put back
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(4e-4)
    assert float(gan.optimizer.learning_rate) == unused  # the default optimizer: untouched


def test_sampler_inputs_may_be_keyword_arguments():
    calls = []

    def sample_fn(labels, seed):
        calls.append((list(labels), seed))
        return np.zeros((len(labels), 2))

    snapshots = SampleSnapshots({"labels": [1, 2], "seed": 7}, sample_fn=sample_fn)
    snapshots.on_train_begin()
    assert calls == [([1, 2], 7)] and snapshots.samples[0].shape == (2, 2)
