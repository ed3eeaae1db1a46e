"""The interface every model of the course shares (what the ``aigc-tf`` command relies on).

Image generators: ``sample(n, seed=None)`` -> float32 images ``(n, 28, 28, 1)`` in [0, 1];
conditional ones also ``generate(labels, seed=None)`` with integer (or one-hot) labels.
Text models: one ``generate(prompt, length, temperature, top_k, seed, greedy, stop_at_end)``
with the same behaviour on ``<end>``. Bad input: one clear ``ValueError``.
"""

import inspect

import keras
import numpy as np
import pytest

from aigc_tf.models.char_lm import CharLanguageModel
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.models.gan import (
    GAN,
    ConditionalGAN,
    build_dcgan_discriminator,
    build_dcgan_generator,
)
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.models.self_conditioned_gan import SelfConditionedGAN
from aigc_tf.models.vae import CVAE, VAE, build_mlp_decoder, build_mlp_encoder
from aigc_tf.text import CharVocab

LATENT = 4


def _gan(cls=GAN, num_classes=None, **kwargs):
    return cls(build_dcgan_generator(LATENT, filters=8, num_classes=num_classes),
               build_dcgan_discriminator(filters=4, num_classes=num_classes), **kwargs)


def _vae(cls=VAE, **kwargs):
    num_classes = kwargs.get("num_classes")
    return cls(build_mlp_encoder(LATENT, (32,), num_classes=num_classes),
               build_mlp_decoder(LATENT, (32,), num_classes=num_classes), **kwargs)


IMAGE_MODELS = {
    "GAN": lambda: _gan(),
    "SelfConditionedGAN": lambda: _gan(SelfConditionedGAN, 3, num_clusters=3),
    "ConditionalGAN": lambda: _gan(ConditionalGAN, 10),
    "VAE": lambda: _vae(),
    "CVAE": lambda: _vae(CVAE, num_classes=10),
}
CONDITIONAL = ("SelfConditionedGAN", "ConditionalGAN", "CVAE")


@pytest.fixture(scope="module", params=list(IMAGE_MODELS))
def image_model(request):
    keras.utils.set_random_seed(0)
    return request.param, IMAGE_MODELS[request.param]()


def _assert_unit_images(images, count):
    assert images.shape == (count, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1


def test_sample_returns_unit_images_repeatable_by_seed(image_model):
    _, model = image_model
    images = model.sample(5, seed=1)
    _assert_unit_images(images, 5)
    np.testing.assert_array_equal(model.sample(5, seed=1), images)
    assert not np.array_equal(model.sample(5, seed=2), images)
    assert not np.array_equal(model.sample(5), model.sample(5))  # no seed: fresh noise


def test_conditional_models_generate_requested_labels(image_model):
    name, model = image_model
    if name not in CONDITIONAL:
        pytest.skip("unconditional model")
    labels = [2, 0, 1]
    images = model.generate(labels, seed=3)
    _assert_unit_images(images, 3)
    np.testing.assert_array_equal(model.generate(labels, seed=3), images)
    one_hot = np.eye(model.num_classes, dtype="float32")[labels]
    np.testing.assert_array_equal(model.generate(one_hot, seed=3), images)
    z = np.random.default_rng(0).standard_normal((1, LATENT)).astype("float32")
    same_style = model.generate([0, 1], z=np.repeat(z, 2, axis=0))
    assert not np.allclose(same_style[0], same_style[1])  # same noise, another class
    if name != "SelfConditionedGAN":  # whose sample() draws clusters by their shares
        np.testing.assert_array_equal(model.sample(4, seed=3), model.generate([0, 1, 2, 3], seed=3))


@pytest.mark.parametrize("n", [0, -1, 2.5, True, [1, 2]])
def test_sample_rejects_a_bad_count(image_model, n):
    _, model = image_model
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        model.sample(n)


@pytest.mark.parametrize(("labels", "match"), [
    ([0, 10], r"labels must be in \[0, 10\)"),
    ([-1], r"labels must be in \[0, 10\)"),
    ([1.5], "labels must be integers"),
    ([], "labels is empty"),
    ([[1, 2]], r"labels must have shape \(N,\)"),
    (np.full((2, 10), 0.1), "one-hot labels must hold a single 1 per row"),
])
@pytest.mark.parametrize("name", ["ConditionalGAN", "CVAE"])
def test_generate_rejects_bad_labels(name, labels, match):
    with pytest.raises(ValueError, match=match):
        IMAGE_MODELS[name]().generate(labels)


def _pixels(value, n=8):
    return np.full((n, 28, 28, 1), value, "float32")


@pytest.mark.parametrize(("images", "match"), [
    (_pixels(255.0), r"lie in \[255, 255\], outside value_range .*rescale"),
    (_pixels(np.nan), "NaN or infinite"),
    (_pixels(np.inf), "NaN or infinite"),
    (_pixels(0.5, n=0), "batch is empty"),
    (np.zeros((8, 28, 28)), "add a channel axis"),
])
@pytest.mark.parametrize("name", ["GAN", "VAE"])
def test_fit_rejects_bad_images_before_training(name, images, match):
    model = IMAGE_MODELS[name]()
    if name == "GAN":
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    else:
        model.compile(optimizer="adam")
    before = [np.array(w) for w in model.weights]
    with pytest.raises(ValueError, match=match):
        model.fit(images, epochs=1, verbose=0)
    assert all(np.array_equal(b, np.array(w)) for b, w in zip(before, model.weights, strict=True))


# ------------------------------------------------------------------------------ text models

VOCAB = CharVocab("to be or not")
TEXT_MODELS = {
    "CharRNN": lambda: CharRNN(VOCAB, units=8),
    "MiniGPT": lambda: MiniGPT(VOCAB, context_length=8, embed_dim=8, num_heads=1,
                               num_layers=1),
}


def test_text_models_share_one_generate():
    shared = CharLanguageModel.generate
    assert CharRNN.generate is shared and MiniGPT.generate is shared
    assert list(inspect.signature(shared).parameters) == [
        "self", "prompt", "length", "temperature", "top_k", "seed", "greedy", "stop_at_end"]


@pytest.mark.parametrize("name", list(TEXT_MODELS))
def test_text_models_treat_end_alike(name):
    model = TEXT_MODELS[name]()
    model.build()
    end = np.eye(VOCAB.size, dtype="float32")[VOCAB.end_id]
    model.head.bias.assign(50.0 * end)  # the model all but always wants to stop
    assert model.generate("to", 12, seed=0, stop_at_end=True) == "to"
    text = model.generate("to", 12, seed=0)  # <end> is never sampled: 12 characters
    assert len(text) == 14 and set(text) <= set("to be or not")
    model.head.bias.assign(-50.0 * end)  # and with stop_at_end, <end> need not come
    assert len(model.generate("to", 12, seed=0, stop_at_end=True)) == 14
