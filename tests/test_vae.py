import keras
import numpy as np
import pytest

from aigc_tf import config, data
from aigc_tf.models import vae as vae_lib
from aigc_tf.models.vae import (
    CVAE,
    VAE,
    Sampling,
    build_conv_decoder,
    build_conv_encoder,
    build_mlp_decoder,
    build_mlp_encoder,
    gaussian_kl,
)

LATENT = 4


def tiny_vae(beta=1.0, reconstruction="bce", seed=0):
    encoder = build_mlp_encoder(LATENT, hidden_units=(64,))
    decoder = build_mlp_decoder(LATENT, hidden_units=(64,))
    return VAE(encoder, decoder, beta=beta, reconstruction=reconstruction, seed=seed)


def tiny_cvae(seed=0):
    encoder = build_conv_encoder(LATENT, filters=(8,), hidden_units=32, num_classes=10)
    decoder = build_conv_decoder(LATENT, filters=(8,), hidden_units=32, num_classes=10)
    return CVAE(encoder, decoder, num_classes=10, seed=seed)


@pytest.fixture(scope="module")
def digits():
    x, y = data.load_mnist("test")
    return x[:256], y[:256]


@pytest.fixture(scope="module")
def trained_vae(digits):
    config.set_seed(0)
    model = tiny_vae()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(digits[0], batch_size=64, epochs=8, shuffle=False, verbose=0)
    return model


def test_sampling_matches_requested_mean_and_variance():
    mean = np.tile(np.array([[1.0, -2.0, 0.0]], "float32"), (20000, 1))
    log_var = np.tile(np.log(np.array([[0.25, 4.0, 1.0]], "float32")), (20000, 1))
    z = keras.ops.convert_to_numpy(Sampling(seed=1)([mean, log_var]))
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0, 0.0], atol=0.05)
    np.testing.assert_allclose(z.var(axis=0), [0.25, 4.0, 1.0], rtol=0.05)


def test_sampling_is_reproducible_for_a_seed():
    inputs = [np.zeros((5, 2), "float32"), np.zeros((5, 2), "float32")]
    first = keras.ops.convert_to_numpy(Sampling(seed=7)(inputs))
    second = keras.ops.convert_to_numpy(Sampling(seed=7)(inputs))
    np.testing.assert_array_equal(first, second)


def test_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(1, 3)).astype("float32")
    log_var = rng.normal(scale=0.5, size=(1, 3)).astype("float32")
    std = np.exp(0.5 * log_var)
    z = mu + std * rng.standard_normal((200_000, 3))
    log_q = -0.5 * np.sum(((z - mu) / std) ** 2 + np.log(2 * np.pi) + log_var, axis=1)
    log_p = -0.5 * np.sum(z**2 + np.log(2 * np.pi), axis=1)
    monte_carlo = float(np.mean(log_q - log_p))
    closed_form = float(keras.ops.convert_to_numpy(gaussian_kl(mu, log_var))[0])
    assert closed_form == pytest.approx(monte_carlo, abs=0.02)
    assert closed_form > 0


def test_builders_give_expected_shapes():
    for encoder, decoder in [(build_conv_encoder(3), build_conv_decoder(3)),
                             (build_mlp_encoder(3), build_mlp_decoder(3))]:
        assert [tuple(t.shape) for t in encoder.outputs] == [(None, 3), (None, 3)]
        assert decoder.output_shape == (None, 28, 28, 1)
    conditional = build_conv_encoder(3, num_classes=10)
    assert [tuple(t.shape) for t in conditional.inputs] == [(None, 28, 28, 1), (None, 10)]


@pytest.mark.parametrize("reconstruction,beta", [("bce", 1.0), ("mse", 0.3), ("bce", 4.0)])
def test_reported_loss_is_reconstruction_plus_beta_kl(digits, reconstruction, beta):
    config.set_seed(0)
    model = tiny_vae(beta=beta, reconstruction=reconstruction)
    model.compile(optimizer="adam")
    x = digits[0]
    # 256 images in batches of 96: uneven batches exercise the per-example weighting.
    history = model.fit(x, batch_size=96, epochs=2, validation_data=(x[:100],), verbose=0)
    for prefix in ("", "val_"):
        loss, recon, kl = (np.array(history.history[prefix + name])
                           for name in ("loss", "reconstruction_loss", "kl_loss"))
        np.testing.assert_allclose(loss, recon + beta * kl, rtol=1e-6)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_evaluate_reports_the_negative_elbo(trained_vae, digits):
    result = trained_vae.evaluate(digits[0], batch_size=256, return_dict=True, verbose=0)
    assert result["loss"] == pytest.approx(result["reconstruction_loss"] + result["kl_loss"],
                                           rel=1e-6)
    # An independent single-sample estimate of the same quantity.
    assert result["loss"] == pytest.approx(-trained_vae.elbo(digits[0]).mean(), rel=0.01)


def test_importance_weighted_bound_is_above_elbo_and_tightens(trained_vae, digits):
    x = digits[0][:64]
    elbo = trained_vae.elbo(x).mean()
    estimates = [-trained_vae.log_likelihood(x, k=k)["nll_nats"] for k in (1, 8, 64)]
    assert estimates[0] == pytest.approx(elbo, abs=2.0)
    assert estimates[0] < estimates[1] < estimates[2]
    assert estimates[2] > elbo
    result = trained_vae.log_likelihood(x, k=8)
    assert result["log_px"].shape == (64,)
    assert result["bits_per_dim"] == pytest.approx(result["nll_nats"] / (784 * np.log(2)))


def test_vae_save_load_round_trip(trained_vae, digits, tmp_path):
    path = tmp_path / "vae.keras"
    trained_vae.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, VAE)
    assert (restored.beta, restored.reconstruction, restored.latent_dim) == (1.0, "bce", LATENT)
    z = np.random.default_rng(0).normal(size=(6, LATENT)).astype("float32")
    np.testing.assert_array_equal(restored.decode(z), trained_vae.decode(z))
    np.testing.assert_allclose(restored.predict(digits[0][:8], verbose=0),
                               trained_vae.predict(digits[0][:8], verbose=0), atol=1e-6)


def test_cvae_trains_generates_and_round_trips(digits, tmp_path):
    config.set_seed(0)
    model = tiny_cvae()
    model.compile(optimizer="adam")
    history = model.fit(digits, batch_size=64, epochs=2, verbose=0)
    loss, recon, kl = (np.array(history.history[n])
                       for n in ("loss", "reconstruction_loss", "kl_loss"))
    np.testing.assert_allclose(loss, recon + kl, rtol=1e-6)
    z = np.zeros((3, LATENT), "float32")
    images = model.generate([0, 5, 9], z=z)
    assert images.shape == (3, 28, 28, 1)
    assert not np.allclose(images[0], images[1])  # same z, different label
    assert model.generate([1, 2]).shape == (2, 28, 28, 1)
    path = tmp_path / "cvae.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, CVAE) and restored.num_classes == 10
    np.testing.assert_array_equal(restored.generate([0, 5, 9], z=z), images)
    result = model.log_likelihood(digits[0][:16], k=4, labels=digits[1][:16])
    assert np.isfinite(result["nll_nats"])


def test_bad_inputs_raise_clear_errors(trained_vae):
    with pytest.raises(ValueError, match="beta must be >= 0"):
        tiny_vae(beta=-0.5)
    with pytest.raises(ValueError, match="reconstruction must be one of"):
        tiny_vae(reconstruction="l1")
    with pytest.raises(ValueError, match=r"images must have shape \(N, 28, 28, 1\)"):
        trained_vae.encode(np.zeros((2, 28, 28), "float32"))
    with pytest.raises(ValueError, match=r"images must have shape"):
        trained_vae.fit(np.zeros((4, 32, 32, 1), "float32"), verbose=0)
    pixels = np.full((4, 28, 28, 1), 255.0, "float32")
    with pytest.raises(ValueError, match=r"outside value_range \(0, 1\).*sigmoid.*rescale"):
        trained_vae.fit(pixels, verbose=0)
    with pytest.raises(ValueError, match=r"outside value_range \(0, 1\)"):
        trained_vae.evaluate(data.make_dataset(pixels, 2), verbose=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        trained_vae.encode(np.full((2, 28, 28, 1), np.nan, "float32"))
    with pytest.raises(ValueError, match="batch is empty"):
        trained_vae.log_likelihood(np.zeros((0, 28, 28, 1), "float32"))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 4\)"):
        trained_vae.decode(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        trained_vae.log_likelihood(np.zeros((2, 28, 28, 1), "float32"), k=0)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        build_conv_encoder(0)
    with pytest.raises(ValueError, match="filters must be 1 or 2"):
        build_conv_decoder(2, filters=(8, 8, 8))


def test_cvae_rejects_bad_labels():
    model = tiny_cvae()
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.generate([3, 10])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.generate([-1])
    with pytest.raises(ValueError, match="labels must be integers"):
        model.generate(np.array([1.5]))
    with pytest.raises(ValueError, match="one-hot label of size num_classes=5"):
        CVAE(model.encoder, model.decoder, num_classes=5)
    with pytest.raises(ValueError, match="needs labels"):
        model.encode(np.zeros((2, 28, 28, 1), "float32"))


def test_cvae_fit_and_evaluate_reject_bad_labels_before_training():
    model = tiny_cvae()
    model.compile(optimizer="adam")
    images = np.zeros((4, 28, 28, 1), "float32")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.fit(images, np.array([0, 1, 2, 10]), epochs=1, verbose=0)
    dataset = data.make_dataset((images, np.array([0, 1, -1, 3])), batch_size=4)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.fit(dataset, epochs=1, verbose=0)
    good = (images, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.fit(*good, validation_data=(images, np.array([0, 1, 2, 12])), verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.evaluate(images, np.array([11, 1, 2, 3]), verbose=0)
    with pytest.raises(ValueError, match="needs labels"):
        model.fit(images, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_vae_fit_rejects_wrong_image_shape():
    model = VAE(build_conv_encoder(2), build_conv_decoder(2))
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"images must have shape \(N, 28, 28, 1\)"):
        model.fit(np.zeros((4, 28, 28, 3), "float32"), epochs=1, verbose=0)


def test_reconstruction_loss_rejects_unknown_kind():
    with pytest.raises(ValueError, match="reconstruction must be one of"):
        vae_lib.reconstruction_loss(np.zeros((1, 2)), np.zeros((1, 2)), kind="huber")
