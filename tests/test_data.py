import hashlib

import numpy as np
import pytest

from aigc_tf import config, data


@pytest.fixture
def fresh_mnist():
    """Forget the loaded MNIST before and after a test that changes where it comes from."""
    data._mnist_arrays.cache_clear()
    yield
    data._mnist_arrays.cache_clear()


@pytest.mark.parametrize("value_range", [(0, 1), (-1, 1), (0, 255)])
def test_load_mnist_shape_dtype_and_range(value_range):
    x, y = data.load_mnist("test", value_range=value_range)
    assert x.shape[1:] == (28, 28, 1) and x.dtype == np.float32
    assert len(x) == len(y) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    low, high = value_range
    assert x.min() == pytest.approx(low) and x.max() == pytest.approx(high)


def test_splits_partition_all():
    x_train, _ = data.load_mnist("train")
    x_test, _ = data.load_mnist("test")
    x_all, _ = data.load_mnist("all")
    assert len(x_all) == len(x_train) + len(x_test)
    np.testing.assert_array_equal(x_all[-1], x_test[-1])


def test_offline_fallback_when_download_fails(monkeypatch, capsys, tmp_path, fresh_mnist):
    monkeypatch.setenv(config.OFFLINE_ENV, "0")
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(data.Path, "home", lambda: tmp_path)

    def unreachable(*args):
        raise OSError("URL fetch failure: network is unreachable")

    monkeypatch.setattr(data, "_download", unreachable)
    x, _ = data.load_mnist("train")
    assert data.mnist_source() == "offline"
    assert len(x) == 4000
    out = capsys.readouterr().out
    assert out.count("MNIST: offline fallback") == 1 and "5,000-image" in out


def test_offline_mode_never_downloads(monkeypatch, tmp_path, fresh_mnist):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))

    def forbidden(*args):
        raise AssertionError("offline mode must not download")

    monkeypatch.setattr(data, "_download", forbidden)
    data.load_mnist("test")
    assert data.mnist_source() == "offline"


def test_cached_keras_file_is_used_when_hash_matches(monkeypatch, tmp_path, capsys, fresh_mnist):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    target = tmp_path / "datasets" / "mnist.npz"
    target.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(target,
             x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), y_train=np.arange(6),
             x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), y_test=np.arange(3))
    monkeypatch.setattr(data, "MNIST_SHA256", hashlib.sha256(target.read_bytes()).hexdigest())
    x, y = data.load_mnist("train")
    assert data.mnist_source() == "keras" and x.shape == (6, 28, 28, 1)
    assert "Keras dataset (6 train / 3 test)" in capsys.readouterr().out


def test_cached_file_with_wrong_hash_is_ignored(monkeypatch, tmp_path, fresh_mnist):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(data.Path, "home", lambda: tmp_path)
    target = tmp_path / "datasets" / "mnist.npz"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the real file")
    assert data.fetch_verified("mnist.npz", data.MNIST_URL, data.MNIST_SHA256) is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: data.load_mnist("validation"), "unknown split 'validation'.*'train', 'test'"),
        (lambda: data.load_mnist(value_range=(0, 2)), r"value_range.*\(-1, 1\)"),
        (lambda: data.load_dataset("cifar10"), "unknown dataset name 'cifar10'.*'mnist'"),
        (lambda: data.make_ring(0), "n must be >= 1"),
        (lambda: data.make_dataset(np.zeros((0, 2))), "zero examples"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_check_images_explains_missing_channel():
    data.check_images(np.zeros((2, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\).*add a channel axis"):
        data.check_images(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"got \(2, 28, 28, 3\); check the channel axis"):
        data.check_images(np.zeros((2, 28, 28, 3)))


@pytest.mark.parametrize(("batch", "kwargs", "match"), [
    (np.zeros((0, 28, 28, 1)), {}, "images: the batch is empty"),
    (np.full((2, 28, 28, 1), np.nan), {}, "images: 1,568 of 1,568 values are NaN or infinite"),
    (np.array([[0.0, np.inf]]), {"shape": (2,), "name": "points"}, "points: 1 of 2 values"),
    (np.full((2, 28, 28, 1), "a"), {}, "must hold real numbers"),
    (np.full((2, 28, 28, 1), 255.0), {"value_range": (0, 1)},
     r"lie in \[255, 255\], outside value_range \(0, 1\); rescale it first, "
     r"e\.g\. aigc_tf\.data\.rescale\(x, \(0, 255\), \(0, 1\)\)"),
    (np.full((2, 28, 28, 1), -0.5), {"value_range": (0, 1), "why": " (sigmoid)", "hint": "!"},
     r"outside value_range \(0, 1\) \(sigmoid\)!$"),
])
def test_check_images_names_each_problem(batch, kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.check_images(batch, **kwargs)


def test_check_images_accepts_rounding_at_the_range_edges():
    edges = np.array([[-1.0005, 1.0005]], "float32")
    np.testing.assert_array_equal(data.check_images(edges, (2,), value_range=(-1, 1)), edges)
    with pytest.raises(ValueError, match="outside value_range"):
        data.check_images(edges * 1.01, (2,), value_range=(-1, 1))


def test_as_labels_accepts_integers_and_one_hot_rows():
    np.testing.assert_array_equal(data.as_labels(np.array([1, 0, 2]), 3), [1, 0, 2])
    np.testing.assert_array_equal(data.as_labels(np.eye(3)[[2, 2, 0]], 3), [2, 2, 0])
    assert data.as_labels([4], 5).dtype == np.int32
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        data.as_labels([1, 2, 3], 5, count=2)


def test_rescale_round_trip():
    x = np.linspace(0, 1, 11, dtype="float32")
    there = data.rescale(x, (0, 1), (-1, 1))
    assert there.min() == -1 and there.max() == 1
    np.testing.assert_allclose(data.rescale(there, (-1, 1), (0, 1)), x, atol=1e-6)


def test_make_dataset_batches_and_reshuffles():
    x = np.arange(10, dtype="float32")
    dataset = data.make_dataset(x, batch_size=4, seed=1, drop_remainder=True)
    epochs = [np.concatenate([b.numpy() for b in dataset]) for _ in range(2)]
    assert [len(e) for e in epochs] == [8, 8]
    assert not np.array_equal(epochs[0], epochs[1])
    assert set(epochs[0]) <= set(x)


def test_mnist_dataset_yields_scaled_image_label_batches():
    images, labels = next(iter(data.mnist_dataset("test", batch_size=16, value_range=(-1, 1),
                                                  with_labels=True)))
    assert images.shape == (16, 28, 28, 1) and labels.shape == (16,)
    assert images.numpy().min() >= -1 and images.numpy().max() <= 1


@pytest.mark.parametrize("maker, n_modes", [(data.make_ring, 8), (data.make_grid, 25)])
def test_toy_mixtures_sit_on_their_centres(maker, n_modes):
    points, modes = maker(n=4000, std=0.05, seed=3)
    centres = data.ring_centers() if maker is data.make_ring else data.grid_centers()
    assert points.shape == (4000, 2) and len(centres) == n_modes
    assert set(np.unique(modes)) == set(range(n_modes))
    distance = np.linalg.norm(points - centres[modes], axis=1)
    assert distance.mean() == pytest.approx(0.05 * np.sqrt(np.pi / 2), rel=0.1)


def test_toy_data_is_reproducible():
    np.testing.assert_array_equal(data.make_ring(50, seed=7)[0], data.make_ring(50, seed=7)[0])
