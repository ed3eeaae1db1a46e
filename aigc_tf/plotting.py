"""Figures for the course. Every function returns a matplotlib ``Figure``.

Figures are plain ``matplotlib.figure.Figure`` objects, not pyplot figures: scripts and tests
need no display and no ``plt.close``, and a notebook shows a returned figure once, as the
cell's result (or with ``display(fig)``); ``fig.savefig(path)`` writes it to a file.
"""

import numpy as np
from matplotlib.figure import Figure

from aigc_tf.data import rescale


def _new_figure(figsize, layout=None):
    return Figure(figsize=figsize, layout=layout)


def _show_figures_in_notebooks():
    """Let IPython render a plain ``Figure`` returned by a cell (pyplot does this itself)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        png = shell.display_formatter.formatters["image/png"]
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_show_figures_in_notebooks()


def image_grid(images, ncols=10, value_range=(0, 1), titles=None, row_labels=None, size=1.0,
               suptitle=None):
    """Show a batch of images in a grid.

    Args:
        images: array ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)``.
        ncols: images per row.
        value_range: range of the pixel values, ``(0, 1)``, ``(-1, 1)`` or ``(0, 255)``.
        titles: optional list of N short titles.
        row_labels: optional list with one label per row, written left of the row.
        size: inches per image.
        suptitle: optional figure title.

    Example:
        >>> fig = image_grid(np.zeros((20, 28, 28, 1)), ncols=10)
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise ValueError(
            f"images must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {images.shape}"
        )
    count = len(images)
    ncols = max(1, min(ncols, count))
    nrows = -(-count // ncols)
    extra_height = 0.4 * bool(suptitle) + 0.2 * nrows * (titles is not None)
    fig = _new_figure((ncols * size, nrows * size + extra_height), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.02, hspace=0.02)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    pixels = rescale(images, value_range, (0, 1)).clip(0, 1)
    for index, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
        if index >= count:
            continue
        ax.imshow(pixels[index], cmap="gray" if pixels.ndim == 3 else None, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(str(titles[index]), fontsize=8)
    if row_labels is not None:
        for row, label in enumerate(row_labels[:nrows]):
            axes[row * ncols].set_ylabel(str(label), rotation=0, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_history(history, keys=None, title=None, logy=False):
    """Plot training curves from a Keras ``History`` (or its ``.history`` dict).

    Each metric gets one panel; ``val_<name>`` is drawn in the same panel as ``<name>``.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("history must be a keras History or a non-empty dict of lists")
    keys = keys or [k for k in logs if not k.startswith("val_")]
    missing = [k for k in keys if k not in logs]
    if missing:
        raise ValueError(f"metrics {missing} not in history; available: {sorted(logs)}")
    fig = _new_figure((4 * len(keys), 3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(keys), squeeze=False)).ravel()
    for ax, key in zip(axes, keys, strict=True):
        epochs = np.arange(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], marker=".", label="train")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], marker=".", label="validation")
            ax.legend()
        ax.set_xlabel("epoch")
        ax.set_title(key)
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def plot_curves(curves, x=None, xlabel="step", ylabel=None, title=None, logy=False,
                marker=None):
    """Plot named 1-D sequences in one panel, e.g. ``{"sigmoid": [...], "relu": [...]}``.

    Args:
        curves: dict of name -> sequence of y values.
        x: optional x values: one sequence shared by all curves, or a dict name -> sequence
            for curves sampled at different points (default 0, 1, 2, ...).
        marker: optional matplotlib marker such as ``"o"``.
    """
    if not curves:
        raise ValueError("curves must be a non-empty dict of name -> sequence")
    fig = _new_figure((5, 3.2), layout="constrained")
    ax = fig.subplots()
    for name, values in curves.items():
        xs = x.get(name) if isinstance(x, dict) else x
        xs = np.arange(len(values)) if xs is None else np.asarray(xs)
        if len(xs) != len(values):
            raise ValueError(f"curve {name!r} has {len(values)} values for {len(xs)} x values")
        ax.plot(xs, values, label=name, marker=marker)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def scatter_2d(point_sets, title=None, limit=None, size=4, ax=None):
    """Scatter one or more named 2-D point clouds, e.g. ``{"data": x, "samples": g}``.

    Pass ``ax`` to draw into an existing axes (the figure is still returned).
    """
    if not isinstance(point_sets, dict):
        point_sets = {"points": point_sets}
    for name, points in point_sets.items():
        if np.ndim(points) != 2 or np.shape(points)[1] != 2:
            raise ValueError(f"{name!r} must have shape (N, 2), got {np.shape(points)}")
    if ax is None:
        fig = _new_figure((4, 4))
        ax = fig.subplots()
    else:
        fig = ax.figure
    for name, points in point_sets.items():
        points = np.asarray(points)
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.5, label=name)
    if limit is not None:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    if len(point_sets) > 1:
        ax.legend(loc="upper right", markerscale=3)
    return fig


def density_contour(log_density, limit=4.0, points=None, resolution=120, title=None,
                    levels=12, colorbar_label="p(x)", point_colors=None):
    """Contour plot of a 2-D density given as a function ``log_density(xy) -> (N,)``.

    Args:
        log_density: callable taking an ``(N, 2)`` array, returning log-densities (or the
            log of any positive quantity, such as a class probability).
        limit: the plot covers ``[-limit, limit]^2``.
        points: optional ``(N, 2)`` samples drawn on top.
        resolution: grid points per axis.
        colorbar_label: what the colours mean.
        point_colors: optional per-point values (e.g. labels) to colour the points by.
    """
    ticks = np.linspace(-limit, limit, resolution)
    xx, yy = np.meshgrid(ticks, ticks)
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1).astype("float32")
    density = np.exp(np.asarray(log_density(grid))).reshape(xx.shape)
    fig = _new_figure((4.8, 4), layout="constrained")
    ax = fig.subplots()
    filled = ax.contourf(xx, yy, density, levels=levels, cmap="viridis")
    fig.colorbar(filled, ax=ax, label=colorbar_label)
    if points is not None:
        points = np.asarray(points)
        style = ({"c": "white"} if point_colors is None
                 else {"c": point_colors, "cmap": "coolwarm"})
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6, edgecolors="none", **style)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return fig


def heatmap(matrix, row_labels=None, col_labels=None, title=None, xlabel=None, ylabel=None,
            colorbar_label=None, size=5.0, annotate=False):
    """Show a 2-D array as a colour image, e.g. attention weights or transition probabilities.

    Args:
        matrix: array of shape ``(rows, cols)``.
        row_labels, col_labels: optional tick labels (strings) for rows and columns.
        annotate: write each value in its cell (for small matrices).

    Example:
        >>> fig = heatmap(np.eye(3), row_labels=list("abc"), col_labels=list("abc"))
    """
    matrix = np.asarray(matrix, dtype="float64")
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    for labels, count, axis in ((row_labels, matrix.shape[0], "rows"),
                                (col_labels, matrix.shape[1], "columns")):
        if labels is not None and len(labels) != count:
            raise ValueError(f"{len(labels)} labels for {count} {axis}")
    fig = _new_figure((size * 1.15, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax, label=colorbar_label)
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), [str(label) for label in row_labels])
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), [str(label) for label in col_labels])
    if annotate:
        middle = (matrix.max() + matrix.min()) / 2
        for (row, col), value in np.ndenumerate(matrix):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if value > middle else "white")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def figure_to_array(fig, dpi=80):
    """Render a figure to an RGB ``uint8`` array (for GIF frames)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_gif(frames, path, fps=4):
    """Write an animated GIF from figures or ``(H, W[, 3])`` arrays; returns the path.

    Frames in [0, 1] floats or ``uint8`` are accepted.
    """
    from pathlib import Path

    from PIL import Image

    if len(frames) == 0:
        raise ValueError("save_gif needs at least one frame")
    images = []
    for frame in frames:
        array = figure_to_array(frame) if hasattr(frame, "savefig") else np.asarray(frame)
        if array.dtype != np.uint8:
            array = (np.clip(array, 0, 1) * 255).round().astype("uint8")
        images.append(Image.fromarray(array.squeeze()))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=0)
    return path


def plot_nearest_training(samples, train_images, nearest_index, ratios=None, value_range=(0, 1),
                          num=8):
    """Show samples (top row) above their nearest training images (bottom row).

    Use it with :func:`aigc_tf.metrics.images.memorisation` to see whether close samples are
    copies. With ``ratios`` the ``num`` most copy-like samples (smallest ratios) are shown,
    each titled with its ratio; without, the first ``num``.

    Args:
        samples: images, shape ``(N, H, W)`` or ``(N, H, W, 1)``.
        train_images: the training images that ``nearest_index`` points into.
        nearest_index: index of each sample's nearest training image, shape ``(N,)``.
        ratios: optional distance ratio of each sample, shape ``(N,)``.
        value_range: pixel range of both sets of images.
        num: number of pairs to show.

    Example:
        >>> fig = plot_nearest_training(np.zeros((3, 28, 28, 1)), np.ones((5, 28, 28, 1)),
        ...                             [4, 0, 2], ratios=[0.9, 0.1, 0.5])
    """
    samples = np.asarray(samples)
    nearest_index = np.asarray(nearest_index)
    if nearest_index.shape != (len(samples),):
        raise ValueError(f"nearest_index must have shape ({len(samples)},), one index per "
                         f"sample, got {nearest_index.shape}")
    if ratios is None:
        order = np.arange(min(num, len(samples)))
        titles = None
    else:
        ratios = np.asarray(ratios, dtype="float64")
        if ratios.shape != (len(samples),):
            raise ValueError(f"ratios must have shape ({len(samples)},), got {ratios.shape}")
        order = np.argsort(ratios, kind="stable")[:num]
        titles = [f"ratio {ratio:.2f}" for ratio in ratios[order]] + [""] * len(order)
    pairs = np.concatenate([samples[order], np.asarray(train_images)[nearest_index[order]]])
    return image_grid(pairs, ncols=len(order), value_range=value_range, titles=titles,
                      row_labels=["sample", "nearest\ntraining"])
