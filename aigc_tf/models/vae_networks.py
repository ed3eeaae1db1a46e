"""The VAE's networks: the reparameterised ``Sampling`` layer and MLP / conv encoders and decoders.

Encoders map an image (and, for a conditional model, a one-hot label) to ``[z_mean,
z_log_var]``; decoders map ``z`` (and the label) to image *logits*.
"""

import keras
import numpy as np
from keras import ops

from aigc_tf.data import MNIST_SHAPE
from aigc_tf.models.replicas import replica_normal


def _check_latent_dim(latent_dim):
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")


def _check_filters(filters):
    if len(filters) not in (1, 2) or any(int(f) < 1 for f in filters):
        raise ValueError(
            f"filters must be 1 or 2 positive channel counts (28 -> 14 -> 7), got {filters!r}"
        )


@keras.saving.register_keras_serializable(package="aigc_tf")
class Sampling(keras.layers.Layer):
    """Reparameterised draw ``z = mu + exp(0.5 * log_var) * eps`` with ``eps ~ N(0, I)``.

    The randomness sits in ``eps``, outside the network, so gradients flow through ``mu``
    and ``log_var``.

    Args:
        seed: optional integer seed for the layer's ``keras.random.SeedGenerator``.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> z = Sampling(seed=0)([np.zeros((4, 2)), np.zeros((4, 2))])
        >>> tuple(z.shape)
        (4, 2)
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = replica_normal(ops.shape(z_mean), self.seed_generator, z_mean.dtype)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _label_input(num_classes):
    return keras.Input(shape=(num_classes,), name="label_one_hot")


def _encoder_head(features, inputs, latent_dim, hidden_units, num_classes, name):
    if num_classes:
        label = _label_input(num_classes)
        inputs = [inputs, label]
        features = keras.layers.Concatenate()([features, label])
    if hidden_units:
        features = keras.layers.Dense(hidden_units, activation="relu")(features)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(features)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(features)
    return keras.Model(inputs, [z_mean, z_log_var], name=name)


def _decoder_input(latent_dim, num_classes):
    z = keras.Input(shape=(latent_dim,), name="z")
    if not num_classes:
        return z, z
    label = _label_input(num_classes)
    return [z, label], keras.layers.Concatenate()([z, label])


def build_conv_encoder(latent_dim=16, filters=(32, 64), hidden_units=256, num_classes=None,
                       name="encoder"):
    """Convolutional encoder for 28x28x1 images: ``x -> [z_mean, z_log_var]``.

    Stride-2 3x3 convolutions (28 -> 14 -> 7), a ReLU dense layer, then two linear heads.

    Args:
        latent_dim: size of z (2 for plots, 16-32 for quality).
        filters: channels of the stride-2 convolutions (one or two entries).
        hidden_units: width of the dense layer before the heads (0 for none).
        num_classes: for a conditional VAE, the encoder also takes a one-hot label of this
            size (concatenated to the image features).
        name: model name.

    Example:
        >>> encoder = build_conv_encoder(latent_dim=2)
        >>> [tuple(t.shape) for t in encoder.outputs]
        [(None, 2), (None, 2)]
    """
    _check_latent_dim(latent_dim)
    _check_filters(filters)
    image = keras.Input(shape=MNIST_SHAPE, name="image")
    x = image
    for channels in filters:
        x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    return _encoder_head(x, image, latent_dim, hidden_units, num_classes, name)


def build_conv_decoder(latent_dim=16, filters=(64, 32), hidden_units=256, num_classes=None,
                       name="decoder"):
    """Convolutional decoder for 28x28x1 images: ``z -> logits`` (apply a sigmoid for pixels).

    A ReLU dense layer, a dense layer reshaped to a small feature map, stride-2 transposed
    convolutions back up to 28x28, and a 3x3 convolution to one channel of logits.

    Args:
        latent_dim: size of z.
        filters: channels of the transposed convolutions (one or two entries; the first is
            also the depth of the reshaped feature map).
        hidden_units: width of the first dense layer (0 for none).
        num_classes: for a conditional VAE, the decoder also takes a one-hot label.
        name: model name.

    Example:
        >>> decoder = build_conv_decoder(latent_dim=2)
        >>> decoder.output_shape
        (None, 28, 28, 1)
    """
    _check_latent_dim(latent_dim)
    _check_filters(filters)
    inputs, x = _decoder_input(latent_dim, num_classes)
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu")(x)
    side = MNIST_SHAPE[0] // 2 ** len(filters)
    x = keras.layers.Dense(side * side * filters[0], activation="relu")(x)
    x = keras.layers.Reshape((side, side, filters[0]))(x)
    for channels in filters:
        x = keras.layers.Conv2DTranspose(channels, 3, strides=2, padding="same",
                                         activation="relu")(x)
    logits = keras.layers.Conv2D(MNIST_SHAPE[-1], 3, padding="same", name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def build_mlp_encoder(latent_dim=2, hidden_units=(512, 256), num_classes=None, name="encoder"):
    """Fully connected encoder for 28x28x1 images: flatten, ReLU layers, two linear heads.

    Args:
        latent_dim: size of z.
        hidden_units: widths of the hidden layers (the last one sees the label, if any).
        num_classes: for a conditional VAE, the size of the one-hot label input.
        name: model name.

    Example:
        >>> build_mlp_encoder(latent_dim=2).count_params()
        534276
    """
    _check_latent_dim(latent_dim)
    image = keras.Input(shape=MNIST_SHAPE, name="image")
    x = keras.layers.Flatten()(image)
    for units in hidden_units[:-1]:
        x = keras.layers.Dense(units, activation="relu")(x)
    last = hidden_units[-1] if hidden_units else 0
    return _encoder_head(x, image, latent_dim, last, num_classes, name)


def build_mlp_decoder(latent_dim=2, hidden_units=(256, 512), num_classes=None, name="decoder"):
    """Fully connected decoder: ``z -> `` ReLU layers ``->`` 784 logits reshaped to 28x28x1.

    Args:
        latent_dim: size of z.
        hidden_units: widths of the hidden layers.
        num_classes: for a conditional VAE, the size of the one-hot label input.
        name: model name.

    Example:
        >>> build_mlp_decoder(latent_dim=2).output_shape
        (None, 28, 28, 1)
    """
    _check_latent_dim(latent_dim)
    inputs, x = _decoder_input(latent_dim, num_classes)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dense(int(np.prod(MNIST_SHAPE)))(x)
    logits = keras.layers.Reshape(MNIST_SHAPE, name="logits")(x)
    return keras.Model(inputs, logits, name=name)
