"""GAN networks: MLP generator and discriminator for 2-D toy data, DCGAN ones for MNIST.

The DCGAN builders take ``num_classes`` for a conditional GAN: the generator embeds the label
next to the noise, the discriminator adds a projection of the label onto its features.
"""

import keras

from aigc_tf import data


def _dense_stack(x, hidden, name):
    for index, width in enumerate(hidden):
        x = keras.layers.Dense(width, name=f"{name}_dense{index}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"{name}_act{index}")(x)
    return x


def build_mlp_generator(latent_dim=8, data_dim=2, hidden=(128, 128)):
    """MLP generator for 2-D toy data: noise -> LeakyReLU hidden layers -> linear output.

    Args:
        latent_dim: noise dimension.
        data_dim: dimension of a data point.
        hidden: widths of the hidden layers.

    Example:
        >>> build_mlp_generator(latent_dim=8).output_shape
        (None, 2)
    """
    noise = keras.Input((latent_dim,), name="noise")
    x = _dense_stack(noise, hidden, "g")
    points = keras.layers.Dense(data_dim, name="points")(x)
    return keras.Model(noise, points, name="mlp_generator")


def build_mlp_discriminator(data_dim=2, hidden=(128, 128)):
    """MLP discriminator for 2-D toy data: point -> LeakyReLU hidden layers -> one logit.

    Example:
        >>> build_mlp_discriminator().output_shape
        (None, 1)
    """
    points = keras.Input((data_dim,), name="points")
    x = _dense_stack(points, hidden, "d")
    logit = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(points, logit, name="mlp_discriminator")


def _check_image_shape(image_shape):
    if len(image_shape) != 3 or any(int(s) < 1 for s in image_shape):
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape!r}")
    height, width, _ = image_shape
    if height % 4 or width % 4:
        raise ValueError(
            f"the DCGAN generator upsamples twice by 2, so height and width must be multiples "
            f"of 4; it cannot produce images of shape {tuple(image_shape)}"
        )


def _label_input(num_classes, embed_dim, name):
    labels = keras.Input((), dtype="int32", name="labels")
    # Unit-scale embeddings: the label starts as loud as the noise instead of near zero.
    embedded = keras.layers.Embedding(num_classes, embed_dim, name=f"{name}_label_embedding",
                                      embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0))
    return labels, embedded(labels)


def build_dcgan_generator(latent_dim=64, image_shape=data.MNIST_SHAPE, filters=64,
                          num_classes=None, label_dim=16):
    """DCGAN generator: Dense -> reshape -> two stride-2 Conv2DTranspose -> tanh image.

    Dense (to a 1/4-resolution map with ``filters`` channels), BatchNorm, LeakyReLU; a
    stride-2 transposed convolution to ``filters // 2`` channels, BatchNorm, LeakyReLU; a
    stride-2 transposed convolution to the image channels with tanh, so pixels are in [-1, 1].
    With ``num_classes`` the generator takes ``[noise, labels]`` and concatenates a learned
    label embedding to the noise.

    Args:
        latent_dim: noise dimension.
        image_shape: ``(height, width, channels)``, height and width multiples of 4.
        filters: channels of the 1/4-resolution feature map.
        num_classes: number of labels for a conditional generator (None: unconditional).
        label_dim: size of the label embedding.

    Example:
        >>> build_dcgan_generator(latent_dim=64).output_shape
        (None, 28, 28, 1)
    """
    _check_image_shape(image_shape)
    height, width, channels = image_shape
    noise = keras.Input((latent_dim,), name="noise")
    inputs, x = noise, noise
    if num_classes is not None:
        labels, embedded = _label_input(num_classes, label_dim, "g")
        inputs = [noise, labels]
        x = keras.layers.Concatenate(name="g_noise_label")([noise, embedded])
    x = keras.layers.Dense(height // 4 * width // 4 * filters, use_bias=False, name="g_project")(x)
    x = keras.layers.BatchNormalization(name="g_project_bn")(x)
    x = keras.layers.LeakyReLU(0.2, name="g_project_act")(x)
    x = keras.layers.Reshape((height // 4, width // 4, filters), name="g_reshape")(x)
    x = keras.layers.Conv2DTranspose(filters // 2, 4, strides=2, padding="same", use_bias=False,
                                     name="g_up")(x)
    x = keras.layers.BatchNormalization(name="g_up_bn")(x)
    x = keras.layers.LeakyReLU(0.2, name="g_up_act")(x)
    images = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                          activation="tanh", name="g_image")(x)
    return keras.Model(inputs, images, name="dcgan_generator")


def build_dcgan_discriminator(image_shape=data.MNIST_SHAPE, filters=32, dropout=0.3,
                              num_classes=None):
    """DCGAN discriminator: two stride-2 Conv2D with LeakyReLU and Dropout -> one logit.

    With ``num_classes`` it takes ``[images, labels]`` and is a *projection* discriminator:
    ``logit = w . h(x) + e_y . h(x)`` where ``h(x)`` are the flattened convolutional features
    and ``e_y`` a learned embedding of the label, so the logit directly rewards features that
    match the requested class.

    Args:
        image_shape: ``(height, width, channels)`` of the images.
        filters: channels of the first convolution (doubled in the second).
        dropout: dropout rate after each convolution block.
        num_classes: number of labels for a conditional discriminator (None: unconditional).

    Example:
        >>> build_dcgan_discriminator().output_shape
        (None, 1)
    """
    _check_image_shape(image_shape)
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    for index, conv_filters in enumerate((filters, filters * 2)):
        x = keras.layers.Conv2D(conv_filters, 4, strides=2, padding="same",
                                name=f"d_conv{index}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"d_conv{index}_act")(x)
        x = keras.layers.Dropout(dropout, name=f"d_conv{index}_dropout")(x)
    features = keras.layers.Flatten(name="d_flatten")(x)
    logit = keras.layers.Dense(1, name="logit")(features)
    if num_classes is None:
        return keras.Model(images, logit, name="dcgan_discriminator")
    labels = keras.Input((), dtype="int32", name="labels")
    label_vector = keras.layers.Embedding(num_classes, features.shape[-1],
                                          name="d_label_embedding")(labels)
    projection = keras.layers.Dot(axes=1, name="d_projection")([label_vector, features])
    logit = keras.layers.Add(name="conditional_logit")([logit, projection])
    return keras.Model([images, labels], logit, name="dcgan_discriminator")
