"""Hidden cases for notebook 16 (augmentation for a classifier and for a GAN)."""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


def _gradient(function, images, weights):
    """Gradient of ``sum(weights * function(images))`` with respect to ``images``."""
    import tensorflow as tf
    from keras import ops

    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        try:
            total = ops.sum(ops.convert_to_tensor(function(x)) * weights)
        except Exception as error:  # NumPy code on a tensor fails here
            raise ExerciseFailure(
                f"the function failed on a TensorFlow tensor ({type(error).__name__}: "
                f"{error}); write it with keras.ops so it runs inside a training step") from None
    grads = tape.gradient(total, x)
    if grads is None:
        raise ExerciseFailure("no gradient flows from the output back to the images; use "
                              "keras.ops (not NumPy) so the generator can learn through it")
    return ops.convert_to_numpy(grads)


@exercise("16.shift_images",
          hint="row i of the output takes row i - dy of the input, column j column j - dx; "
               "pixels shifted in from outside are `fill`. A one-hot matrix "
               "S[b, i, k] = (k == i - dy[b]) does it: ops.einsum('bik,bkwc->biwc', S, x - fill)"
               ", the same for columns, then + fill")
def _shift_images_cases(shift_images):
    from keras import ops

    from aigc_tf.augmentation import translate

    rng = np.random.default_rng(16)
    images = rng.uniform(-1, 1, (3, 6, 5, 1)).astype("float32")
    cases = [(name, images, np.array(shifts, "int32"), fill) for name, shifts, fill in [
        ("no shift", [[0, 0], [0, 0], [0, 0]], 0.0),
        ("one row down, fill 0", [[1, 0], [1, 0], [1, 0]], 0.0),
        ("different shifts per image, fill -1", [[2, -1], [-3, 2], [0, 4]], -1.0),
        ("shifted right out of view", [[0, 5], [6, 0], [-6, -5]], -1.0)]]
    passed = check_cases(shift_images, cases,
                         lambda *arguments: ops.convert_to_numpy(translate(*arguments)),
                         atol=1e-6)
    weights = rng.uniform(size=images.shape).astype("float32")
    shifts = np.array([[2, -1], [-3, 2], [0, 4]], "int32")
    expected = _gradient(lambda x: translate(x, shifts, -1.0), images, weights)
    got = _gradient(lambda x: shift_images(x, shifts, -1.0), images, weights)
    expect_close("gradient with respect to the images (different shifts, fill -1)", got,
                 expected, atol=1e-5)
    return passed + 1


def _toy_discriminator(images):
    """Logits from a fixed linear map of the pixels: brighter top halves look 'real'."""
    from keras import ops

    height = images.shape[1]
    top = ops.mean(images[:, : height // 2], axis=(1, 2, 3))
    bottom = ops.mean(images[:, height // 2:], axis=(1, 2, 3))
    return ops.reshape(3.0 * top - bottom, (-1, 1))


def _darken_left_half(images):
    """A deterministic 'augmentation' that changes what the toy discriminator sees."""
    from keras import ops

    width = images.shape[2]
    mask = np.ones((1, 1, width, 1), "float32")
    mask[:, :, : width // 2] = 0.25
    return ops.convert_to_tensor(images) * mask


def _shift_down(images):
    from aigc_tf.augmentation import translate

    return translate(images, np.tile([[2, 0]], (images.shape[0], 1)), fill=-1.0)


@exercise("16.augmented_losses",
          hint="augment BOTH batches with the same function before the discriminator: "
               "l_real = D(T(real)), l_fake = D(T(fake)); L_D = mean softplus(-l_real) + "
               "mean softplus(l_fake), L_G = mean softplus(-l_fake)")
def _augmented_losses_cases(augmented_losses):
    from keras import ops

    from aigc_tf.models.gan import discriminator_loss, generator_loss

    rng = np.random.default_rng(61)
    real = rng.uniform(-1, 1, (5, 8, 8, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (5, 8, 8, 1)).astype("float32")
    cases = [("identity augmentation", lambda x: x),
             ("darken the left half", _darken_left_half),
             ("shift two rows down, fill -1", _shift_down)]
    for name, augment in cases:
        real_logits = _toy_discriminator(augment(real))
        fake_logits = _toy_discriminator(augment(fake))
        expected = [ops.convert_to_numpy(discriminator_loss(real_logits, fake_logits)),
                    ops.convert_to_numpy(generator_loss(fake_logits))]
        got = augmented_losses(_toy_discriminator, augment, real.copy(), fake.copy())
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseFailure(f"{name}: return a pair (d_loss, g_loss), got {got!r}")
        expect_close(f"{name}: d_loss", ops.convert_to_numpy(got[0]), expected[0], rtol=1e-5)
        expect_close(f"{name}: g_loss", ops.convert_to_numpy(got[1]), expected[1], rtol=1e-5)
    return len(cases)
