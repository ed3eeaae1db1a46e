import keras
import numpy as np
import pytest

from aigc_tf import data
from aigc_tf.callbacks import GradientNormLogger, SampleGrid, tile_images
from aigc_tf.models.gan import (
    GAN,
    ConditionalGAN,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    mode_coverage,
)
from aigc_tf.models.self_conditioned_gan import SelfConditionedGAN

RNG = np.random.default_rng(0)


def _compiled(gan):
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5),
                jit_compile=False)
    return gan


def _tiny_dcgan(num_classes=None, cls=GAN, **kwargs):
    generator = build_dcgan_generator(latent_dim=8, filters=8, num_classes=num_classes)
    discriminator = build_dcgan_discriminator(filters=4, num_classes=num_classes)
    return _compiled(cls(generator, discriminator, seed=1, **kwargs))


def _images(n=16):
    return RNG.uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def _weights(model):
    return [np.array(v) for v in model.trainable_variables]


def _changed(before, model):
    return any(not np.allclose(b, np.array(v)) for b, v in zip(before, model.trainable_variables,
                                                                strict=True))


def test_builder_shapes():
    assert build_dcgan_generator(latent_dim=16).output_shape == (None, 28, 28, 1)
    assert build_dcgan_generator(16, image_shape=(32, 32, 3)).output_shape == (None, 32, 32, 3)
    assert build_dcgan_discriminator().output_shape == (None, 1)
    conditional = build_dcgan_generator(latent_dim=16, num_classes=10)
    assert conditional.output_shape == (None, 28, 28, 1)
    assert len(conditional.inputs) == 2
    assert build_mlp_generator(latent_dim=4, data_dim=2).output_shape == (None, 2)
    assert build_mlp_discriminator(data_dim=2).output_shape == (None, 1)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "wgan_gp"])
def test_train_step_updates_both_networks(loss, update):
    points, _ = data.make_ring(64)
    gan = _compiled(GAN(build_mlp_generator(), build_mlp_discriminator(), loss=loss, d_steps=2,
                        update=update))
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    logs = gan.fit(points, batch_size=32, epochs=1, verbose=0).history
    assert _changed(g_before, gan.generator) and _changed(d_before, gan.discriminator)
    assert all(np.isfinite(values[-1]) for values in logs.values())
    assert ("gp" in logs) == (loss == "wgan_gp")


class _Counting(keras.Model):
    """Wraps a network and counts its forward passes (for eager train steps)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.calls = 0

    @property
    def input_shape(self):
        return self.net.input_shape

    @property
    def output_shape(self):
        return self.net.output_shape

    def call(self, inputs, training=False):
        self.calls += 1
        return self.net(inputs, training=training)


@pytest.mark.parametrize(("update", "d_steps", "d_passes"), [
    ("alternating", 1, 3), ("alternating", 3, 7), ("simultaneous", 1, 2), ("simultaneous", 3, 6)])
def test_forward_passes_per_train_step(update, d_steps, d_passes):
    generator = _Counting(build_mlp_generator())
    discriminator = _Counting(build_mlp_discriminator())
    generator(np.zeros((1, 8), "float32"))
    discriminator(np.zeros((1, 2), "float32"))
    gan = GAN(generator, discriminator, d_steps=d_steps, update=update, seed=0)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), jit_compile=False)
    generator.calls = discriminator.calls = 0
    gan.train_step(data.make_ring(32)[0])
    # The last discriminator update and the generator update share one set of fakes; the
    # alternating step scores them once more with the updated discriminator.
    assert generator.calls == d_steps
    assert discriminator.calls == d_passes


def _generator_after_one_step(update, d_learning_rate):
    """Generator weights after one step from fixed initial weights, noise and batch."""
    keras.utils.set_random_seed(3)
    gan = GAN(build_mlp_generator(), build_mlp_discriminator(), update=update, seed=7)
    gan.compile(keras.optimizers.SGD(d_learning_rate), keras.optimizers.SGD(0.1),
                jit_compile=False)
    gan.train_step(data.make_ring(32, seed=0)[0])
    return _weights(gan.generator)


def test_simultaneous_generator_step_ignores_the_discriminator_update():
    def gap(update):
        frozen = _generator_after_one_step(update, d_learning_rate=0.0)
        moved = _generator_after_one_step(update, d_learning_rate=1.0)
        return max(np.abs(a - b).max() for a, b in zip(frozen, moved, strict=True))

    # Simultaneous: the generator's gradient is taken at the discriminator before its update.
    assert gap("simultaneous") < 1e-6
    # Alternating: the generator is scored by the updated discriminator.
    assert gap("alternating") > 1e-4


def test_conditional_train_step_and_generate():
    cgan = _tiny_dcgan(num_classes=10, cls=ConditionalGAN)
    g_before, d_before = _weights(cgan.generator), _weights(cgan.discriminator)
    labels = np.arange(16) % 10
    logs = cgan.fit(_images(), labels, batch_size=8, epochs=1, verbose=0).history
    assert _changed(g_before, cgan.generator) and _changed(d_before, cgan.discriminator)
    assert np.isfinite(logs["d_loss"][-1]) and np.isfinite(logs["g_loss"][-1])
    samples = cgan.generate(labels[:3], seed=0)
    assert samples.shape == (3, 28, 28, 1) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(cgan.sample(3, seed=0), cgan.generate([0, 1, 2], seed=0))


def test_losses_match_formulas():
    real = np.array([2.0, -1.0, 0.5], "float32")
    fake = np.array([-3.0, 0.0, 1.5], "float32")
    d_real, d_fake = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
    bce = -np.mean(np.log(d_real)) - np.mean(np.log(1 - d_fake))
    np.testing.assert_allclose(discriminator_loss(real, fake, "minimax"), bce, rtol=1e-5)
    np.testing.assert_allclose(discriminator_loss(real, fake, "non_saturating"), bce, rtol=1e-5)
    np.testing.assert_allclose(generator_loss(fake, "minimax"), np.mean(np.log(1 - d_fake)),
                               rtol=1e-5)
    np.testing.assert_allclose(generator_loss(fake, "non_saturating"), -np.mean(np.log(d_fake)),
                               rtol=1e-5)
    np.testing.assert_allclose(discriminator_loss(real, fake, "wgan_gp"),
                               fake.mean() - real.mean(), rtol=1e-5)
    np.testing.assert_allclose(generator_loss(fake, "wgan_gp"), -fake.mean(), rtol=1e-5)


def test_gradient_penalty_finite_at_identical_inputs():
    import tensorflow as tf

    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].kernel.assign(np.zeros((2, 1), "float32"))  # zero input gradient
    points = np.ones((8, 2), "float32")
    mix = np.full((8,), 0.3, "float32")
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, points, points, mix)
    grads = tape.gradient(penalty, critic.trainable_variables)
    assert np.isclose(float(penalty), 1.0, atol=1e-4)  # (0 - 1)^2
    assert all(np.all(np.isfinite(np.array(g))) for g in grads)


@pytest.mark.parametrize("conditional", [False, True])
def test_save_load_round_trip(tmp_path, conditional):
    cls = ConditionalGAN if conditional else GAN
    gan = _tiny_dcgan(num_classes=10 if conditional else None, cls=cls, loss="wgan_gp",
                      update="simultaneous")
    noise = RNG.standard_normal((4, 8)).astype("float32")
    args = ([0, 3, 5, 9],) if conditional else (noise,)
    kwargs = {"z": noise} if conditional else {}
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is cls and loaded.loss_name == "wgan_gp"
    assert loaded.update == "simultaneous"
    np.testing.assert_allclose(loaded.generate(*args, **kwargs), gan.generate(*args, **kwargs),
                               atol=1e-6)
    assert loaded.d_optimizer.get_config()["beta_1"] == 0.5


def _two_kinds_of_images(n=16):
    """Half dark images, half bright ones: two clusters that k-means cannot miss."""
    images = _images(n) * 0.1
    images[: n // 2] -= 0.8
    images[n // 2:] += 0.8
    return images


def test_self_conditioned_gan_clusters_trains_and_samples_by_share():
    gan = _tiny_dcgan(num_classes=2, cls=SelfConditionedGAN, num_clusters=2)
    images, clusters = gan.cluster(_two_kinds_of_images())
    assert len(np.unique(clusters[:8])) == 1 and len(np.unique(clusters[8:])) == 1
    assert clusters[0] != clusters[-1]
    np.testing.assert_allclose(np.array(gan.cluster_shares), [0.5, 0.5])
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    logs = gan.fit(data.make_dataset((images, clusters), 8), epochs=1, verbose=0).history
    assert _changed(g_before, gan.generator) and _changed(d_before, gan.discriminator)
    assert np.isfinite(logs["g_loss"][-1])
    # With every share on cluster 1, sampling is generating for cluster 1.
    gan.cluster_shares.assign([0.0, 1.0])
    rng = np.random.default_rng(5)
    rng.choice(2, size=4, p=[0.0, 1.0])
    noise = rng.standard_normal((4, 8)).astype("float32")
    np.testing.assert_allclose(gan.sample(4, seed=5), gan.generate(np.ones(4, "int32"), z=noise),
                               atol=1e-6)


def test_self_conditioned_gan_round_trip_keeps_cluster_shares(tmp_path):
    gan = _tiny_dcgan(num_classes=2, cls=SelfConditionedGAN, num_clusters=2)
    gan.cluster_shares.assign([0.25, 0.75])
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert type(loaded) is SelfConditionedGAN and loaded.num_clusters == 2
    np.testing.assert_allclose(np.array(loaded.cluster_shares), [0.25, 0.75])
    np.testing.assert_allclose(loaded.sample(5, seed=1), gan.sample(5, seed=1), atol=1e-6)


def test_self_conditioned_gan_rejects_mismatched_clusters():
    generator = build_dcgan_generator(latent_dim=8, filters=8, num_classes=10)
    with pytest.raises(ValueError, match=r"generator embeds \[10\] classes.*num_classes=3"):
        SelfConditionedGAN(generator, build_dcgan_discriminator(num_classes=3), num_clusters=3)
    with pytest.raises(ValueError, match="num_clusters must be an integer"):
        SelfConditionedGAN(generator, build_dcgan_discriminator(num_classes=10), num_clusters=0)
    gan = _tiny_dcgan(num_classes=20, cls=SelfConditionedGAN, num_clusters=20)
    with pytest.raises(ValueError, match="between 1 and the number of points"):
        gan.cluster(_images(8))


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="multiples of 4"):
        build_dcgan_generator(image_shape=(30, 30, 1))
    rgb_generator = build_dcgan_generator(latent_dim=8, filters=8, image_shape=(28, 28, 3))
    with pytest.raises(ValueError, match=r"\(28, 28, 3\).*expects \(28, 28, 1\)"):
        GAN(rgb_generator, build_dcgan_discriminator())
    with pytest.raises(ValueError, match="d_steps"):
        GAN(build_mlp_generator(), build_mlp_discriminator(), d_steps=0)
    with pytest.raises(ValueError, match="unknown GAN loss"):
        GAN(build_mlp_generator(), build_mlp_discriminator(), loss="hinge")
    with pytest.raises(ValueError, match=r"unknown update 'both'.*'simultaneous'"):
        GAN(build_mlp_generator(), build_mlp_discriminator(), update="both")
    gan = _tiny_dcgan()
    with pytest.raises(ValueError, match="check the channel axis"):
        gan.fit(np.zeros((8, 28, 28, 3), "float32"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"lie in \[0, 255\].*tanh.*rescale"):
        gan.fit(np.linspace(0, 255, 8 * 784, dtype="float32").reshape(8, 28, 28, 1), verbose=0)
    with pytest.raises(ValueError, match="lie in"):
        gan.fit(data.make_dataset(np.full((8, 28, 28, 1), 3.0, "float32"), 4), verbose=0)
    with pytest.raises(ValueError, match="batch is empty"):
        gan.fit(np.zeros((0, 28, 28, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        gan.fit(np.full((8, 28, 28, 1), np.nan, "float32"), verbose=0)
    cgan = _tiny_dcgan(num_classes=10, cls=ConditionalGAN)
    with pytest.raises(ValueError, match=r"\(images, labels\)"):
        cgan.fit(_images(8), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        cgan.fit(_images(8), np.arange(8) + 3, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"z must have shape \(N, 8\)"):
        cgan.generate([1, 2], z=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        cgan.sample(0)
    with pytest.raises(ValueError, match="pass num_classes"):
        ConditionalGAN(build_mlp_generator(), build_mlp_discriminator())


def test_sample_grid_writes_pngs_and_gif(tmp_path):
    gan = _tiny_dcgan()
    grid = SampleGrid(RNG.standard_normal((6, 8)).astype("float32"), out_dir=tmp_path, ncols=3)
    gan.fit(_images(16), batch_size=8, epochs=2, verbose=0, callbacks=[grid])
    assert grid.epochs == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "epoch_000.png", "epoch_001.png", "epoch_002.png"]
    assert grid.gif_path.is_file() and grid.frames[0].shape == (2 * 57, 2 * 86)
    assert not np.array_equal(grid.frames[0], grid.frames[-1])


def test_sample_grid_accepts_any_sampler():
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784, activation="sigmoid"),
                                keras.layers.Reshape((28, 28, 1))])
    grid = SampleGrid(np.zeros((4, 2), "float32"), sample_fn=decoder.predict, value_range=(0, 1))
    grid.set_model(decoder)
    grid.on_train_begin()
    assert grid.frames[0].shape == (2 * 28, 2 * (4 * 29 - 1))
    assert tile_images(np.zeros((3, 5, 5, 3)), ncols=2).shape == (11, 11, 3)


def test_gradient_norm_logger_records_both_networks():
    points, _ = data.make_ring(64)
    gan = _compiled(GAN(build_mlp_generator(), build_mlp_discriminator(), loss="minimax"))
    logger = GradientNormLogger(points[:32], every=1, generator_losses=("minimax",
                                                                        "non_saturating"))
    gan.fit(points, batch_size=16, epochs=1, verbose=0, callbacks=[logger])
    assert logger.history["step"] == [0, 1, 2, 3, 4]
    for key in ("d", "g/minimax", "g/non_saturating"):
        assert len(logger.history[key]) == 5 and all(v > 0 for v in logger.history[key])


def test_mode_coverage_counts_collapse():
    centers = data.ring_centers()
    points, _ = data.make_ring(800, std=0.05)
    full = mode_coverage(points, centers, std=0.05)
    assert full["modes_covered"] == 8 and full["high_quality"] > 0.95
    collapsed = np.repeat(centers[:1], 800, axis=0)
    assert mode_coverage(collapsed, centers, std=0.05)["modes_covered"] == 1
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        mode_coverage(np.zeros((5, 3)), centers, std=0.05)
