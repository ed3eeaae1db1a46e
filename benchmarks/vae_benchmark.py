"""Our VAE vs a VAE written like the keras-io example, same data, latent size and epochs.

Both train on the MNIST train split (4,000 images offline) for the same number of epochs and
are scored on the held-out test split (1,000 images offline) with the same code:

* held-out negative ELBO (nats, beta = 1, closed-form KL, averaged over 3 noise draws);
* importance-weighted NLL estimate of -log p(x) (nats and bits/dim), k samples per image.

The reference follows keras-io's "Variational AutoEncoder" recipe (our own code): conv 32/64
stride 2, Dense(16) ReLU, linear heads; a dense + transposed-conv decoder with a sigmoid;
loss = batch mean of (BCE summed over pixels on probabilities) + KL; Adam(1e-3); batch 128.

Ours (``aigc_tf.models.vae``): the same conv trunk with a 256-unit dense layer in encoder and
decoder instead of the 16-unit bottleneck, logits-based BCE, batch 16 (more optimiser steps
per epoch) and Adam with a cosine learning-rate decay. The objective is the plain negative
ELBO (beta = 1 throughout, no KL warm-up). Differences are listed in the printed table.

Usage:
    python benchmarks/vae_benchmark.py --latent-dims 16 2 --epochs 30
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from aigc_tf import config, data
from aigc_tf.models.vae import VAE, Sampling, build_conv_decoder, build_conv_encoder


def reference_networks(latent_dim):
    """keras-io-style encoder and decoder; the decoder's sigmoid is a separate last layer."""
    image = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(image)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    encoder = keras.Model(image, [keras.layers.Dense(latent_dim)(x),
                                  keras.layers.Dense(latent_dim)(x)], name="ref_encoder")
    z = keras.Input(shape=(latent_dim,))
    x = keras.layers.Dense(7 * 7 * 64, activation="relu")(z)
    x = keras.layers.Reshape((7, 7, 64))(x)
    x = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    logits = keras.layers.Conv2DTranspose(1, 3, padding="same")(x)
    logit_decoder = keras.Model(z, logits, name="ref_logit_decoder")
    decoder = keras.Model(z, keras.layers.Activation("sigmoid")(logits), name="ref_decoder")
    return encoder, decoder, logit_decoder


class ReferenceVAE(keras.Model):
    """The keras-io training step: probabilities, Keras BCE summed over pixels, plus KL."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.sampling = Sampling(seed=0)
        self.total_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.total_tracker]

    def train_step(self, x):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(x, training=True)
            reconstruction = self.decoder(self.sampling([z_mean, z_log_var]), training=True)
            bce = keras.losses.binary_crossentropy(x, reconstruction)  # mean over the channel
            recon = ops.mean(ops.sum(bce, axis=(1, 2)))
            kl = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            loss = recon + ops.mean(ops.sum(kl, axis=1))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        self.total_tracker.update_state(loss)
        return {"loss": self.total_tracker.result()}


def train_reference(latent_dim, x_train, epochs, seed):
    config.set_seed(seed)
    encoder, decoder, logit_decoder = reference_networks(latent_dim)
    model = ReferenceVAE(encoder, decoder)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    train = data.make_dataset(x_train, batch_size=128, seed=seed)
    model.fit(train, epochs=epochs, shuffle=False, verbose=0)
    # Same weights, scored by the library's evaluation code.
    return VAE(encoder, logit_decoder, seed=seed + 1)


def train_ours(latent_dim, x_train, epochs, seed, batch_size, learning_rate):
    config.set_seed(seed)
    model = VAE(build_conv_encoder(latent_dim), build_conv_decoder(latent_dim), seed=seed)
    steps = epochs * (len(x_train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=True)
    train = data.make_dataset(x_train, batch_size=batch_size, seed=seed, drop_remainder=True)
    model.fit(train, epochs=epochs, shuffle=False, verbose=0)
    return model


def score(model, x_test, k):
    negative_elbo = float(np.mean([-model.elbo(x_test).mean() for _ in range(3)]))
    iw = model.log_likelihood(x_test, k=k)
    return {"neg_elbo": negative_elbo, "iw_nll": iw["nll_nats"], "bpd": iw["bits_per_dim"],
            "params": model.encoder.count_params() + model.decoder.count_params()}


def run(latent_dim, args, x_train, x_test):
    rows = {}
    for name, train in (
        ("reference", lambda: train_reference(latent_dim, x_train, args.epochs, args.seed)),
        ("ours", lambda: train_ours(latent_dim, x_train, args.epochs, args.seed,
                                    args.batch_size, args.learning_rate)),
    ):
        start = time.perf_counter()
        model = train()
        seconds = time.perf_counter() - start
        rows[name] = {**score(model, x_test, args.k), "train_s": seconds}
        print(f"  latent {latent_dim} {name}: {rows[name]}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[16, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16, help="ours (reference: 128)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="ours, peak")
    parser.add_argument("--k", type=int, default=50, help="importance samples per image")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config.quiet_tf()
    x_train, _ = data.load_mnist("train")
    x_test, _ = data.load_mnist("test")
    print(f"train {len(x_train)} / test {len(x_test)} images, {args.epochs} epochs; "
          f"ours: batch {args.batch_size}, Adam {args.learning_rate:g} cosine; "
          f"reference: batch 128, Adam 1e-3")
    results = {d: run(d, args, x_train, x_test) for d in args.latent_dims}
    header = (f"{'latent':>6} {'model':>9} {'params':>8} {'train s':>8} {'-ELBO':>8} "
              f"{'IW NLL':>8} {'bits/dim':>8}")
    print("\n" + header + "\n" + "-" * len(header))
    for latent_dim, rows in results.items():
        for name, row in rows.items():
            print(f"{latent_dim:>6} {name:>9} {row['params']:>8,} {row['train_s']:>8.0f} "
                  f"{row['neg_elbo']:>8.2f} {row['iw_nll']:>8.2f} {row['bpd']:>8.4f}")
        gain = 1 - rows["ours"]["neg_elbo"] / rows["reference"]["neg_elbo"]
        print(f"{'':>6} ours vs reference: {gain:+.1%} lower held-out negative ELBO "
              f"(target >= 10%)")
    print(f"(IW NLL: importance-weighted estimate with k={args.k} per image)")


if __name__ == "__main__":
    main()
