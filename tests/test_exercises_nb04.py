"""The checked exercises of notebook 04: reference answers pass, typical mistakes do not."""

import keras
import numpy as np
import pytest

from aigc_tf.exercises import check_exercise


# The reference answers, as in the notebook's solution regions.
def upsampled_size(size, kernel, stride, padding):
    if padding == "same":
        return size * stride
    return (size - 1) * stride + kernel


def transposed_conv_params(kernel, in_channels, out_channels, use_bias):
    return kernel * kernel * in_channels * out_channels + (out_channels if use_bias else 0)


def gan_losses(real_logits, fake_logits):
    softplus = keras.ops.softplus
    d_loss = keras.ops.mean(softplus(-real_logits)) + keras.ops.mean(softplus(fake_logits))
    g_loss = keras.ops.mean(softplus(-fake_logits))
    return float(d_loss), float(g_loss)


@pytest.mark.parametrize("exercise_id, answer", [
    ("04.upsampled_size", upsampled_size),
    ("04.transposed_conv_params", transposed_conv_params),
    ("04.gan_losses", gan_losses),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_valid_padding_without_the_kernel_overhang_is_rejected():
    def same_for_both(size, kernel, stride, padding):
        return size * stride

    with pytest.raises(AssertionError,
                       match=r"size 7, kernel 4, stride 2, padding 'valid': expected 16.0, got 14.0"
                             r".*Hint: padding='same'"):
        check_exercise("04.upsampled_size", same_for_both)


def test_forgotten_bias_is_rejected():
    def without_bias(kernel, in_channels, out_channels, use_bias):
        return kernel * kernel * in_channels * out_channels

    with pytest.raises(AssertionError,
                       match=r"kernel 3, 16 -> 8 channels, use_bias=True: expected 1160.0, "
                             r"got 1152.0.*Hint: one kernel_size"):
        check_exercise("04.transposed_conv_params", without_bias)


def test_minimax_generator_loss_is_rejected():
    def minimax(real_logits, fake_logits):
        d_loss, _ = gan_losses(real_logits, fake_logits)
        return d_loss, -float(np.mean(np.logaddexp(0, fake_logits)))

    with pytest.raises(AssertionError,
                       match=r"an undecided discriminator \(all logits 0\), generator loss"
                             r".*Hint: label real images 1"):
        check_exercise("04.gan_losses", minimax)


def test_log_of_sigmoid_fails_on_saturated_logits():
    def through_probabilities(real_logits, fake_logits):
        d_real = 1 / (1 + np.exp(-np.asarray(real_logits)))
        d_fake = 1 / (1 + np.exp(-np.asarray(fake_logits)))
        with np.errstate(divide="ignore"):
            return (-np.mean(np.log(d_real)) - np.mean(np.log(1 - d_fake)),
                    -np.mean(np.log(d_fake)))

    with pytest.raises(AssertionError,
                       match=r"a completely fooled discriminator .*discriminator loss: "
                             r"the answer contains NaN or infinity"):
        check_exercise("04.gan_losses", through_probabilities)


def test_a_single_number_is_rejected():
    with pytest.raises(AssertionError, match=r"expected a pair \(d_loss, g_loss\)"):
        check_exercise("04.gan_losses", lambda real, fake: 1.0)
