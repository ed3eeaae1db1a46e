"""Hidden cases for notebook 05 (conditional GAN)."""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, exercise, expect_close


def _pair(case, answer):
    """The (noise, labels) pair a grid builder returns, or an ExerciseFailure naming ``case``."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise ExerciseFailure(
            f"{case}: expected a pair (noise, labels), got {type(answer).__name__}")
    return answer


@exercise("05.one_row_per_digit",
          hint="row k repeats every noise vector with label k: the noise block is the whole set "
               "of noise vectors stacked once per class (np.tile), the labels are each class "
               "repeated once per column (np.repeat)")
def _one_row_per_digit_cases(one_row_per_digit):
    rng = np.random.default_rng(5)
    cases = [("3 noise vectors of size 2, 4 classes", 3, 2, 4),
             ("6 noise vectors of size 5, 10 classes", 6, 5, 10),
             ("1 noise vector of size 3, 7 classes", 1, 3, 7),
             ("4 noise vectors of size 1, 2 classes", 4, 1, 2)]
    for name, columns, latent_dim, num_classes in cases:
        noise_vectors = rng.normal(size=(columns, latent_dim)).astype("float32")
        # Grid cell (row k, column j) asks for digit k with noise vector j, read row by row.
        expected_noise = [noise_vectors[j] for k in range(num_classes) for j in range(columns)]
        expected_labels = [k for k in range(num_classes) for _ in range(columns)]
        noise, labels = _pair(name, one_row_per_digit(noise_vectors.copy(), num_classes))
        expect_close(f"{name}, noise", noise, np.array(expected_noise), rtol=0, atol=0)
        if not np.issubdtype(np.asarray(labels).dtype, np.integer):
            raise ExerciseFailure(f"{name}, labels: expected integer labels (the embedding "
                                  f"looks them up), got dtype {np.asarray(labels).dtype}")
        expect_close(f"{name}, labels", labels, np.array(expected_labels), rtol=0, atol=0)
    return len(cases)


def _random_projection_discriminator(rng, image_size, num_classes):
    """The library's projection discriminator on small images, with random weights."""
    import keras

    from aigc_tf.models.gan import build_dcgan_discriminator

    discriminator = build_dcgan_discriminator(image_shape=(image_size, image_size, 1), filters=2,
                                              num_classes=num_classes)
    discriminator.set_weights([rng.normal(size=w.shape).astype("float32")
                               for w in discriminator.get_weights()])
    features = keras.Model(discriminator.inputs[0], discriminator.get_layer("d_flatten").output)
    return discriminator, features


@exercise("05.projection_logit",
          hint="logit_i = w . h_i + b + v_{y_i} . h_i: class_vectors[labels] picks the row v_y "
               "of each image, and both dot products are sums over the feature axis; return "
               "one number per image, shape (N,)")
def _projection_logit_cases(projection_logit):
    rng = np.random.default_rng(50)
    cases = [("5 images, 3 classes", 5, 8, 3, None),
             ("4 images, 10 classes", 4, 12, 10, None),
             ("one image of class 0", 1, 8, 4, [0]),
             ("6 images all of class 2", 6, 8, 3, [2] * 6)]
    for name, count, size, num_classes, labels in cases:
        discriminator, features_of = _random_projection_discriminator(rng, size, num_classes)
        images = rng.uniform(-1, 1, size=(count, size, size, 1)).astype("float32")
        labels = (rng.integers(0, num_classes, size=count) if labels is None
                  else np.array(labels)).astype("int32")
        expected = np.asarray(discriminator([images, labels], training=False))[:, 0]
        features = np.asarray(features_of(images, training=False))
        kernel, bias = discriminator.get_layer("logit").get_weights()
        class_vectors = discriminator.get_layer("d_label_embedding").get_weights()[0]
        got = projection_logit(features, labels.copy(), kernel[:, 0].copy(), float(bias[0]),
                               class_vectors.copy())
        expect_close(name, got, expected, rtol=1e-4, atol=1e-4)
    return len(cases)
