"""Reading plain text for the language model: files, folders, gzip, BOM, CRLF, errors."""

import gzip

import pytest

from apps.textgen.data import demo_path, load_corpus, read_documents
from shared.errors import DataError


def test_files_and_folders_with_gzip_bom_and_crlf(tmp_path):
    folder = tmp_path / "texts"
    (folder / "more").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"\xef\xbb\xbfFirst line\r\n\r\nsecond line\r\n")
    with gzip.open(folder / "more" / "b.dat", "wb") as handle:
        handle.write("third line é\n".encode("utf-8"))
    (folder / ".hidden").write_text("never read\n")
    single = tmp_path / "c.txt"
    single.write_text("fourth\n", encoding="utf-8")
    documents, files = read_documents([folder, single])
    assert documents == ["First line", "second line", "third line é", "fourth"] and files == 3


def test_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\ncaf\xe9\n")
    with pytest.raises(DataError, match=rf"{bad}:2: not valid UTF-8"):
        read_documents([bad])
    assert read_documents([bad], encoding="latin-1")[0] == ["fine", "café"]
    with pytest.raises(DataError, match="file not found"):
        read_documents([tmp_path / "missing.txt"])
    (tmp_path / "blank.txt").write_text("\n  \n")
    with pytest.raises(DataError, match="no text"):
        read_documents([tmp_path / "blank.txt"])


def test_demo_corpus_is_gensims_lee_text():
    corpus = load_corpus(None, seed=1337)
    assert corpus.is_demo and demo_path().name == "lee_background.cor"
    assert len(corpus.train) + len(corpus.validation) + len(corpus.test) == 300
    assert len(corpus.validation) > 10 and len(corpus.test) > 10
