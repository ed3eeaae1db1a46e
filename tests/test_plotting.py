import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from aigc_tf import plotting


def test_image_grid_lays_out_rows_and_hides_empty_cells():
    images = np.random.default_rng(0).uniform(-1, 1, (23, 28, 28, 1))
    fig = plotting.image_grid(images, ncols=10, value_range=(-1, 1), row_labels=["a", "b", "c"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 30
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 23
    pixels = shown[0].images[0].get_array()
    assert pixels.min() >= 0 and pixels.max() <= 1
    assert fig.axes[10].get_ylabel() == "b"


def test_image_grid_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plotting.image_grid(np.zeros((4, 28, 28, 2)))


def test_plot_history_pairs_validation_curves():
    history = {"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2], "accuracy": [0.1, 0.5, 0.9]}
    fig = plotting.plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and len(loss_ax.lines) == 2
    assert acc_ax.get_title() == "accuracy" and len(acc_ax.lines) == 1
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), [3.5, 2.5, 2])


def test_plot_history_names_missing_metric():
    with pytest.raises(ValueError, match="available"):
        plotting.plot_history({"loss": [1]}, keys=["kl"])


def test_scatter_and_density_figures():
    points = np.random.default_rng(0).normal(size=(100, 2))
    fig = plotting.scatter_2d({"data": points, "samples": points + 1}, limit=3)
    assert len(fig.axes[0].collections) == 2 and fig.axes[0].get_xlim() == (-3, 3)
    fig = plotting.density_contour(lambda xy: -0.5 * (xy**2).sum(axis=1), limit=2,
                                   points=points)
    assert len(fig.axes) == 2  # the plot and its colour bar
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.scatter_2d(np.zeros((5, 3)))


def test_save_gif_writes_all_frames(tmp_path):
    frames = [np.full((8, 8), value, dtype="float32") for value in (0.0, 0.5, 1.0)]
    frames.append(plotting.plot_curves({"a": [1, 2, 3]}))
    path = plotting.save_gif(frames[:3], tmp_path / "out" / "anim.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 3
    assert plotting.figure_to_array(frames[3]).shape[-1] == 3
    with pytest.raises(ValueError, match="at least one frame"):
        plotting.save_gif([], tmp_path / "empty.gif")


def test_heatmap_labels_and_values():
    matrix = np.arange(6).reshape(2, 3)
    fig = plotting.heatmap(matrix, row_labels=["a", "b"], col_labels=["x", "y", "z"],
                           annotate=True)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), matrix)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert len(ax.texts) == 6
    with pytest.raises(ValueError, match="2 labels for 3 columns"):
        plotting.heatmap(matrix, col_labels=["x", "y"])


def test_plot_curves_uses_shared_x():
    fig = plotting.plot_curves({"a": [1, 4, 9]}, x=[1, 2, 3], marker="o")
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])
    with pytest.raises(ValueError, match="3 values for 2 x values"):
        plotting.plot_curves({"a": [1, 4, 9]}, x=[1, 2])


def test_plot_curves_accepts_one_x_per_curve():
    fig = plotting.plot_curves({"a": [1, 4], "b": [2, 3, 5]}, x={"a": [10, 20], "b": [5, 6, 7]})
    lines = fig.axes[0].lines
    np.testing.assert_array_equal(lines[0].get_xdata(), [10, 20])
    np.testing.assert_array_equal(lines[1].get_xdata(), [5, 6, 7])
