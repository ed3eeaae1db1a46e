"""Hidden cases for notebook 15 (transfer learning and fine-tuning)."""

import numpy as np

from aigc_tf.exercises import ExerciseFailure, check_cases, exercise, expect_close


@exercise("15.nearest_centroid",
          hint="average the training features of each class (one centroid per label that "
               "occurs), give each test vector the label of the closest centroid (Euclidean "
               "distance), return the share of test labels matched")
def _nearest_centroid_cases(nearest_centroid):
    from aigc_tf.transfer import nearest_centroid_accuracy

    rng = np.random.default_rng(15)
    centres = rng.normal(scale=3.0, size=(4, 6))
    labels = np.repeat(np.arange(4), 3)
    test_labels = np.repeat(np.arange(4), 25)
    cases = [
        ("two classes in 2-D, one test point misclassified",
         np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0]]), np.array([0, 0, 1, 1]),
         np.array([[1.0, 0.0], [5.0, 6.0], [0.0, 6.0]]), np.array([0, 1, 1])),
        ("labels 3 and 7 (not 0 and 1)", np.array([[0.0], [1.0], [10.0]]), np.array([3, 3, 7]),
         np.array([[0.4], [5.4], [9.0]]), np.array([3, 7, 7])),
        ("4 noisy classes in 6-D, 3 labelled examples each",
         centres[labels] + rng.normal(scale=2.0, size=(12, 6)), labels,
         centres[test_labels] + rng.normal(scale=2.0, size=(100, 6)), test_labels),
    ]
    return check_cases(nearest_centroid, cases, nearest_centroid_accuracy, rtol=0, atol=1e-9)


def _toy_model(keras):
    return keras.Sequential([keras.Input((4,)),
                             keras.layers.Dense(8, activation="relu", name="body"),
                             keras.layers.LayerNormalization(name="norm"),
                             keras.layers.Dense(3, name="head")], name="toy")


@exercise("15.freeze_all_but",
          hint="for every layer in model.layers set layer.trainable = (layer.name in keep); "
               "then count the entries of model.trainable_weights (sum of np.prod(w.shape))")
def _freeze_all_but_cases(freeze_all_but):
    import keras

    sizes = {"body": 4 * 8 + 8, "norm": 8 + 8, "head": 8 * 3 + 3}
    cases = [("keep only the head", ("head",)), ("keep the body and the norm", ("body", "norm")),
             ("keep nothing", ()), ("keep every layer", ("body", "norm", "head"))]
    for name, keep in cases:
        model = _toy_model(keras)
        model.get_layer("head").trainable = False  # the answer must also unfreeze layers
        got = freeze_all_but(model, list(keep))
        expect_close(f"{name}: trainable parameters", got, sum(sizes[k] for k in keep), rtol=0)
        flags = {layer.name: layer.trainable for layer in model.layers}
        expected = {layer: layer in keep for layer in sizes}
        if flags != expected:
            raise ExerciseFailure(f"{name}: layers' trainable flags should be {expected}, "
                                  f"got {flags}")
    return len(cases)
