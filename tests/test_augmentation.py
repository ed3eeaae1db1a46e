import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from aigc_tf.augmentation import (
    CLASSIFIER_AUGMENTATIONS,
    DiffAugment,
    blend,
    build_augmented_classifier,
    classifier_augmentation,
    cutout,
    diff_augment,
    parse_policy,
    translate,
)
from aigc_tf.models.gan import GAN, build_dcgan_discriminator, build_dcgan_generator

RNG = np.random.default_rng(16)
POLICIES = ["color", "translation", "cutout", "color,translation,cutout"]


def _images(n=6, size=12, value_range=(-1, 1)):
    return RNG.uniform(*value_range, (n, size, size, 1)).astype("float32")


def _shifted_by_numpy(images, shifts, fill):
    out = np.full_like(images, fill)
    height, width = images.shape[1:3]
    for b, (dy, dx) in enumerate(shifts):
        for i in range(height):
            for j in range(width):
                if 0 <= i - dy < height and 0 <= j - dx < width:
                    out[b, i, j] = images[b, i - dy, j - dx]
    return out


def _gradient(function, images):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = ops.sum(function(x) * np.arange(x.shape[1], dtype="float32")[:, None, None])
    return tape.gradient(total, x)


def test_translate_matches_a_pixel_loop_and_passes_gradients_to_visible_pixels():
    images = _images(4, 7)
    shifts = np.array([[0, 0], [2, -1], [-3, 3], [7, 0]])
    got = ops.convert_to_numpy(translate(images, shifts, fill=-1.0))
    np.testing.assert_allclose(got, _shifted_by_numpy(images, shifts, -1.0), atol=1e-6)
    grads = ops.convert_to_numpy(ops.sum(_gradient(lambda x: translate(x, shifts, -1.0),
                                                   images), axis=(1, 2, 3)))
    # every row weight i of the visible output: no shift keeps all pixels, a shift of 7 none
    assert grads[0] == pytest.approx(7 * sum(range(7)))
    assert grads[3] == 0 and 0 < grads[1] < grads[0]


def test_cutout_fills_the_square_clipped_at_the_border_and_blocks_its_gradient():
    images = np.ones((2, 8, 8, 1), "float32")
    got = ops.convert_to_numpy(cutout(images, [[4, 4], [0, 7]], size=4, fill=0.0))
    # rows -2..1 and columns 5..8 of the second square: 2 x 3 inside the image
    assert (got[0] == 0).sum() == 16 and (got[1] == 0).sum() == 2 * 3
    assert np.all(got[0, 2:6, 2:6] == 0)
    grads = ops.convert_to_numpy(_gradient(lambda x: cutout(x, [[4, 4], [0, 7]], 4), images))
    assert np.all(grads[0, 2:6, 2:6] == 0) and grads[0, 7, 0, 0] == 7


def test_blend_stays_between_image_and_target():
    images = _images(3, 5, (0, 1))
    out = ops.convert_to_numpy(blend(images, 1.0, [0.0, 0.5, 1.0]))
    np.testing.assert_allclose(out[0], images[0])
    np.testing.assert_allclose(out[1], (images[1] + 1) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[2], 1.0)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_diff_augment_keeps_shape_and_range_and_is_differentiable(policy, value_range):
    images = _images(8, 12, value_range)
    out = ops.convert_to_numpy(diff_augment(images, policy, value_range, seed=3))
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= value_range[0] - 1e-6 and out.max() <= value_range[1] + 1e-6
    assert not np.allclose(out, images)  # something changed
    grads = ops.convert_to_numpy(_gradient(lambda x: diff_augment(x, policy, value_range, 3),
                                           images))
    assert np.all(np.isfinite(grads)) and np.abs(grads).sum() > 0


def test_diff_augment_is_reproducible_by_seed_and_draws_afresh_from_a_generator():
    images = _images(8, 12)
    first, again = (ops.convert_to_numpy(diff_augment(images, seed=5)) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, ops.convert_to_numpy(diff_augment(images, seed=6)))
    generator = keras.random.SeedGenerator(5)
    draws = [ops.convert_to_numpy(diff_augment(images, seed=generator)) for _ in range(2)]
    assert not np.allclose(*draws)


def test_diff_augment_layer_is_identity_at_inference_and_round_trips_its_config():
    layer = DiffAugment("cutout, translation", value_range=(-1, 1), seed=2)
    images = _images(4, 12)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(images)), images)
    traced = tf.function(lambda x: layer(x, training=True))
    assert tuple(traced(images).shape) == images.shape
    assert tuple(traced(images[:2]).shape) == (2, 12, 12, 1)  # any batch size
    copy = DiffAugment.from_config(layer.get_config())
    assert copy.policy == "translation,cutout" and copy.value_range == (-1.0, 1.0)
    np.testing.assert_array_equal(ops.convert_to_numpy(copy(images, training=True)),
                                  ops.convert_to_numpy(
                                      DiffAugment.from_config(layer.get_config())(
                                          images, training=True)))


@pytest.mark.parametrize("call, message", [
    (lambda: parse_policy("translation,flip"), "unknown augmentation 'flip'"),
    (lambda: parse_policy(" , "), "names no augmentation"),
    (lambda: parse_policy(["cutout"]), "policy must be a string"),
    (lambda: diff_augment(np.zeros((28, 28, 1)), "cutout"), r"shape \(batch, height"),
    (lambda: diff_augment(np.zeros((2, 8, 8, 1)), "color", value_range=(1, 0)), "low < high"),
    (lambda: translate(np.zeros((2, 8, 8, 1)), [1, 2]), r"shifts must have shape \(batch, 2\)"),
    (lambda: cutout(np.zeros((2, 8, 8, 1)), [[1, 1], [2, 2]], size=0), "size must be"),
    (lambda: classifier_augmentation("mirror"), "unknown classifier augmentation 'mirror'"),
    (lambda: GAN(build_dcgan_generator(8), build_dcgan_discriminator(), augment="zoom"),
     "unknown augmentation 'zoom'"),
    (lambda: GAN(build_dcgan_generator(8), build_dcgan_discriminator(), augment=3),
     "augment must be None, a policy string"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_classifier_flip_changes_images_in_training_only():
    flip = classifier_augmentation("flip", seed=0)
    digit = np.zeros((16, 28, 28, 1), "float32")
    digit[:, 2:10, 3:6] = 1.0  # a bar in the top-left corner
    trained = ops.convert_to_numpy(flip(digit, training=True))
    assert not np.allclose(trained, digit)
    assert np.allclose(trained.sum(axis=(1, 2, 3)), digit.sum(axis=(1, 2, 3)))  # moved, not lost
    np.testing.assert_array_equal(ops.convert_to_numpy(flip(digit, training=False)), digit)


def test_classifier_augmentations_stack_the_named_keras_layers():
    layers = {name: [type(layer).__name__ for layer in classifier_augmentation(name).layers]
              for name in CLASSIFIER_AUGMENTATIONS}
    assert layers == {"none": ["Identity"], "flip": ["RandomFlip"],
                      "shift": ["RandomTranslation"], "rotate": ["RandomRotation"],
                      "shift_rotate": ["RandomTranslation", "RandomRotation"]}


def test_augmented_classifier_trains_and_predicts_unaugmented():
    model = build_augmented_classifier("shift_rotate", seed=0)
    images, labels = _images(8, 28, (0, 1)), np.arange(8) % 10
    before = model.layers[-1].get_weights()[0].copy()
    model.train_on_batch(images, labels)
    assert not np.allclose(before, model.layers[-1].get_weights()[0])
    inner = model.layers[-1]
    np.testing.assert_allclose(ops.convert_to_numpy(model(images, training=False)),
                               ops.convert_to_numpy(inner(images, training=False)), atol=1e-5)


# --------------------------------------------------------------------- the GAN option


def _gan(augment, **kwargs):
    gan = GAN(build_dcgan_generator(latent_dim=8, filters=8),
              build_dcgan_discriminator(filters=4), seed=1, augment=augment, **kwargs)
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5),
                run_eagerly=kwargs.pop("run_eagerly", False))
    return gan


class _Recorder(keras.layers.Layer):
    """Passes images through and keeps a copy of each batch it sees (eager runs only)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, images, training=False):
        self.seen.append((ops.convert_to_numpy(images), training))
        return images


@pytest.mark.parametrize("update, calls", [("alternating", 3), ("simultaneous", 2)])
def test_gan_augments_real_and_fake_batches_in_both_losses(update, calls):
    recorder = _Recorder()
    gan = GAN(build_dcgan_generator(latent_dim=8, filters=8),
              build_dcgan_discriminator(filters=4), seed=1, augment=recorder, update=update)
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5),
                run_eagerly=True)
    real = _images(8, 28)
    gan.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert len(recorder.seen) == calls and all(training for _, training in recorder.seen)
    np.testing.assert_allclose(recorder.seen[0][0], real)  # the real batch comes first
    assert not np.allclose(recorder.seen[1][0], real)  # then the generated one


def test_gan_with_diff_augment_trains_both_networks_and_round_trips(tmp_path):
    gan = _gan("color,translation,cutout")
    generator_before = [np.array(v) for v in gan.generator.trainable_variables]
    history = gan.fit(_images(32, 28), batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0]) and np.isfinite(history.history["g_loss"][0])
    assert any(not np.allclose(b, np.array(v))
               for b, v in zip(generator_before, gan.generator.trainable_variables, strict=True))
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.augment, DiffAugment)
    assert loaded.augment.policy == "color,translation,cutout"
    assert loaded.augment.value_range == (-1.0, 1.0)  # the tanh generator's range
    np.testing.assert_allclose(loaded.sample(3, seed=0), gan.sample(3, seed=0), atol=1e-6)
    assert GAN.from_config(_gan(None).get_config()).augment is None
