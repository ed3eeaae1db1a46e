"""Hidden cases for notebook 04 (DCGAN on MNIST).

Expected values come from Keras itself (a real ``Conv2DTranspose`` layer, a real
``BinaryCrossentropy(from_logits=True)``), not from the formulas the student is asked for.
"""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


def _keras_transposed_conv(filters, kernel_size, strides=1, padding="same", use_bias=True):
    import keras

    return keras.layers.Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding,
                                        use_bias=use_bias)


@exercise("04.upsampled_size",
          hint="padding='same' multiplies the size by the stride; padding='valid' places the "
               "kernel at every stride step, so it adds the kernel's overhang: "
               "(size - 1) * stride + kernel")
def _upsampled_size_cases(upsampled_size):
    settings = [(7, 4, 2, "same"), (14, 4, 2, "same"), (3, 5, 3, "same"), (7, 4, 2, "valid"),
                (5, 3, 2, "valid"), (10, 3, 1, "valid"), (6, 2, 2, "valid"), (9, 6, 4, "valid")]
    cases = [(f"size {size}, kernel {kernel}, stride {stride}, padding {padding!r}",
              size, kernel, stride, padding) for size, kernel, stride, padding in settings]
    return check_cases(upsampled_size, cases, _keras_upsampled_size, rtol=0, atol=0)


def _keras_upsampled_size(size, kernel, stride, padding):
    layer = _keras_transposed_conv(1, kernel, strides=stride, padding=padding)
    return layer.compute_output_shape((None, size, size, 1))[1]


@exercise("04.transposed_conv_params",
          hint="one kernel_size x kernel_size weight per (input channel, output channel) pair, "
               "plus one bias per output channel when use_bias is True")
def _transposed_conv_params_cases(transposed_conv_params):
    settings = [(3, 16, 8, True), (5, 1, 32, True), (4, 32, 1, True), (2, 7, 3, False),
                (4, 128, 64, False)]
    cases = [(f"kernel {kernel}, {in_channels} -> {out_channels} channels, use_bias={use_bias}",
              kernel, in_channels, out_channels, use_bias)
             for kernel, in_channels, out_channels, use_bias in settings]
    return check_cases(transposed_conv_params, cases, _keras_param_count, rtol=0, atol=0)


def _keras_param_count(kernel, in_channels, out_channels, use_bias):
    layer = _keras_transposed_conv(out_channels, kernel, use_bias=use_bias)
    layer.build((None, 8, 8, in_channels))
    return layer.count_params()


def _keras_gan_losses(real_logits, fake_logits):
    """D's and the non-saturating G's losses with Keras's own binary cross-entropy."""
    import keras

    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    real_logits = np.asarray(real_logits, "float32")
    fake_logits = np.asarray(fake_logits, "float32")
    ones, zeros = np.ones_like(real_logits), np.zeros_like(fake_logits)
    d_loss = float(bce(ones, real_logits)) + float(bce(zeros, fake_logits))
    g_loss = float(bce(np.ones_like(fake_logits), fake_logits))
    return d_loss, g_loss


@exercise("04.gan_losses",
          hint="label real images 1 and fakes 0 for D: L_D = mean softplus(-real) + mean "
               "softplus(fake); the non-saturating G wants its fakes labelled 1: L_G = mean "
               "softplus(-fake). Work on logits (softplus or from_logits=True), never log(sigmoid)")
def _gan_losses_cases(gan_losses):
    rng = np.random.default_rng(4)
    cases = [
        ("an undecided discriminator (all logits 0)", np.zeros((8, 1)), np.zeros((8, 1))),
        ("random logits, batch of 16", rng.normal(size=(16, 1)), rng.normal(size=(16, 1))),
        ("a winning discriminator (real logits ~ +6, fake ~ -6)",
         6 + rng.normal(size=(32, 1)), -6 + rng.normal(size=(32, 1))),
        ("logits of shape (N,) instead of (N, 1)", rng.normal(size=20), 2 * rng.normal(size=20)),
        ("a completely fooled discriminator (fake logits ~ +40)",
         rng.normal(size=(8, 1)), 40 + rng.normal(size=(8, 1))),
    ]
    for name, real_logits, fake_logits in cases:
        answer = gan_losses(real_logits.copy(), fake_logits.copy())
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            raise ExerciseFailure(f"{name}: expected a pair (d_loss, g_loss), got {answer!r}")
        d_expected, g_expected = _keras_gan_losses(real_logits, fake_logits)
        expect_close(f"{name}, discriminator loss", answer[0], d_expected, rtol=1e-5, atol=1e-6)
        expect_close(f"{name}, generator loss", answer[1], g_expected, rtol=1e-5, atol=1e-6)
    return len(cases)
