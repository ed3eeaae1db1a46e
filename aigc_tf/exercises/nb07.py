"""Hidden cases for notebook 07 (conditional VAE)."""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


@exercise("07.conditional_input",
          hint="one-hot encode the labels (a row of zeros with a 1 in column y) and put them "
               "AFTER the features: np.concatenate([features, one_hot], axis=1)")
def _conditional_input_cases(conditional_input):
    rng = np.random.default_rng(7)
    cases = [("one 2-D code with label 3 of 10", rng.normal(size=(1, 2)), np.array([3]), 10),
             ("three codes, labels 0, 9, 0 of 10", rng.normal(size=(3, 2)),
              np.array([0, 9, 0]), 10),
             ("five 8-D features, labels of 4 classes", rng.normal(size=(5, 8)),
              rng.integers(0, 4, size=5), 4),
             ("a batch of 256-D features, 10 classes", rng.normal(size=(16, 256)),
              rng.integers(0, 10, size=16), 10)]
    return check_cases(conditional_input, cases, _keras_conditional_input, rtol=1e-6,
                       atol=1e-6)


def _keras_conditional_input(features, labels, num_classes):
    """Exactly what the library's CVAE builders do with their two inputs."""
    import keras

    one_hot = keras.ops.one_hot(labels, num_classes)
    return keras.ops.convert_to_numpy(
        keras.layers.Concatenate()([features.astype("float32"), one_hot]))


@exercise("07.style_transfer_inputs",
          hint="row i * num_classes + c must hold style z[i] with label c: np.repeat the codes "
               "(each one num_classes times in a row) and np.tile the labels 0..num_classes-1")
def _style_transfer_inputs_cases(style_transfer_inputs):
    rng = np.random.default_rng(70)
    cases = [("one 2-D style, 10 classes", rng.normal(size=(1, 2)), 10),
             ("three 2-D styles, 10 classes", rng.normal(size=(3, 2)), 10),
             ("two 5-D styles, 3 classes", rng.normal(size=(2, 5)), 3)]
    for name, z, num_classes in cases:
        got = style_transfer_inputs(z.copy(), num_classes)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise ExerciseFailure(f"{name}: expected a pair (z_rows, labels), got {got!r}")
        z_rows, labels = got
        expected_z = np.stack([style for style in z for _ in range(num_classes)])
        expected_labels = np.array([c for _ in z for c in range(num_classes)])
        expect_close(f"{name}: z_rows", z_rows, expected_z)
        expect_close(f"{name}: labels", labels, expected_labels, rtol=0, atol=0)
    return len(cases)
