"""Magnitude pruning: zero the smallest weights, following a polynomial sparsity schedule.

Keras 3 has no pruning API and ``tensorflow-model-optimization`` does not support Keras 3, so
this module implements the method of Zhu & Gupta (2017, "To prune, or not to prune") as a
Keras callback. The target sparsity grows from ``s_0`` to ``s_f`` between steps ``t_0`` and
``t_1`` as

.. math:: s_t = s_f + (s_0 - s_f)\\left(1 - \\frac{t - t_0}{t_1 - t_0}\\right)^{p}

(``p = 3``: prune fast while many weights are redundant, slowly near the end). Whenever the
target changes, each layer's mask keeps its largest-magnitude weights, and after *every*
training step the masks are multiplied in again, so a weight the optimizer nudges away from
zero is zero again before the next forward pass.
"""

import keras
import numpy as np

PRUNABLE_LAYERS = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose,
                   keras.layers.EinsumDense)


def _check_sparsity(value, name):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")


def polynomial_sparsity(step, final_sparsity, begin_step, end_step, initial_sparsity=0.0,
                        power=3):
    """The sparsity to reach at ``step``: polynomial decay from the initial to the final value.

    Args:
        step: the training step (before ``begin_step``: the initial sparsity; after
            ``end_step``: the final one).
        final_sparsity: target share of zero weights, in ``[0, 1)``.
        begin_step: step at which pruning starts.
        end_step: step at which the final sparsity is reached (``> begin_step``).
        initial_sparsity: share of zeros at ``begin_step``.
        power: exponent ``p`` of the schedule.

    Returns:
        A float in ``[0, 1)``.

    Example:
        >>> [round(polynomial_sparsity(t, 0.8, 0, 100), 3) for t in (0, 25, 50, 100, 200)]
        [0.0, 0.463, 0.7, 0.8, 0.8]
    """
    _check_sparsity(final_sparsity, "final_sparsity")
    _check_sparsity(initial_sparsity, "initial_sparsity")
    if not (isinstance(begin_step, int) and isinstance(end_step, int)
            and 0 <= begin_step < end_step):
        raise ValueError(f"need integer steps with 0 <= begin_step < end_step, got "
                         f"begin_step={begin_step!r}, end_step={end_step!r}")
    if not power > 0:
        raise ValueError(f"power must be > 0, got {power!r}")
    progress = min(max((step - begin_step) / (end_step - begin_step), 0.0), 1.0)
    return final_sparsity + (initial_sparsity - final_sparsity) * (1.0 - progress) ** power


def prunable_weights(model):
    """The kernels that pruning acts on: those of Dense, Conv2D(Transpose) and EinsumDense layers.

    Biases, normalisation and embedding weights are few and sensitive, so they stay dense.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
        ...                           keras.layers.LayerNormalization()])
        >>> [tuple(w.shape) for w in prunable_weights(model)]
        [(4, 3)]
    """
    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError("model must be a built keras.Model")
    kernels = [layer.kernel for layer in model._flatten_layers(include_self=False)
               if isinstance(layer, PRUNABLE_LAYERS) and layer.built]
    if not kernels:
        raise ValueError(f"model {model.name!r} has no Dense or convolution kernels to prune")
    return kernels


def _magnitude_mask(values, sparsity):
    """1 for the weights to keep, 0 for the ``round(sparsity * size)`` smallest in magnitude."""
    num_zeros = int(round(sparsity * values.size))
    mask = np.ones(values.size, dtype=values.dtype)
    mask[np.argsort(np.abs(values), axis=None, kind="stable")[:num_zeros]] = 0
    return mask.reshape(values.shape)


def prune_by_magnitude(model, sparsity):
    """Zero the smallest ``sparsity`` share of each prunable kernel in place, once (no training).

    Returns:
        The masks (NumPy arrays, 1 = kept), one per :func:`prunable_weights` entry.

    Example:
        >>> model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10)])
        >>> masks = prune_by_magnitude(model, 0.7)
        >>> round(weight_sparsity(model), 2)
        0.7
    """
    _check_sparsity(sparsity, "sparsity")
    masks = []
    for kernel in prunable_weights(model):
        values = keras.ops.convert_to_numpy(kernel)
        masks.append(_magnitude_mask(values, sparsity))
        kernel.assign(values * masks[-1])
    return masks


def weight_sparsity(model):
    """Share of exactly-zero values among the model's prunable kernels.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
        >>> _ = model.layers[0].kernel.assign([[0.0, 1.0], [0.0, 2.0]])
        >>> weight_sparsity(model)
        0.5
    """
    kernels = [keras.ops.convert_to_numpy(k) for k in prunable_weights(model)]
    return float(sum(np.sum(k == 0) for k in kernels) / sum(k.size for k in kernels))


class MagnitudePruning(keras.callbacks.Callback):
    """Prune a model while it trains: polynomial schedule, masks re-applied after every step.

    Every ``frequency`` steps between ``begin_step`` and ``end_step`` (and at ``end_step``)
    the masks are recomputed from the current weights' magnitudes at the scheduled sparsity
    (:func:`polynomial_sparsity`); after every training step the masks are applied, so pruned
    weights stay zero whatever the optimizer does. At the end of each epoch the actual share
    of zeros is added to the logs as ``sparsity`` (so it appears in ``History``).

    Args:
        final_sparsity: share of each kernel's weights to remove, in ``[0, 1)``.
        end_step: training step at which the final sparsity is reached.
        begin_step: step at which pruning starts.
        frequency: steps between mask updates (fine-tuning in between lets the remaining
            weights compensate).
        initial_sparsity: sparsity at ``begin_step``.
        power: exponent of the schedule.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
        ...                           keras.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> x, y = np.ones((64, 4)), np.ones((64, 1))
        >>> pruning = MagnitudePruning(final_sparsity=0.75, end_step=6, frequency=2)
        >>> history = model.fit(x, y, batch_size=8, epochs=2, callbacks=[pruning], verbose=0)
        >>> round(history.history["sparsity"][-1], 2), round(weight_sparsity(model), 2)
        (0.75, 0.75)
    """

    def __init__(self, final_sparsity, end_step, begin_step=0, frequency=10,
                 initial_sparsity=0.0, power=3):
        super().__init__()
        polynomial_sparsity(begin_step, final_sparsity, begin_step, end_step,
                            initial_sparsity, power)  # validates every argument
        if not isinstance(frequency, int) or frequency < 1:
            raise ValueError(f"frequency must be a positive integer, got {frequency!r}")
        self.final_sparsity = final_sparsity
        self.begin_step, self.end_step = begin_step, end_step
        self.frequency = frequency
        self.initial_sparsity, self.power = initial_sparsity, power
        self.step = 0
        self.masks = None

    def scheduled_sparsity(self, step):
        """The schedule's sparsity at ``step``."""
        return polynomial_sparsity(step, self.final_sparsity, self.begin_step, self.end_step,
                                   self.initial_sparsity, self.power)

    def _is_update_step(self):
        in_window = self.begin_step <= self.step <= self.end_step
        return in_window and ((self.step - self.begin_step) % self.frequency == 0
                              or self.step == self.end_step)

    def on_train_begin(self, logs=None):
        self.kernels = prunable_weights(self.model)
        if self.masks is None:
            self.masks = [np.ones(k.shape, dtype="float32") for k in self.kernels]

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        values = [keras.ops.convert_to_numpy(kernel) for kernel in self.kernels]
        if self._is_update_step():
            sparsity = self.scheduled_sparsity(self.step)
            self.masks = [_magnitude_mask(v, sparsity) for v in values]
        for kernel, value, mask in zip(self.kernels, values, self.masks, strict=True):
            kernel.assign(value * mask)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["sparsity"] = weight_sparsity(self.model)
