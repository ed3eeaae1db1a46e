"""Quantisation, pruning and distillation (aigc_tf.compression)."""

import keras
import numpy as np
import pytest

from aigc_tf import config, data
from aigc_tf.compression import (
    Distiller,
    LiteRTModel,
    MagnitudePruning,
    dequantize,
    distillation_loss,
    gzipped_weights_size,
    keras_file_size,
    polynomial_sparsity,
    prunable_weights,
    prune_by_magnitude,
    quantize_keras_int8,
    quantize_symmetric,
    to_litert,
    weight_sparsity,
)
from aigc_tf.models.classifier import load_mnist_judge
from aigc_tf.models.gpt import MiniGPT
from aigc_tf.text import CharVocab

JUDGE_ACCURACY_TOLERANCE = 0.01  # int8 judge within 1 point of the float judge


def _mlp(inputs=8, hidden=32, outputs=3, seed=0):
    config.set_seed(seed)
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(outputs)])


# ----------------------------------------------------------------------------- quantisation


def test_symmetric_quantisation_error_is_at_most_half_a_step_per_channel():
    values = np.random.default_rng(0).normal(size=(16, 4)) * np.array([0.01, 0.1, 1.0, 10.0])
    q, scale = quantize_symmetric(values, axis=-1)
    assert q.dtype == np.int8 and scale.shape == (1, 4)
    assert np.abs(q).max() == 127
    assert np.all(np.abs(dequantize(q, scale) - values) <= scale / 2 + 1e-7)


def test_symmetric_quantisation_of_zeros_is_exact():
    q, scale = quantize_symmetric(np.zeros(5))
    assert np.all(dequantize(q, scale) == 0)


@pytest.fixture(scope="module")
def judge_and_test_digits():
    judge = load_mnist_judge(verbose=False)
    x, y = data.load_mnist("test")
    return judge, x, y


@pytest.fixture(scope="module")
def int8_judge(judge_and_test_digits):
    judge, _, _ = judge_and_test_digits
    calibration, _ = data.load_mnist("train")
    return LiteRTModel(to_litert(judge.model, representative_data=calibration[:100]))


def test_full_integer_judge_is_smaller_and_as_accurate(judge_and_test_digits, int8_judge):
    judge, x, y = judge_and_test_digits
    assert int8_judge.input_dtype == "int8"
    assert int8_judge.size_bytes < keras_file_size(judge.model) / 3  # 4-byte floats -> 1 byte
    float_accuracy = np.mean(judge.model.predict(x, verbose=0).argmax(-1) == y)
    int8_accuracy = np.mean(int8_judge.predict(x).argmax(-1) == y)
    assert float_accuracy > 0.9
    assert abs(int8_accuracy - float_accuracy) <= JUDGE_ACCURACY_TOLERANCE


def test_float_flatbuffer_matches_keras_and_handles_uneven_batches():
    model = _mlp()
    runner = LiteRTModel(to_litert(model))
    x = np.random.default_rng(1).normal(size=(10, 8)).astype("float32")
    assert runner.input_dtype == "float32"
    np.testing.assert_allclose(runner.predict(x, batch_size=4), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_keras_int8_mini_gpt_logits_stay_close_and_original_stays_float():
    vocab = CharVocab("to be or not to be, that is the question")
    config.set_seed(0)
    model = MiniGPT(vocab, context_length=16, embed_dim=32, num_heads=2, num_layers=1)
    ids = np.random.default_rng(2).integers(0, vocab.size, size=(4, 16))
    logits = keras.ops.convert_to_numpy(model(ids))
    quantised = quantize_keras_int8(model)
    assert isinstance(quantised, MiniGPT)
    assert str(model.get_layer("logits").kernel.dtype) == "float32"
    assert any(str(w.dtype) == "int8" for w in quantised.weights)
    quantised_logits = keras.ops.convert_to_numpy(quantised(ids))
    assert np.abs(quantised_logits - logits).max() < 0.05 * np.abs(logits).max()
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    quantised_probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(quantised_logits))
    assert np.abs(probabilities - quantised_probabilities).max() < 0.02


# ----------------------------------------------------------------------------- pruning


class _ZeroWatcher(keras.callbacks.Callback):
    """Records, after every step, which kernel entries are exactly zero."""

    def __init__(self):
        super().__init__()
        self.zeros = []

    def on_train_batch_end(self, batch, logs=None):
        self.zeros.append([keras.ops.convert_to_numpy(k) == 0
                           for k in prunable_weights(self.model)])


def test_pruning_reaches_the_target_and_keeps_pruned_weights_at_zero():
    model = _mlp(inputs=8, hidden=64)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(256, 8)), rng.normal(size=(256, 3))
    pruning = MagnitudePruning(final_sparsity=0.9, end_step=40, frequency=5)
    watcher = _ZeroWatcher()  # runs after the pruning callback, so it sees masked weights
    history = model.fit(x, y, batch_size=16, epochs=5, callbacks=[pruning, watcher], verbose=0)
    assert history.history["sparsity"][-1] == pytest.approx(0.9, abs=0.01)
    assert weight_sparsity(model) == pytest.approx(0.9, abs=0.01)
    final_zeros = watcher.zeros[39]  # the masks of end_step
    for zeros_after_step in watcher.zeros[40:]:  # 40 more Adam steps with momentum
        for pruned, now_zero in zip(final_zeros, zeros_after_step, strict=True):
            assert np.all(now_zero[pruned])
    sparsities = history.history["sparsity"]
    assert sparsities == sorted(sparsities)  # the schedule only grows


def test_one_shot_pruning_compresses_the_weights():
    model = _mlp(inputs=64, hidden=128)
    dense_size = gzipped_weights_size(model)
    prune_by_magnitude(model, 0.9)
    assert weight_sparsity(model) == pytest.approx(0.9, abs=0.01)
    assert gzipped_weights_size(model) < dense_size / 3
    assert keras_file_size(model) > 4 * 64 * 128  # the dense file does not shrink


def test_schedule_is_monotone_and_hits_its_ends():
    values = [polynomial_sparsity(t, 0.95, 10, 110, initial_sparsity=0.2) for t in range(150)]
    assert values[0] == values[10] == pytest.approx(0.2)
    assert values[110] == values[-1] == pytest.approx(0.95)
    assert np.all(np.diff(values) >= 0)


# ----------------------------------------------------------------------------- distillation


def test_distillation_loss_is_t_squared_kl():
    teacher = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    student = np.array([[3.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
    for temperature in (1.0, 3.0):
        p = np.exp(teacher / temperature)
        p /= p.sum(-1, keepdims=True)
        q = np.exp(student / temperature)
        q /= q.sum(-1, keepdims=True)
        expected = temperature**2 * np.sum(p * np.log(p / q), axis=-1)
        got = keras.ops.convert_to_numpy(distillation_loss(teacher, student, temperature))
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_distiller_trains_the_student_towards_the_teacher():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(512, 8)).astype("float32")
    teacher = _mlp(seed=1)
    y = teacher.predict(x, verbose=0).argmax(-1)
    student = _mlp(hidden=8, seed=2)
    distiller = Distiller(student, teacher, temperature=3.0, alpha=0.2)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    teacher_weights = [w.copy() for w in teacher.get_weights()]
    history = distiller.fit(x, y, batch_size=64, epochs=15, verbose=0).history
    assert history["soft_loss"][-1] < 0.5 * history["soft_loss"][0]
    assert history["accuracy"][-1] > 0.8
    assert set(history) == {"loss", "hard_loss", "soft_loss", "accuracy"}
    for before, after in zip(teacher_weights, teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)  # the teacher is only read
    evaluation = distiller.evaluate(x, y, verbose=0, return_dict=True)
    assert evaluation["accuracy"] == pytest.approx(np.mean(student.predict(x, verbose=0)
                                                           .argmax(-1) == y), abs=1e-6)


def test_distiller_config_round_trip():
    distiller = Distiller(_mlp(hidden=4), _mlp(), temperature=2.5, alpha=0.3)
    copy = Distiller.from_config(distiller.get_config())
    assert (copy.temperature, copy.alpha) == (2.5, 0.3)
    assert copy.student.count_params() == distiller.student.count_params()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, message", [
    (lambda: quantize_symmetric([]), "non-empty array of finite"),
    (lambda: quantize_symmetric([1.0, np.nan]), "finite"),
    (lambda: quantize_keras_int8("model"), "keras.Model"),
    (lambda: to_litert(_mlp(), representative_data=np.zeros(0)), "representative_data"),
    (lambda: to_litert(_mlp(), representative_data=np.ones((4, 8)), num_calibration=0),
     "num_calibration"),
    (lambda: LiteRTModel(b""), "non-empty bytes"),
    (lambda: polynomial_sparsity(5, 1.0, 0, 10), r"final_sparsity must be a number in \[0, 1\)"),
    (lambda: polynomial_sparsity(5, 0.5, 10, 10), "begin_step < end_step"),
    (lambda: MagnitudePruning(0.5, end_step=10, frequency=0), "frequency"),
    (lambda: prune_by_magnitude(_mlp(), -0.1), "sparsity must be"),
    (lambda: prunable_weights(keras.Sequential([keras.Input((3,)), keras.layers.ReLU()])),
     "no Dense or convolution kernels"),
    (lambda: distillation_loss(np.zeros((2, 3)), np.zeros((2, 4)), 2.0), "shape"),
    (lambda: distillation_loss(np.zeros((2, 3)), np.zeros((2, 3)), 0), "temperature"),
    (lambda: Distiller(_mlp(), _mlp(), alpha=1.5), r"alpha must be a number in \[0, 1\]"),
    (lambda: Distiller(_mlp(), "teacher"), "teacher must be a keras.Model"),
    (lambda: keras_file_size(keras.Sequential([keras.layers.Dense(2)])), "not built"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_runner_rejects_inputs_of_the_wrong_shape():
    runner = LiteRTModel(to_litert(_mlp()))
    with pytest.raises(ValueError, match=r"inputs must have shape \(N, 8\)"):
        runner.predict(np.zeros((2, 5)))


def test_file_size_leaves_out_the_optimizer_and_shrinks_with_keras_int8():
    model = _mlp(inputs=128, hidden=512)
    dense_size = keras_file_size(model)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 128)), np.ones((8, 3)), verbose=0)
    assert keras_file_size(model) == pytest.approx(dense_size, rel=0.05)  # not 3x with Adam
    assert keras_file_size(quantize_keras_int8(model)) < dense_size / 2
