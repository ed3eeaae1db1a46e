"""Diffusion models: schedules, q_sample, training, DDPM/DDIM sampling, guidance, saving."""

import keras
import numpy as np
import pytest
from keras import ops

from aigc_tf.models.diffusion import Diffusion, build_pixel_diffusion
from aigc_tf.models.diffusion_networks import build_autoencoder, build_mlp_denoiser
from aigc_tf.models.diffusion_schedules import NoiseSchedule, continuous_alpha_bar
from aigc_tf.models.latent_diffusion import build_latent_diffusion, train_latent_diffusion


# -- schedules ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("timesteps", [10, 1000])
def test_schedules_are_monotone_with_alpha_bar_in_the_open_unit_interval(kind, timesteps):
    schedule = NoiseSchedule(kind, timesteps)
    abar = schedule.alpha_bars
    assert np.all((abar > 0) & (abar < 1))
    assert np.all(np.diff(abar) < 0) and np.all(np.diff(schedule.log_snr) < 0)
    assert abar[-1] < 0.01  # the last step is (almost) pure noise
    np.testing.assert_allclose(schedule.signal_rates**2 + schedule.noise_rates**2, 1.0)
    assert np.all(schedule.posterior_variance >= 0)
    assert np.all(schedule.posterior_variance <= schedule.betas)


def test_discrete_cosine_schedule_follows_its_continuous_curve():
    schedule = NoiseSchedule("cosine", 1000)
    u = np.arange(1, 1000) / 1000  # abar_t is the curve at the end of step t
    np.testing.assert_allclose(schedule.alpha_bars[:-1], continuous_alpha_bar(u), rtol=1e-6)


def test_q_sample_matches_the_closed_form_mean_and_variance():
    schedule = NoiseSchedule("linear", 1000)
    rng = np.random.default_rng(0)
    x0 = np.full((20_000, 1), 2.0)
    for t in (0, 300, 999):
        xt = ops.convert_to_numpy(schedule.q_sample(x0, np.full(20_000, t),
                                                    rng.standard_normal(x0.shape)))
        abar = schedule.alpha_bars[t]
        assert xt.mean() == pytest.approx(2.0 * np.sqrt(abar), abs=0.03)
        assert xt.var() == pytest.approx(1.0 - abar, abs=0.03 * (1 - abar) + 1e-6)


def test_iterating_one_step_noising_matches_the_closed_form():
    schedule = NoiseSchedule("cosine", 50)
    rng = np.random.default_rng(1)
    x = np.full(50_000, 1.0)
    for beta in schedule.betas[:30]:
        x = np.sqrt(1 - beta) * x + np.sqrt(beta) * rng.standard_normal(x.shape)
    abar = schedule.alpha_bars[29]
    assert x.mean() == pytest.approx(np.sqrt(abar), abs=0.01)
    assert x.var() == pytest.approx(1 - abar, abs=0.01)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_split_prediction_inverts_the_targets(prediction):
    schedule = NoiseSchedule("cosine", 100)
    rng = np.random.default_rng(2)
    x0, eps, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), np.array([0, 10, 50, 99])
    xt = schedule.q_sample(x0, t, eps)
    a, s = schedule.signal_rates[t][:, None], schedule.noise_rates[t][:, None]
    output = eps if prediction == "eps" else a * eps - s * x0
    x0_hat, eps_hat = schedule.split_prediction(xt, ops.convert_to_tensor(t), ops.convert_to_tensor(
        output, "float32"), prediction)
    np.testing.assert_allclose(ops.convert_to_numpy(eps_hat), eps, atol=2e-3)
    np.testing.assert_allclose(ops.convert_to_numpy(x0_hat)[:3], x0[:3], atol=2e-3)


# -- a toy problem with a known optimal denoiser ---------------------------------------------
class OptimalGaussianDenoiser(keras.layers.Layer):
    """``E[eps | x_t]`` for data ``N(mean, std^2)``: ``s (x_t - a m) / (a^2 std^2 + s^2)``."""

    def __init__(self, mean, std, timesteps, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std, self.timesteps = mean, std, timesteps
        self.schedule = NoiseSchedule("linear", timesteps)

    def call(self, inputs):
        x, t = inputs
        t = ops.cast(t, "int32")
        a = self.schedule.at(self.schedule.signal_rates, t, 2)
        s = self.schedule.at(self.schedule.noise_rates, t, 2)
        return s * (x - a * self.mean) / (a**2 * self.std**2 + s**2)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std,
                "timesteps": self.timesteps}


def _gaussian_model(mean=1.5, std=0.5, timesteps=100):
    x, t = keras.Input((1,)), keras.Input(())
    network = keras.Model([x, t], OptimalGaussianDenoiser(mean, std, timesteps)([x, t]))
    return Diffusion(network, schedule="linear", timesteps=timesteps)


def _toy_samples(model, **kwargs):
    return model.sample_data(4000, batch_size=4000, verbose=False, **kwargs)


def test_ancestral_sampling_recovers_the_data_distribution_and_equals_ddim_with_eta_one():
    model = _gaussian_model()
    ancestral = _toy_samples(model, seed=0, method="ddpm")
    ddim = _toy_samples(model, seed=0, method="ddim", steps=100, eta=1.0)
    for samples in (ancestral, ddim):
        assert samples.mean() == pytest.approx(1.5, abs=0.03)
        assert samples.std() == pytest.approx(0.5, abs=0.05)  # 0.467: T = 100 steps are coarse
    # the same noise stream: ancestral sampling *is* DDIM with eta = 1 over every step
    np.testing.assert_allclose(ancestral, ddim, atol=1e-3)
    other_seed = _toy_samples(model, seed=1, method="ddpm")
    assert other_seed.std() == pytest.approx(ancestral.std(), abs=0.02)


def test_ddim_with_eta_zero_is_deterministic_and_still_correct():
    model = _gaussian_model()
    noise = np.random.default_rng(3).standard_normal((4000, 1)).astype("float32")
    first = _toy_samples(model, seed=1, steps=50, noise=noise)
    second = _toy_samples(model, seed=2, steps=50, noise=noise)
    np.testing.assert_array_equal(first, second)
    assert first.mean() == pytest.approx(1.5, abs=0.03)
    # coarse deterministic steps with the optimal denoiser shrink the spread a little (0.47)
    assert first.std() == pytest.approx(0.5, abs=0.05)
    stochastic = _toy_samples(model, seed=2, steps=50, eta=1.0, noise=noise)
    assert not np.allclose(first, stochastic)


def test_the_models_sampling_eta_is_the_default_and_an_explicit_eta_overrides_it(tmp_path):
    model = _gaussian_model()
    stochastic = Diffusion(model.network, schedule="linear", timesteps=100, sampling_eta=1.0)
    np.testing.assert_array_equal(_toy_samples(stochastic, seed=4, steps=20),
                                  _toy_samples(model, seed=4, steps=20, eta=1.0))
    mlp = _mlp_model(sampling_eta=0.5)
    mlp.save(tmp_path / "eta.keras")
    assert keras.models.load_model(tmp_path / "eta.keras").sampling_eta == 0.5
    np.testing.assert_array_equal(_toy_samples(stochastic, seed=4, steps=20, eta=0.0),
                                  _toy_samples(model, seed=4, steps=20))
    with pytest.raises(ValueError, match=r"eta must be in \[0, 1\], got -0.5"):
        Diffusion(model.network, sampling_eta=-0.5)


# -- training ---------------------------------------------------------------------------------
def _points(count=512, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0], [-2.0, 0.0]])
    labels = np.arange(count) % 2
    return (centres[labels] + 0.1 * rng.normal(size=(count, 2))).astype("float32"), labels


def _mlp_model(num_classes=None, **kwargs):
    keras.utils.set_random_seed(0)
    network = build_mlp_denoiser(data_dim=2, width=32, depth=1, num_classes=num_classes)
    model = Diffusion(network, timesteps=50, num_classes=num_classes, seed=0, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    return model


@pytest.fixture(scope="module")
def conditional_points():
    """Two labelled clusters at x = +2 (label 0) and x = -2 (label 1), and a model of them.

    v-prediction: with noise prediction and no clipping, an undertrained network's error is
    divided by sqrt(abar_T) ~ 1e-4 at the first reverse step and the samples explode.
    """
    points, labels = _points(1024)
    model = _mlp_model(num_classes=2, prediction="v")
    history = model.fit(points, labels, batch_size=128, epochs=12, verbose=0)
    return model, history.history["loss"]


def test_loss_decreases_on_tiny_data(conditional_points):
    model, losses = conditional_points
    assert losses[-1] < 0.7 * losses[0]
    points, labels = _points(256, seed=1)
    held_out = model.evaluate(points, labels, verbose=0)  # with the EMA weights
    assert np.isfinite(held_out) and held_out < losses[0]


def test_noise_prediction_loss_with_min_snr_weighting_decreases():
    points, _ = _points(256)
    model = _mlp_model(min_snr_gamma=5.0)
    losses = model.fit(points, batch_size=64, epochs=6, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    assert [m.name for m in model.metrics] == ["loss"]
    weights = ops.convert_to_numpy(model._loss_weights)
    np.testing.assert_allclose(weights, np.minimum(model.schedule.snr, 5.0) / model.schedule.snr,
                               rtol=1e-6)


def test_ema_warm_up_follows_the_formula():
    model = _mlp_model(ema_decay=0.99)
    model.optimizer.build(model.network.trainable_weights)
    start = [w.copy() for w in model.ema_network.get_weights()]
    trained = [w + 1.0 for w in start]
    model.network.set_weights(trained)
    for iterations, decay in ((0, 0.1), (1, 2 / 11), (10_000, 0.99)):
        model.ema_network.set_weights(start)
        model.optimizer.iterations.assign(iterations)
        model._update_ema()  # decay = min(0.99, (1 + n) / (10 + n))
        for begin, end, average in zip(start, trained, model.ema_network.get_weights(),
                                       strict=True):
            np.testing.assert_allclose(average, decay * begin + (1 - decay) * end, atol=1e-5)


def test_guidance_weight_zero_is_the_conditional_model_and_follows_the_formula(
        conditional_points):
    model, _ = conditional_points
    labels = np.array([0, 1, 1, 0])
    conditional = model.generate(labels, seed=0, guidance=0.0, steps=10)
    barely_guided = model.generate(labels, seed=0, guidance=1e-9, steps=10)  # the guided path
    np.testing.assert_allclose(conditional, barely_guided, rtol=1e-4, atol=1e-4)
    assert not np.allclose(conditional, model.generate(labels, seed=0, guidance=2.0, steps=10))
    x, t = np.ones((4, 2), "float32"), ops.convert_to_tensor(7)
    guided = model._guided_output(model.ema_network, x, t,
                                  ops.convert_to_tensor(labels, "int32"), 2.0)
    steps = np.full(4, 7.0, "float32")
    with_label = model.ema_network([x, steps, labels])
    without = model.ema_network([x, steps, np.full(4, 2)])  # the null class
    np.testing.assert_allclose(ops.convert_to_numpy(guided),
                               ops.convert_to_numpy(3.0 * with_label - 2.0 * without), atol=1e-5)


def test_conditional_model_learns_its_labels(conditional_points):
    model, _ = conditional_points
    samples = model.generate(np.repeat([0, 1], 50), seed=0, guidance=1.0, steps=20)
    assert np.mean(samples[:50, 0] > 0) > 0.9 and np.mean(samples[50:, 0] < 0) > 0.9
    assert np.abs(samples[:, 0]).max() < 8  # guidance pushes outwards a little; no blow-up


def test_a_conditional_model_without_labels_samples_the_null_class(conditional_points):
    model, _ = conditional_points
    unconditional = model.sample_data(200, seed=0, steps=20)  # both clusters, as in the data
    assert 0.25 < np.mean(unconditional[:, 0] > 0) < 0.75
    assert np.median(np.abs(unconditional[:, 0])) > 1  # pulled towards the clusters at +-2
    with pytest.raises(ValueError, match="guidance needs labels"):
        model.sample_data(4, guidance=1.0)


# -- sampling API -----------------------------------------------------------------------------
def test_pixel_samples_have_the_image_shape_and_range_and_repeat_with_a_seed():
    model = build_pixel_diffusion(widths=(8, 16), timesteps=20)
    layer = model.ema_network.get_layer("prediction")  # make the untrained output non-zero
    layer.kernel.assign(np.random.default_rng(0).normal(size=layer.kernel.shape))
    images = model.sample(3, seed=0, steps=4)
    assert images.shape == (3, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(images, model.sample(3, seed=0, steps=4))
    assert not np.allclose(images, model.sample(3, seed=1, steps=4))


def test_return_path_runs_from_noise_to_the_samples():
    model = _mlp_model()
    samples, path = model.sample_data(5, seed=0, steps=7, return_path=True)
    assert path.shape == (8, 5, 2)
    np.testing.assert_allclose(path[-1], samples, atol=1e-6)


@pytest.fixture(scope="module")
def latent_model():
    """A tiny trained conditional latent model: autoencoder, codes, MLP denoiser."""
    from aigc_tf import data

    images, labels = data.load_mnist("test")
    model, _, info = train_latent_diffusion(images[:512], labels[:512], seconds=2.0,
                                            latent_dim=4, autoencoder_units=(32,), width=32,
                                            depth=1, timesteps=100)
    return model, info


def test_latent_diffusion_decodes_to_images(latent_model):
    model, info = latent_model
    assert info["diffusion_steps"] >= 1 and info["autoencoder_steps"] >= 1
    assert len(info["diffusion_losses"]) >= 1 and np.isfinite(info["autoencoder_losses"]).all()
    assert model.data_shape == (4,) and model.num_classes == 10
    images = model.generate([3, 1, 4], seed=5, steps=10)
    assert images.shape == (3, 28, 28, 1) and images.min() >= 0 and images.max() <= 1
    assert model.sample(12, seed=0, steps=5).shape == (12, 28, 28, 1)


def test_keras_round_trip_reproduces_samples(latent_model, tmp_path):
    model, _ = latent_model
    path = tmp_path / "latent.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for use_ema in (True, False):
        np.testing.assert_array_equal(
            loaded.generate([0, 7, 9], seed=3, steps=10, use_ema=use_ema),
            model.generate([0, 7, 9], seed=3, steps=10, use_ema=use_ema))
    assert loaded.ema_decay == model.ema_decay
    assert loaded.sampling_eta == model.sampling_eta
    assert loaded.schedule.get_config() == model.schedule.get_config()


def test_a_custom_schedule_survives_saving(tmp_path):
    schedule = NoiseSchedule("linear", 30, beta_start=1e-3, beta_end=0.05)
    model = Diffusion(build_mlp_denoiser(2, 8, 1), schedule=schedule)
    model.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras")
    np.testing.assert_array_equal(loaded.schedule.betas, schedule.betas)


def test_build_latent_diffusion_standardises_the_codes():
    _, decoder, _ = build_autoencoder(latent_dim=3, hidden_units=(8,))
    codes = np.random.default_rng(0).normal(loc=5.0, scale=[1.0, 2.0, 4.0], size=(500, 3))
    model = build_latent_diffusion(decoder, codes, width=16, depth=1, timesteps=10)
    standard = ops.convert_to_numpy(model.standardise(codes))
    np.testing.assert_allclose(standard.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(standard.std(axis=0), 1.0, atol=1e-5)


# -- clear errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("t", [np.array([0, 10]), np.array([-1, 0]), np.array([0.5, 1.0])])
def test_q_sample_rejects_steps_out_of_range(t):
    schedule = NoiseSchedule("linear", 10)
    with pytest.raises(ValueError, match=r"t must be integers in \[0, 10\)"):
        schedule.q_sample(np.zeros((2, 3)), t, np.zeros((2, 3)))


def test_unknown_schedule_name_is_rejected():
    with pytest.raises(ValueError, match="unknown noise schedule 'quadratic'"):
        NoiseSchedule("quadratic")
    with pytest.raises(ValueError, match="unknown noise schedule"):
        Diffusion(build_mlp_denoiser(2, 8, 1), schedule="sigmoid")


def test_bad_image_shapes_are_rejected():
    model = build_pixel_diffusion(widths=(8, 16), timesteps=10)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"training data must have shape \(N, 28, 28, 1\)"):
        model.fit(np.zeros((4, 28, 28)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"noise must have shape \(N, 28, 28, 1\)"):
        model.sample_data(3, noise=np.zeros((3, 28, 28)))


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 51}, r"steps=51 is more sampling steps than the schedule has \(T=50\)"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"steps": [10, 20]}, "strictly decreasing"),
    ({"method": "ddpm", "steps": 10}, "ancestral sampling runs all T=50 steps"),
    ({"method": "euler"}, "unknown method 'euler'"),
    ({"eta": 1.5}, r"eta must be in \[0, 1\]"),
    ({"guidance": 1.0}, "guidance needs a conditional model"),
])
def test_bad_sampling_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _mlp_model().sample_data(2, **kwargs)


def test_bad_conditional_arguments_are_rejected():
    model = _mlp_model(num_classes=2)
    with pytest.raises(ValueError, match="guidance weight must be >= 0, got -1"):
        model.generate([0, 1], guidance=-1.0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        model.generate([0, 2])
    with pytest.raises(ValueError, match=r"needs \(data, labels\) pairs"):
        model.fit(np.zeros((4, 2)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"the network must take \[x_t, t, label\]"):
        Diffusion(build_mlp_denoiser(2, 8, 1), num_classes=2)


def test_bad_model_options_are_rejected():
    network = build_mlp_denoiser(2, 8, 1)
    with pytest.raises(ValueError, match="unknown prediction 'x0'"):
        Diffusion(network, prediction="x0")
    with pytest.raises(ValueError, match=r"ema_decay must be in \[0, 1\)"):
        Diffusion(network, ema_decay=1.0)
    with pytest.raises(ValueError, match="data_std must be > 0"):
        Diffusion(network, data_std=0.0)
