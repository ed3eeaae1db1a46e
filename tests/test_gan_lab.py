import numpy as np
import pytest
import tensorflow as tf

from aigc_tf import data, gan_lab
from aigc_tf.models.gan import generator_loss, mode_coverage


def test_loss_curves_match_the_library_losses_and_their_autodiff_gradients():
    d_fake = np.array([0.02, 0.3, 0.5, 0.97])
    curves = gan_lab.generator_loss_curves(d_fake)
    logits = tf.Variable(np.log(d_fake / (1 - d_fake)))
    for name, curve in curves.items():
        per_sample = [float(generator_loss(logits[i:i + 1], name)) for i in range(len(d_fake))]
        with tf.GradientTape() as tape:
            total = generator_loss(logits, name) * len(d_fake)
        np.testing.assert_allclose(curve["loss"], per_sample, rtol=1e-6)
        np.testing.assert_allclose(curve["grad"], tape.gradient(total, logits), rtol=1e-6)


def test_minimax_gradient_vanishes_where_the_non_saturating_one_does_not():
    curves = gan_lab.generator_loss_curves([1e-3])
    assert abs(curves["minimax"]["grad"][0]) < 0.01 < 0.99 < abs(
        curves["non_saturating"]["grad"][0])


@pytest.mark.parametrize("bad", [[0.0, 0.5], [1.0], [np.nan], []])
def test_loss_curves_reject_values_outside_the_open_interval(bad):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        gan_lab.generator_loss_curves(bad)


def test_bridge_share_counts_points_on_the_circle_between_modes_only():
    centers = data.ring_centers()
    angle = np.pi / 8  # halfway between the first two modes
    points = np.array([[2 * np.cos(angle), 2 * np.sin(angle)],   # bridge
                       [2.0, 0.0],                              # at a mode
                       [0.0, 0.0],                              # off the ring
                       [3 * np.cos(angle), 3 * np.sin(angle)]])  # outside the ring
    assert gan_lab.ring_bridge_share(points, centers, std=0.05) == 0.25
    ring, _ = data.make_ring(500, std=0.05)
    assert gan_lab.ring_bridge_share(ring, centers, std=0.05) < 0.02


def test_bridge_share_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        gan_lab.ring_bridge_share(np.zeros((3, 3)), data.ring_centers(), 0.05)


def test_train_on_ring_records_coverage_of_every_snapshot():
    ring, _ = data.make_ring(256, seed=0)
    centers = data.ring_centers()
    run = gan_lab.train_on_ring(ring, centers, std=0.05, epochs=2, snapshot_every=1,
                                eval_samples=64, seed=3)
    assert run.epochs == [0, 1, 2]
    assert [s.shape for s in run.samples] == [(64, 2)] * 3
    assert run.coverage[-1] == mode_coverage(run.samples[-1], centers, 0.05)
    assert run.modes_covered() == [c["modes_covered"] for c in run.coverage]
    assert run.seconds > 0
    assert not np.allclose(run.samples[0], run.samples[-1])  # the generator trained
    fig = gan_lab.plot_ring_snapshots(run, ring, "title", panels=5)
    assert len(fig.axes) == 3  # only 3 snapshots to show
    assert fig.axes[0].get_title().startswith("epoch 0: ")


def test_train_on_ring_rejects_zero_epochs():
    with pytest.raises(ValueError, match="epochs and snapshot_every"):
        gan_lab.train_on_ring(np.zeros((8, 2)), data.ring_centers(), 0.05, epochs=0)


def test_plot_generator_losses_has_both_panels_and_marks():
    fig = gan_lab.plot_generator_losses(marks={"measured": 0.15})
    losses, grads = fig.axes
    assert len(losses.lines) == 2 and len(grads.lines) == 3
