"""What a generative model costs: parameters, training time, sampling speed and memory.

* :func:`parameter_count` -- the model's size.
* :func:`measure_throughput` -- samples (or characters) per second and the extra memory the
  sampling needs.
* :func:`cost_report` gathers them and :func:`cost_summary_line` prints one line.
"""

import math
import threading
import time

MEMORY_POLL_SECONDS = 0.002  # how often the background thread reads the memory in use


# ----------------------------------------------------------------------------- checks


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_positive_int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


# ----------------------------------------------------------------------------- size


def parameter_count(model):
    """Number of weights of a built Keras model, trainable and non-trainable together.

    Every weight the model tracks is counted once, so a GAN- or VAE-like model counts its
    sub-models too (generator *and* discriminator); pass ``model.generator`` to count only the
    part that samples. Optimizer variables are not counted.

    Args:
        model: a built ``keras.Model`` or layer.

    Returns:
        The number of parameters.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> parameter_count(model)  # 4 * 3 weights + 3 biases
        15
    """
    import keras

    if not isinstance(model, keras.layers.Layer):
        raise ValueError(f"model must be a Keras model or layer, got {type(model).__name__}")
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built, so it has no weights yet; call it on a batch "
            "or call model.build(input_shape) first"
        )
    return int(sum(math.prod(weight.shape) for weight in model.weights))


# ----------------------------------------------------------------------------- speed, memory


def _rss_reader():
    """A function returning the process's resident set size in bytes, or None if unavailable."""
    try:
        import psutil
    except ImportError:
        return None
    process = psutil.Process()
    return lambda: process.memory_info().rss


class _PeakMemory:
    """Context manager: peak resident memory above the level on entry, polled by a thread."""

    def __init__(self):
        self.read_rss = _rss_reader()
        self.baseline = self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.peak_mb = None

    def _poll(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.read_rss())
            self.stop.wait(MEMORY_POLL_SECONDS)

    def __enter__(self):
        if self.read_rss is not None:
            self.baseline = self.peak = self.read_rss()
            self.thread.start()
        return self

    def __exit__(self, *exc_info):
        if self.read_rss is not None:
            self.stop.set()
            self.thread.join()
            self.peak_mb = max(self.peak - self.baseline, 0) / 2**20


def measure_throughput(sample_fn, num_items, warmup=True, repeats=1):
    """Time a sampling function and measure the extra memory it needs.

    ``sample_fn()`` is called once untimed (the warm-up pays for tracing and XLA
    compilation), then ``repeats`` times under ``time.perf_counter``. Meanwhile a background
    thread reads the process's resident set size (RSS, via ``psutil``) every
    :data:`MEMORY_POLL_SECONDS`; the peak above the level before the timed calls is reported.
    RSS covers everything the process holds -- TensorFlow's tensors and buffers included,
    which Python's ``tracemalloc`` does not see -- so it is the memory the sampling really
    needs, give or take what the allocator keeps or returns meanwhile. Spikes shorter than
    the polling interval can be missed.

    Args:
        sample_fn: a function without arguments that produces ``num_items`` items (images,
            characters, ...).
        num_items: how many items one call produces.
        warmup: make one untimed call first.
        repeats: timed calls; their mean time is reported.

    Returns:
        A dict with ``seconds`` (per call), ``items_per_second`` and ``peak_memory_mb``
        (MiB above the starting level; ``None`` when ``psutil`` is not installed).

    Example:
        >>> result = measure_throughput(lambda: time.sleep(0.01), num_items=10, warmup=False)
        >>> result["seconds"] >= 0.01, result["items_per_second"] <= 10 / 0.01
        (True, True)
    """
    if not callable(sample_fn):
        raise ValueError(f"sample_fn must be a function to call, got {type(sample_fn).__name__}")
    _check_positive_int(num_items, "num_items")
    _check_positive_int(repeats, "repeats")
    if warmup:
        sample_fn()
    with _PeakMemory() as memory:
        start = time.perf_counter()
        for _ in range(repeats):
            sample_fn()
        seconds = (time.perf_counter() - start) / repeats
    return {"seconds": seconds, "items_per_second": num_items / seconds if seconds else math.inf,
            "peak_memory_mb": memory.peak_mb}


# ----------------------------------------------------------------------------- report


def cost_report(model=None, train_seconds=None, throughput=None):
    """Gather a model's costs in one dict (unknown entries are ``None``).

    Args:
        model: a built Keras model (its :func:`parameter_count`).
        train_seconds: wall-clock training time, e.g. ``run["seconds"]`` from
            ``fit_within_budget``.
        throughput: the dict :func:`measure_throughput` returns.

    Returns:
        A dict with ``parameters``, ``train_seconds``, ``items_per_second`` and
        ``peak_memory_mb``.

    Example:
        >>> speed = {"seconds": 0.54, "items_per_second": 1850.0, "peak_memory_mb": 45.0}
        >>> report = cost_report(train_seconds=180, throughput=speed)
        >>> report["parameters"], report["train_seconds"], report["items_per_second"]
        (None, 180.0, 1850.0)
    """
    if model is None and train_seconds is None and throughput is None:
        raise ValueError("cost_report needs at least one of model, train_seconds, throughput")
    if train_seconds is not None and not (_is_number(train_seconds) and train_seconds >= 0):
        raise ValueError(f"train_seconds must be a number >= 0, got {train_seconds!r}")
    if throughput is not None and not (
        isinstance(throughput, dict) and {"items_per_second", "peak_memory_mb"} <= throughput.keys()
    ):
        raise ValueError(
            "throughput must be the dict measure_throughput returns (with items_per_second "
            f"and peak_memory_mb), got {throughput!r}"
        )
    throughput = throughput or {}
    return {
        "parameters": None if model is None else parameter_count(model),
        "train_seconds": None if train_seconds is None else float(train_seconds),
        "items_per_second": throughput.get("items_per_second"),
        "peak_memory_mb": throughput.get("peak_memory_mb"),
    }


def _format_count(count):
    if count < 1_000:
        return f"{count}"
    if count < 1_000_000:
        return f"{count / 1e3:.1f} k"
    return f"{count / 1e6:.1f} M"


def _format_duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _format_rate(rate):
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"


def cost_summary_line(report, unit="samples"):
    """One line from :func:`cost_report`'s dict; entries that are ``None`` are left out.

    Args:
        report: the dict :func:`cost_report` returns.
        unit: what one item is, for the speed (``"samples"``, ``"chars"``, ...).

    Returns:
        A string like ``"1.2 M params · trained 3.0 min · 1,850 samples/s · peak +45 MB"``.

    Example:
        >>> cost_summary_line({"parameters": 1_234_567, "train_seconds": 180.0,
        ...                    "items_per_second": 1850.2, "peak_memory_mb": 45.3})
        '1.2 M params · trained 3.0 min · 1,850 samples/s · peak +45 MB'
    """
    keys = ("parameters", "train_seconds", "items_per_second", "peak_memory_mb")
    if not isinstance(report, dict) or not set(keys) <= report.keys():
        raise ValueError(f"report must be the dict cost_report returns (keys {list(keys)})")
    parts = []
    if report["parameters"] is not None:
        parts.append(f"{_format_count(report['parameters'])} params")
    if report["train_seconds"] is not None:
        parts.append(f"trained {_format_duration(report['train_seconds'])}")
    if report["items_per_second"] is not None:
        parts.append(f"{_format_rate(report['items_per_second'])} {unit}/s")
    if report["peak_memory_mb"] is not None:
        parts.append(f"peak +{report['peak_memory_mb']:,.0f} MB")
    return " · ".join(parts)
