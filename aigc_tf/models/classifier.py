"""A small MNIST classifier that judges generated digits: the course's fixed feature network.

Later lessons use its class probabilities (is this a recognisable digit? which one?) and its
penultimate features (for Frechet distance, KID, precision and recall). Like the Inception
network behind FID, it must be the same network everywhere, or distances measured on two
machines could not be compared. So the package ships its weights (``mnist_judge.weights.h5``,
about 0.9 MB), trained once by this module's script::

    python -m aigc_tf.models.classifier      # retrain on the offline subset and overwrite them

The shipped judge was trained on the 4,000-image offline MNIST subset (the data every machine
has); ``mnist_judge.json`` beside the weights records its test accuracy on the 1,000 held-out
offline digits. ``load_mnist_judge(retrain=True)`` trains a fresh one instead (about 25 s on
2 CPU cores, deterministic for a seed).
"""

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from aigc_tf import config, data

FEATURES_LAYER = "features"
EPOCHS = {"keras": 2, "offline": 15}
SHIPPED_WEIGHTS = Path(__file__).with_name("mnist_judge.weights.h5")
SHIPPED_INFO = Path(__file__).with_name("mnist_judge.json")


def build_mnist_classifier(feature_dim=128, dropout=0.3):
    """Build the judge network: two conv blocks, a feature layer, 10 logits.

    Args:
        feature_dim: width of the penultimate ``"features"`` layer.
        dropout: dropout rate before the feature layer.

    Example:
        >>> model = build_mnist_classifier()
        >>> model.output_shape
        (None, 10)
    """
    inputs = keras.Input(shape=data.MNIST_SHAPE, name="image")
    x = keras.layers.Conv2D(32, 3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Dense(feature_dim, activation="relu", name=FEATURES_LAYER)(x)
    logits = keras.layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, logits, name="mnist_classifier")


def train_mnist_classifier(epochs=None, batch_size=64, seed=0, verbose=0):
    """Train the judge on the MNIST train split; returns ``(model, test_accuracy)``.

    ``epochs`` defaults to 2 on the full Keras MNIST and 15 on the 4,000-image offline
    subset (about the same number of optimiser steps).
    """
    config.set_seed(seed)
    x_train, y_train = data.load_mnist("train")
    x_test, y_test = data.load_mnist("test")
    epochs = epochs or EPOCHS[data.mnist_source()]
    model = build_mnist_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    train = data.make_dataset((x_train, y_train), batch_size=batch_size, seed=seed)
    model.fit(train, epochs=epochs, shuffle=False, verbose=verbose)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    return model, float(accuracy)


class MnistJudge:
    """A trained MNIST classifier with helpers to score generated images.

    Args:
        model: a classifier built by :func:`build_mnist_classifier`, trained.
        test_accuracy: its accuracy on the MNIST test split.
        source: which MNIST source it was trained on (``"keras"`` or ``"offline"``).
        origin: ``"shipped"`` (the package's fixed weights) or ``"retrained"``.

    Example:
        >>> judge = load_mnist_judge(verbose=False)
        >>> x, y = data.load_mnist("test")
        >>> judge.predict_labels(x[:5]).shape
        (5,)
    """

    def __init__(self, model, test_accuracy, source, origin="retrained"):
        self.model = model
        self.test_accuracy = test_accuracy
        self.source = source
        self.origin = origin
        self._features = keras.Model(model.inputs, model.get_layer(FEATURES_LAYER).output)


    def predict_proba(self, images, value_range=(0, 1), batch_size=500):
        """Class probabilities, shape ``(N, 10)``, for images in ``value_range``."""
        logits = self.model.predict(data.as_unit_pixels(images, value_range),
                                    batch_size=batch_size, verbose=0)
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))

    def predict_labels(self, images, value_range=(0, 1)):
        """Most likely digit for each image, shape ``(N,)``."""
        return self.predict_proba(images, value_range).argmax(axis=-1)

    def features(self, images, value_range=(0, 1), batch_size=500):
        """Penultimate-layer features, shape ``(N, feature_dim)``."""
        return self._features.predict(data.as_unit_pixels(images, value_range),
                                      batch_size=batch_size, verbose=0)

    def score(self, images, value_range=(0, 1), confidence=0.9):
        """Summarise generated digits as a dict (the full suite is ``aigc_tf.metrics``).

        * ``confident``: share of images classified with probability >= ``confidence``;
        * ``digits_present``: how many of the ten classes appear among confident images;
        * ``class_counts``: predicted-label histogram.
        """
        probs = self.predict_proba(images, value_range)
        predicted = probs.argmax(axis=-1)
        sure = probs.max(axis=-1) >= confidence
        result = {
            "confident": float(sure.mean()),
            "digits_present": int(len(np.unique(predicted[sure]))),
            "class_counts": np.bincount(predicted, minlength=10).tolist(),
        }
        return result


def export_mnist_judge(weights_path=SHIPPED_WEIGHTS, info_path=SHIPPED_INFO, seed=0):
    """Train the judge and write its weights and accuracy (the package data) to disk.

    The project runs this once, offline, to make the shipped judge; everyone else loads it.
    Both files are written to temporary names first, so a failed run leaves the old ones.
    """
    import tensorflow as tf

    model, accuracy = train_mnist_classifier(seed=seed)
    info = {
        "test_accuracy": accuracy,
        "trained_on": data.mnist_source(),
        "seed": seed,
        "epochs": EPOCHS[data.mnist_source()],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    weights_path, info_path = Path(weights_path), Path(info_path)
    partial_weights = weights_path.with_name(f"partial-{weights_path.name}")
    inference_only = build_mnist_classifier()  # no optimizer state in the shipped file
    inference_only.set_weights(model.get_weights())
    inference_only.save_weights(partial_weights)
    partial_info = info_path.with_name(f"partial-{info_path.name}")
    partial_info.write_text(json.dumps(info, indent=2) + "\n")
    partial_weights.replace(weights_path)
    partial_info.replace(info_path)
    return model, info


def load_mnist_judge(retrain=False, verbose=True):
    """The MNIST judge: the package's shipped weights, or a freshly trained network.

    Args:
        retrain: train a new judge on this machine's MNIST instead of loading the shipped
            weights (about 25 s; its features differ slightly, so distances measured with it
            are not comparable with the course's numbers).
        verbose: print one line with where the judge comes from and its test accuracy.

    Example:
        >>> judge = load_mnist_judge(verbose=False)
        >>> judge.origin, judge.model.count_params()
        ('shipped', 225034)
    """
    if retrain:
        model, accuracy = train_mnist_classifier()
        judge = MnistJudge(model, accuracy, data.mnist_source(), origin="retrained")
    else:
        info = json.loads(SHIPPED_INFO.read_text())
        model = build_mnist_classifier()
        model.load_weights(SHIPPED_WEIGHTS)
        judge = MnistJudge(model, info["test_accuracy"], info["trained_on"], origin="shipped")
    if verbose:
        print(f"MNIST judge ({judge.origin}, trained on {judge.source} data): "
              f"test accuracy {judge.test_accuracy:.2%}")
    return judge


def main(argv=None):
    """``python -m aigc_tf.models.classifier``: retrain the shipped judge."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config.quiet_tf()
    _, info = export_mnist_judge(seed=args.seed)
    print(f"wrote {SHIPPED_WEIGHTS} (test accuracy {info['test_accuracy']:.2%} on "
          f"{info['trained_on']} data)")


if __name__ == "__main__":
    main()
