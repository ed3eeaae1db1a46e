"""Attention from the equations: masks, agreement with Keras, serialization, bad inputs."""

import keras
import numpy as np
import pytest

from aigc_tf.layers import (
    MultiHeadSelfAttention,
    TokenAndPositionEmbedding,
    TransformerBlock,
    causal_mask,
    scaled_dot_product_attention,
)


def _random(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_causal_mask_is_lower_triangular():
    np.testing.assert_array_equal(np.asarray(causal_mask(4)), np.tril(np.ones((4, 4), bool)))


def test_causal_layers_run_on_a_length_unknown_when_the_graph_is_built():
    import tensorflow as tf

    block = TransformerBlock(embed_dim=16, num_heads=4, ff_dim=32)
    x = _random(1, 6, 16)
    expected = np.asarray(block(x))

    @tf.function(input_signature=[tf.TensorSpec((None, None, 16), tf.float32)])
    def run(inputs):
        assert inputs.shape[1] is None  # the length is a tensor inside the graph
        return block(inputs)

    np.testing.assert_allclose(np.asarray(run(x)), expected, rtol=1e-5, atol=1e-6)
    mask = tf.function(lambda n: causal_mask(n))(tf.constant(3))
    np.testing.assert_array_equal(np.asarray(mask), np.tril(np.ones((3, 3), bool)))


def test_attention_with_a_cache_equals_attention_on_the_whole_sequence():
    block = TransformerBlock(embed_dim=16, num_heads=4, ff_dim=32)
    x = _random(2, 7, 16)
    whole = np.asarray(block(x))
    cache = block.initial_cache(batch_size=2, max_length=9)  # room to spare: masked out
    pieces = []
    for start, stop in ((0, 4), (4, 5), (5, 7)):  # a prompt, then one position at a time
        out, cache = block.call_with_cache(x[:, start:stop], cache, start)
        pieces.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="needs causal attention"):
        MultiHeadSelfAttention(2, 8).call_with_cache(x, cache, 0)


def test_position_embedding_can_start_later():
    emb = TokenAndPositionEmbedding(vocab_size=10, max_length=8, embed_dim=4)
    tokens = np.array([[1, 2, 3, 4]], "int32")
    np.testing.assert_allclose(np.asarray(emb(tokens[:, 2:], start_position=2)),
                               np.asarray(emb(tokens))[:, 2:], atol=1e-6)


def test_attention_matches_numpy_formula():
    q, k, v = _random(3, 4), _random(5, 4, seed=1), _random(5, 2, seed=2)
    scores = q @ k.T / np.sqrt(4)
    weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    out, w = scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(np.asarray(w), weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(out), weights @ v, rtol=1e-5, atol=1e-6)


def test_causal_weights_are_zero_on_the_future():
    x = _random(2, 6, 8)
    _, w = scaled_dot_product_attention(x, x, x, mask=causal_mask(6))
    w = np.asarray(w)
    assert np.all(w[:, np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)


def test_changing_a_later_token_leaves_earlier_outputs_unchanged():
    block = TransformerBlock(embed_dim=16, num_heads=4, ff_dim=32)
    x = _random(1, 8, 16)
    changed = x.copy()
    changed[:, 5:] = _random(1, 3, 16, seed=3)
    before, after = np.asarray(block(x)), np.asarray(block(changed))
    np.testing.assert_allclose(before[:, :5], after[:, :5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(before[:, 5:], after[:, 5:])


def _copy_weights_from_keras(ours, theirs):
    w = {v.path.split("/", 1)[1]: v.numpy() for v in theirs.weights}
    d_model = w["query/kernel"].shape[0]
    qkv_kernel = np.concatenate(
        [w[f"{name}/kernel"].reshape(d_model, -1) for name in ("query", "key", "value")], axis=1
    )
    qkv_bias = np.concatenate([w[f"{name}/bias"].ravel() for name in ("query", "key", "value")])
    ours.qkv.set_weights([qkv_kernel, qkv_bias])
    out_kernel = w["attention_output/kernel"].reshape(-1, d_model)
    ours.output_dense.set_weights([out_kernel, w["attention_output/bias"]])


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_equals_keras_with_copied_weights(causal):
    x = _random(2, 7, 32)
    theirs = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8)
    expected, expected_w = theirs(x, x, use_causal_mask=causal, return_attention_scores=True)
    ours = MultiHeadSelfAttention(num_heads=4, key_dim=8, causal=causal)
    ours(x)
    _copy_weights_from_keras(ours, theirs)
    got, got_w = ours(x, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got_w), np.asarray(expected_w), rtol=1e-4, atol=1e-6)


def test_token_and_position_embedding_depends_on_position():
    emb = TokenAndPositionEmbedding(vocab_size=10, max_length=8, embed_dim=4)
    out = np.asarray(emb(np.full((1, 3), 7, dtype="int32")))
    assert out.shape == (1, 3, 4)
    assert not np.allclose(out[0, 0], out[0, 1])


def test_layers_round_trip_through_keras_file(tmp_path):
    inputs = keras.Input((6,), dtype="int32")
    x = TokenAndPositionEmbedding(vocab_size=12, max_length=6, embed_dim=16)(inputs)
    x = TransformerBlock(embed_dim=16, num_heads=2, ff_dim=32, dropout=0.1)(x)
    model = keras.Model(inputs, keras.layers.Dense(12)(x))
    tokens = np.arange(12, dtype="int32").reshape(2, 6) % 12
    path = tmp_path / "block.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(tokens)), np.asarray(model(tokens)), atol=1e-6)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="divisible"):
        TransformerBlock(embed_dim=10, num_heads=4, ff_dim=8)
    with pytest.raises(ValueError, match="length"):
        causal_mask(0)
    with pytest.raises(ValueError, match="length"):
        causal_mask(2.5)
    with pytest.raises(ValueError, match="d_k"):
        scaled_dot_product_attention(_random(2, 3), _random(2, 4), _random(2, 4))
    with pytest.raises(ValueError, match="max_length"):
        TokenAndPositionEmbedding(5, 4, 8)(np.zeros((1, 6), dtype="int32"))
    with pytest.raises(ValueError, match="batch, length"):
        MultiHeadSelfAttention(2, 4)(_random(3, 8))
