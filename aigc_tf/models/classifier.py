"""A small MNIST classifier that judges generated digits.

Later lessons use its class probabilities (is this a recognisable digit? which one?) and its
penultimate features (for a Frechet distance). It trains deterministically in well under a
minute on 2 CPU cores and is cached under the data directory, one file per MNIST source.
"""

import json

import keras
import numpy as np

from aigc_tf import config, data

FEATURES_LAYER = "features"
EPOCHS = {"keras": 2, "offline": 15}


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

    Example:
        >>> judge = load_mnist_judge()
        >>> x, y = data.load_mnist("test")
        >>> judge.predict_labels(x[:5]).shape
        (5,)
    """

    def __init__(self, model, test_accuracy, source):
        self.model = model
        self.test_accuracy = test_accuracy
        self.source = source
        self._features = keras.Model(model.inputs, model.get_layer(FEATURES_LAYER).output)

    def _prepare(self, images, value_range):
        data.check_images(images)
        return data.rescale(images, value_range, (0, 1)).clip(0, 1)

    def predict_proba(self, images, value_range=(0, 1), batch_size=500):
        """Class probabilities, shape ``(N, 10)``, for images in ``value_range``."""
        logits = self.model.predict(self._prepare(images, value_range),
                                    batch_size=batch_size, verbose=0)
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))

    def predict_labels(self, images, value_range=(0, 1)):
        """Most likely digit for each image, shape ``(N,)``."""
        return self.predict_proba(images, value_range).argmax(axis=-1)

    def features(self, images, value_range=(0, 1), batch_size=500):
        """Penultimate-layer features, shape ``(N, feature_dim)``."""
        return self._features.predict(self._prepare(images, value_range),
                                      batch_size=batch_size, verbose=0)

    def score(self, images, value_range=(0, 1), labels=None, confidence=0.9):
        """Summarise generated digits as a dict.

        * ``confident``: share of images classified with probability >= ``confidence``;
        * ``digits_present``: how many of the ten classes appear among confident images;
        * ``class_counts``: predicted-label histogram;
        * ``label_accuracy`` (when ``labels`` is given): share predicted as requested.
        """
        probs = self.predict_proba(images, value_range)
        predicted = probs.argmax(axis=-1)
        sure = probs.max(axis=-1) >= confidence
        result = {
            "confident": float(sure.mean()),
            "digits_present": int(len(np.unique(predicted[sure]))),
            "class_counts": np.bincount(predicted, minlength=10).tolist(),
        }
        if labels is not None:
            result["label_accuracy"] = float((predicted == np.asarray(labels)).mean())
        return result


def _cache_paths():
    folder = config.data_dir() / "models"
    stem = f"mnist_judge_{data.mnist_source()}"
    return folder / f"{stem}.keras", folder / f"{stem}.json"


def load_mnist_judge(retrain=False, verbose=True):
    """Load the cached judge, training (and caching) it first if needed.

    Args:
        retrain: ignore the cache and train again.
        verbose: print one line with the source and test accuracy.
    """
    model_path, info_path = _cache_paths()
    if retrain or not (model_path.is_file() and info_path.is_file()):
        model, accuracy = train_mnist_classifier()
        model_path.parent.mkdir(parents=True, exist_ok=True)
        model.save(model_path)
        info_path.write_text(json.dumps({"test_accuracy": accuracy}))
    else:
        model = keras.models.load_model(model_path)
        accuracy = json.loads(info_path.read_text())["test_accuracy"]
    judge = MnistJudge(model, accuracy, data.mnist_source())
    if verbose:
        print(f"MNIST judge ({judge.source} data): test accuracy {accuracy:.2%}")
    return judge
