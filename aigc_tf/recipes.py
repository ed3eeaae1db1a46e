"""One training recipe per course model, as its notebook trains it, for ``aigc-tf train``.

A recipe says how to build and compile the model, which data it learns from, how long it
trains by default and what to sample from it; the kinds of recipe (:class:`ImageRecipe`,
:class:`TextRecipe`, :class:`LatentDiffusionRecipe`) and their data live in
:mod:`aigc_tf.recipe_types` and are re-exported here. Sizes are the notebooks'
(``config.pick`` gives the fast-mode ones). Adding a model is one entry in :data:`RECIPES`.

Example:
    >>> sorted(RECIPES)  # doctest: +NORMALIZE_WHITESPACE
    ['cgan', 'char-rnn', 'cvae', 'dcgan', 'latent-diffusion', 'latent-diffusion-cond',
     'mini-gpt', 'self-conditioned-dcgan', 'vae']
    >>> get("dcgan").kind, get("cvae").conditional, get("mini-gpt").kind
    ('image', True, 'text')
"""

import keras

from aigc_tf import config
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.models.gan import (
    GAN,
    ConditionalGAN,
    build_dcgan_discriminator,
    build_dcgan_generator,
)
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.models.latent_diffusion import RECIPE as LATENT_RECIPE
from aigc_tf.models.latent_diffusion import build_latent_diffusion
from aigc_tf.models.self_conditioned_gan import SelfConditionedGAN
from aigc_tf.models.vae import CVAE, VAE, build_mlp_decoder, build_mlp_encoder
from aigc_tf.recipe_types import (
    AUTOENCODER_DIR,
    AUTOENCODER_STAGE_FILE,
    NUM_CLASSES,
    SAMPLE_RANGE,
    TEXT_HELD_OUT,
    ImageData,
    ImageRecipe,
    LatentData,
    LatentDiffusionRecipe,
    Recipe,
    TextData,
    TextRecipe,
    build_optimizers,
    optimizers,
)

__all__ = ["AUTOENCODER_DIR", "AUTOENCODER_STAGE_FILE", "LATENT_DIM", "NUM_CLASSES", "RECIPES",
           "SAMPLE_RANGE", "TEXT_HELD_OUT", "ImageData", "ImageRecipe", "LatentData",
           "LatentDiffusionRecipe", "Recipe", "TextData", "TextRecipe", "build_optimizers",
           "for_model", "get", "optimizers", "training_steps"]

LATENT_DIM = 64  # notebooks 04-05's GAN noise


def _adam(learning_rate, **kwargs):
    return keras.optimizers.Adam(learning_rate, **kwargs)


def _gan(gan_class, generator_lr, discriminator_lr, num_classes=None, **kwargs):
    def build(settings, training_data):
        model = gan_class(
            build_dcgan_generator(latent_dim=LATENT_DIM, num_classes=num_classes),
            build_dcgan_discriminator(num_classes=num_classes),
            loss="non_saturating", seed=settings.seed, **kwargs)
        model.compile(d_optimizer=_adam(discriminator_lr, beta_1=0.5),
                      g_optimizer=_adam(generator_lr, beta_1=0.5))
        return model

    return build


def _vae(conditional):
    def build(settings, training_data):
        classes = NUM_CLASSES if conditional else None
        parts = (build_mlp_encoder(2, num_classes=classes),
                 build_mlp_decoder(2, num_classes=classes))
        model = (CVAE(*parts, num_classes=NUM_CLASSES, seed=settings.seed) if conditional
                 else VAE(*parts, seed=settings.seed))
        model.compile(optimizer=_adam(1e-3))
        return model

    return build


def _char_rnn(vocab):
    return CharRNN(vocab, cell="gru", units=config.pick(256, 64), embedding_dim=64,
                   dropout=0.2, name="char_rnn")


def _mini_gpt(vocab):
    embed_dim, heads, layers = config.pick((128, 4, 2), (32, 2, 1))
    return MiniGPT(vocab, context_length=config.pick(64, 32), embed_dim=embed_dim,
                   num_heads=heads, num_layers=layers, name="mini_gpt")


def _latent_diffusion(conditional):
    def build(settings, training_data):
        model = build_latent_diffusion(
            training_data.decoder, training_data.codes,
            num_classes=NUM_CLASSES if conditional else None, seed=settings.seed)
        model.compile(optimizer=_adam(LATENT_RECIPE["lr"]))
        return model

    return build


def _cluster(model, images, labels):
    return model.cluster(images)


RECIPES = {recipe.name: recipe for recipe in (
    ImageRecipe(
        "dcgan", "DCGAN on MNIST (notebook 04)", "GAN",
        _gan(GAN, 2e-4, 2e-4),
        batch_size=64, epochs=(60, 1), value_range=(-1, 1)),
    ImageRecipe(
        "self-conditioned-dcgan", "DCGAN conditioned on 50 k-means clusters (notebook 04)",
        "SelfConditionedGAN",
        _gan(SelfConditionedGAN, 2e-4, 2e-4, num_classes=50, num_clusters=50),
        batch_size=64, epochs=(45, 1), value_range=(-1, 1), prepare=_cluster),
    ImageRecipe(
        "cgan", "conditional DCGAN, projection discriminator (notebook 05)", "ConditionalGAN",
        _gan(ConditionalGAN, 1e-4, 4e-4, num_classes=NUM_CLASSES),
        batch_size=64, epochs=(100, 1), value_range=(-1, 1), conditional=True,
        train_on_labels=True),
    ImageRecipe(
        "vae", "VAE with a 2-D latent space (notebook 06)", "VAE", _vae(conditional=False),
        batch_size=128, epochs=(40, 1), validation_images=500),
    ImageRecipe(
        "cvae", "conditional VAE (notebook 07)", "CVAE", _vae(conditional=True),
        batch_size=128, epochs=(40, 1), validation_images=500, conditional=True,
        train_on_labels=True),
    LatentDiffusionRecipe(
        "latent-diffusion", "diffusion on a 16-d autoencoder's codes (notebook 12)",
        "Diffusion", _latent_diffusion(conditional=False),
        batch_size=(LATENT_RECIPE["batch_size"], 128), minutes=(5, 0.2)),
    LatentDiffusionRecipe(
        "latent-diffusion-cond", "class-conditional latent diffusion, guided (notebook 12)",
        "Diffusion", _latent_diffusion(conditional=True),
        batch_size=(LATENT_RECIPE["batch_size"], 128), minutes=(5, 0.2), conditional=True,
        train_on_labels=True),
    TextRecipe(
        "char-rnn", "character-level GRU (notebook 09)", "CharRNN", _char_rnn,
        batch_size=(64, 32), minutes=(8, 8 / 60)),
    TextRecipe(
        "mini-gpt", "decoder-only Transformer over characters (notebook 11)", "MiniGPT",
        _mini_gpt, batch_size=(32, 16), minutes=(8, 8 / 60), seq_len=(64, 32),
        steps_per_epoch=(500, 5), learning_rate=4e-3, warmup_fraction=0.05),
)}


def training_steps(model):
    """Updates made so far: the generator optimizer's count for a GAN, else the optimizer's."""
    found = optimizers(model)
    chosen = found.get("g_optimizer", found.get("optimizer"))
    return int(keras.ops.convert_to_numpy(chosen.iterations))


def get(name):
    """The recipe called ``name``; ``ValueError`` listing the known names otherwise.

    Example:
        >>> get("dcgan").description
        'DCGAN on MNIST (notebook 04)'
    """
    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(RECIPES)}")
    return RECIPES[name]


def for_model(model):
    """The recipe that trains models like ``model`` (how a model file is recognised)."""
    for recipe in RECIPES.values():
        if recipe.matches(model):
            return recipe
    known = ", ".join(f"{r.model_class} ({r.name})" for r in RECIPES.values())
    raise ValueError(f"the file holds a {type(model).__name__}, not a course generator; "
                     f"expected one of {known}")
