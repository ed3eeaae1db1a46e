"""Training steps that stay right under ``tf.distribute``: loss scale and noise per replica.

Under a ``tf.distribute`` strategy each replica runs ``train_step`` on its share of the global
batch and the optimizer *sums* the replicas' gradients. Two things follow for a hand-written
step (Keras does both for losses given to ``compile``, not for ours):

- each replica's mean loss must be divided by the number of replicas, so that the sum is the
  gradient of the global batch's mean (:func:`replica_loss`);
- a ``SeedGenerator`` is mirrored, so every replica would draw the *same* noise for its share;
  :func:`replica_seed` folds the replica's index into the seed (replica 0, and any run
  without a strategy, keeps the generator's own seed, so single-device numbers do not change).
"""

import tensorflow as tf

_REPLICA_STRIDE = 1_000_003  # a prime: replicas' seeds never collide with the generator's


def replica_loss(loss):
    """``loss / replicas in sync`` (``loss`` itself outside a strategy or on one device).

    Example:
        >>> float(replica_loss(tf.constant(3.0)))
        3.0
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas == 1 else loss / replicas


def replica_seed(seed_generator):
    """The generator's next seed, made different on every replica (unchanged on replica 0).

    Returns:
        An int32 seed tensor of shape ``(2,)`` for the ``tf.random.stateless_*`` functions:
        the same one ``keras.random.normal(..., seed=seed_generator)`` would use on replica 0.
    """
    seed = seed_generator.next()
    context = tf.distribute.get_replica_context()
    if context is not None:
        replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
        seed = seed + tf.stack([replica * _REPLICA_STRIDE, tf.zeros_like(replica)])
    if seed.dtype != tf.int32:  # Keras keeps the state in int64; stateless ops want int32
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
    return seed


def replica_normal(shape, seed_generator, dtype="float32"):
    """Standard normal noise from ``seed_generator``, independent across replicas.

    Without a strategy it equals ``keras.random.normal(shape, seed=seed_generator)``.

    Example:
        >>> import keras
        >>> a = replica_normal((3,), keras.random.SeedGenerator(7))
        >>> b = keras.random.normal((3,), seed=keras.random.SeedGenerator(7))
        >>> bool(tf.reduce_all(a == b))
        True
    """
    return tf.random.stateless_normal(shape, seed=replica_seed(seed_generator), dtype=dtype)


def replica_uniform(shape, seed_generator, minval=0.0, maxval=1.0, dtype="float32"):
    """Uniform noise in ``[minval, maxval)``, independent across replicas (without a strategy
    equal to ``keras.random.uniform(shape, minval, maxval, seed=seed_generator)``)."""
    return tf.random.stateless_uniform(shape, seed=replica_seed(seed_generator),
                                       minval=tf.cast(minval, dtype),
                                       maxval=tf.cast(maxval, dtype), dtype=dtype)


def replica_randint(shape, seed_generator, minval, maxval):
    """Integers in ``[minval, maxval)``, independent across replicas (without a strategy equal
    to ``keras.random.randint(shape, minval, maxval, seed=seed_generator)``).

    Example:
        >>> import keras
        >>> a = replica_randint((5,), keras.random.SeedGenerator(3), 0, 1000)
        >>> b = keras.random.randint((5,), 0, 1000, seed=keras.random.SeedGenerator(3))
        >>> bool(tf.reduce_all(a == b))
        True
    """
    return tf.random.stateless_uniform(shape, seed=replica_seed(seed_generator), minval=minval,
                                       maxval=maxval, dtype="int32")
