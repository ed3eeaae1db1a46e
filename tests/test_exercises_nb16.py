"""Notebook 16's checked exercises: the reference answers pass, typical mistakes do not."""

import numpy as np
import pytest
from keras import ops

from aigc_tf.exercises import check_exercise


# Reference answers, copied from the notebook's solution regions.
def shift_images(images, shifts, fill=0.0):
    images = ops.convert_to_tensor(images)
    shifts = ops.cast(ops.convert_to_tensor(shifts), "int32")
    _, height, width, _ = images.shape

    def shift_matrix(offsets, size):
        positions = ops.arange(size, dtype="int32")
        source = positions[None, :, None] - offsets[:, None, None]
        return ops.cast(ops.equal(source, positions[None, None, :]), images.dtype)

    moved = ops.einsum("bik,bkwc->biwc", shift_matrix(shifts[:, 0], height), images - fill)
    return ops.einsum("bjw,biwc->bijc", shift_matrix(shifts[:, 1], width), moved) + fill


def augmented_losses(discriminator, augment, real, fake):
    real_logits = discriminator(augment(real))
    fake_logits = discriminator(augment(fake))
    d_loss = ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))
    g_loss = ops.mean(ops.softplus(-fake_logits))
    return d_loss, g_loss


@pytest.mark.parametrize("exercise_id, answer", [
    ("16.shift_images", shift_images),
    ("16.augmented_losses", augmented_losses),
])
def test_reference_answers_pass(exercise_id, answer, capsys):
    assert check_exercise(exercise_id, answer) is True
    assert "hidden cases pass" in capsys.readouterr().out


def test_numpy_shift_with_correct_values_fails_the_gradient_case():
    def numpy_shift(images, shifts, fill=0.0):
        images = np.asarray(images)
        out = np.full_like(images, fill)
        height, width = images.shape[1:3]
        for b, (dy, dx) in enumerate(np.asarray(shifts)):
            rows = slice(max(dy, 0), height + min(dy, 0))
            cols = slice(max(dx, 0), width + min(dx, 0))
            src_rows = slice(max(-dy, 0), height + min(-dy, 0))
            src_cols = slice(max(-dx, 0), width + min(-dx, 0))
            out[b, rows, cols] = images[b, src_rows, src_cols]
        return out

    with pytest.raises(AssertionError, match=r"16.shift_images: .*(keras.ops|gradient)"):
        check_exercise("16.shift_images", numpy_shift)


def test_wrapping_roll_is_rejected():
    def roll(images, shifts, fill=0.0):
        return np.stack([np.roll(image, tuple(shift), axis=(0, 1))
                         for image, shift in zip(np.asarray(images), np.asarray(shifts),
                                                 strict=True)])

    with pytest.raises(AssertionError, match=r"16.shift_images: one row down, fill 0.*Hint"):
        check_exercise("16.shift_images", roll)


def test_shift_in_the_wrong_direction_is_rejected():
    with pytest.raises(AssertionError, match=r"16.shift_images: one row down"):
        check_exercise("16.shift_images", lambda x, s, fill=0.0: shift_images(x, -s, fill))


def test_augmenting_only_the_real_batch_is_rejected():
    def real_only(discriminator, augment, real, fake):
        return augmented_losses(discriminator, lambda x: x, augment(real), fake)

    with pytest.raises(AssertionError, match=r"16.augmented_losses: darken the left half"):
        check_exercise("16.augmented_losses", real_only)


def test_generator_loss_on_unaugmented_fakes_is_rejected():
    def g_unaugmented(discriminator, augment, real, fake):
        d_loss, _ = augmented_losses(discriminator, augment, real, fake)
        return d_loss, ops.mean(ops.softplus(-discriminator(fake)))

    with pytest.raises(AssertionError, match=r"darken the left half: g_loss"):
        check_exercise("16.augmented_losses", g_unaugmented)


def test_stub_counts_as_not_attempted(capsys):
    def stub(images, shifts, fill=0.0):
        raise NotImplementedError

    assert check_exercise("16.shift_images", stub) is False
    assert "not attempted" in capsys.readouterr().out
