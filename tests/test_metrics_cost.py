"""Cost metrics: parameter counts, sampling throughput and peak memory, the report line."""

import time

import keras
import numpy as np
import pytest

from aigc_tf.metrics import cost
from aigc_tf.metrics.cost import (
    cost_report,
    cost_summary_line,
    measure_throughput,
    parameter_count,
)
from aigc_tf.models.char_rnn import CharRNN
from aigc_tf.text import CharVocab


def _dense_with_batch_norm():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()]
    )


class _Pair(keras.Model):
    """A GAN-like model holding two sub-models."""

    def __init__(self):
        super().__init__()
        self.generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(5)])
        self.discriminator = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])

    def call(self, z):
        return self.discriminator(self.generator(z))


# ----------------------------------------------------------------------------- size


def test_parameter_count_by_hand_includes_non_trainable_weights():
    model = _dense_with_batch_norm()
    # Dense: 4 * 3 + 3; batch norm: gamma, beta (trainable), moving mean and variance (not).
    assert parameter_count(model) == 15 + 4 * 3 == model.count_params()


def test_parameter_count_of_a_char_rnn_and_a_gan_like_model():
    model = CharRNN(CharVocab("to be or not"), cell="gru", units=8, embedding_dim=4)
    model.build()
    assert parameter_count(model) == model.count_params() > 0
    pair = _Pair()
    pair(np.zeros((1, 2), "float32"))
    assert parameter_count(pair) == (2 * 5 + 5) + (5 + 1)
    assert parameter_count(pair.generator) == 15


def test_parameter_count_rejects_unbuilt_models_and_non_models():
    with pytest.raises(ValueError, match="is not built"):
        parameter_count(CharRNN(CharVocab("ab"), units=4))
    with pytest.raises(ValueError, match="must be a Keras model or layer, got str"):
        parameter_count("model")


# ----------------------------------------------------------------------------- speed, memory


def test_throughput_of_a_sleeping_function():
    calls = []

    def sample():
        calls.append(1)
        time.sleep(0.05)

    result = measure_throughput(sample, num_items=100, repeats=3)
    assert len(calls) == 4  # one warm-up call, three timed
    assert 0.05 <= result["seconds"] < 0.5
    assert result["items_per_second"] == pytest.approx(100 / result["seconds"])
    measure_throughput(sample, num_items=100, warmup=False)
    assert len(calls) == 5


def test_peak_memory_sees_a_large_allocation_and_not_a_no_op():
    def allocate():
        return np.ones(25_000_000).sum()  # 200 MB, freed on return

    assert measure_throughput(allocate, num_items=1)["peak_memory_mb"] > 100
    assert measure_throughput(lambda: None, num_items=1)["peak_memory_mb"] < 20


def test_peak_memory_is_none_without_psutil(monkeypatch):
    monkeypatch.setattr(cost, "_rss_reader", lambda: None)
    result = measure_throughput(lambda: None, num_items=1)
    assert result["peak_memory_mb"] is None
    assert cost_summary_line(cost_report(throughput=result)).endswith("samples/s")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sample_fn="sample", num_items=1), "sample_fn must be a function"),
        (dict(sample_fn=lambda: None, num_items=0), "num_items must be a positive integer"),
        (dict(sample_fn=lambda: None, num_items=1.5), "num_items must be a positive integer"),
        (dict(sample_fn=lambda: None, num_items=1, repeats=0), "repeats must be a positive"),
    ],
)
def test_measure_throughput_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        measure_throughput(**kwargs)


# ----------------------------------------------------------------------------- report


def test_cost_report_and_summary_line():
    model = _dense_with_batch_norm()
    speed = {"seconds": 0.5, "items_per_second": 1850.4, "peak_memory_mb": 45.2}
    report = cost_report(model, train_seconds=180, throughput=speed)
    assert report == {"parameters": 27, "train_seconds": 180.0, "items_per_second": 1850.4,
                      "peak_memory_mb": 45.2}
    line = cost_summary_line(report)
    assert line == "27 params · trained 3.0 min · 1,850 samples/s · peak +45 MB"
    big = dict(report, parameters=1_234_567, train_seconds=45, items_per_second=12.34)
    assert cost_summary_line(big, unit="chars") == (
        "1.2 M params · trained 45 s · 12.3 chars/s · peak +45 MB"
    )
    assert cost_summary_line(cost_report(train_seconds=9000)) == "trained 2.5 h"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: cost_report(), "needs at least one of model, train_seconds, throughput"),
        (lambda: cost_report(train_seconds=-1), "train_seconds must be a number >= 0"),
        (lambda: cost_report(train_seconds="3 min"), "train_seconds must be a number >= 0"),
        (lambda: cost_report(throughput={"seconds": 1}), "throughput must be the dict"),
        (lambda: cost_summary_line({"parameters": 5}), "report must be the dict cost_report"),
    ],
)
def test_cost_report_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
