import gzip
import hashlib
import http.server
import tarfile
import threading
from functools import partial
from types import SimpleNamespace

import pytest

from shared import datasets
from tests.archives import link_member, make_tar, make_zip
from shared.datasets import (RemoteDataset, cached_path, fetch, iter_lines, open_text,
                             read_text, safe_extract, sha256_file)
from shared.errors import DataError, SeqappsError


def lines_of(path, **kwargs):
    return [line for _, line in iter_lines(path, **kwargs)]


# --- reading text ------------------------------------------------------------------------


def test_gzip_is_detected_by_magic_bytes_not_suffix(tmp_path):
    path = tmp_path / "plain_name.txt"
    path.write_bytes(gzip.compress("first\nsecond\n".encode()))
    assert lines_of(path) == ["first", "second"]
    with open_text(path) as file:
        assert file.read() == "first\nsecond\n"


def test_utf8_bom_is_stripped_also_inside_gzip(tmp_path):
    plain = tmp_path / "bom.txt"
    plain.write_bytes(b"\xef\xbb\xbfhello\nworld\n")
    packed = tmp_path / "bom.txt.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert lines_of(plain) == ["hello", "world"]
    assert lines_of(packed) == ["hello", "world"]


def test_crlf_and_cr_line_endings(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"one\r\ntwo\r\n\r\nthree")
    assert list(iter_lines(path)) == [(1, "one"), (2, "two"), (3, ""), (4, "three")]
    path.write_bytes(b"old\rmac\r")
    assert lines_of(path) == ["old", "mac"]


def test_latin1_bytes_in_utf8_read_name_file_and_line(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"fine\nalso fine\nclich\xe9s pile up\nfine again\n")
    with pytest.raises(DataError) as caught:
        lines_of(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:3: not valid UTF-8 text")
    assert "--encoding" in message and "clich" in message
    assert caught.value.line == 3
    assert lines_of(path, encoding="latin-1")[2] == "clichés pile up"


def test_decode_error_line_is_exact_beyond_the_first_read_chunk(tmp_path):
    # Text streams decode in 8 KiB chunks; the reported line must still be the bad one.
    lines = [f"line {n} is plain ascii" for n in range(1, 5001)]
    lines[4321] = "caf\xe9"
    data = "\n".join(lines).encode("latin-1")
    packed = tmp_path / "big.gz"
    packed.write_bytes(gzip.compress(data))
    with pytest.raises(DataError, match=r"big\.gz:4322: not valid UTF-8"):
        lines_of(packed)
    with pytest.raises(DataError, match=r"big\.gz:4322:"):
        read_text(packed)


def test_sha256_file(tmp_path):
    path = tmp_path / "blob.bin"
    payload = bytes(range(256)) * 5000
    path.write_bytes(payload)
    assert sha256_file(path) == hashlib.sha256(payload).hexdigest()


# --- fetch -------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def web_root(tmp_path):
    """A folder served over HTTP on 127.0.0.1 (random port): ``.path``, ``.url``, ``.stop()``."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    running = [True]

    def stop():
        if running.pop() if running else False:
            server.shutdown()
            server.server_close()
            thread.join()

    yield SimpleNamespace(path=root, url=f"http://127.0.0.1:{server.server_address[1]}",
                          stop=stop)
    stop()


@pytest.fixture
def served(web_root):
    """``served(name, payload)`` puts a file on the web server and returns its URL."""
    def serve(name, payload):
        (web_root.path / name).write_bytes(payload)
        return f"{web_root.url}/{name}"
    return serve


def toy_dataset(url, payload, **kwargs):
    kwargs.setdefault("filename", "toy.txt")
    return RemoteDataset(name="toy", url=url, sha256=hashlib.sha256(payload).hexdigest(),
                         **kwargs)


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_fetch_downloads_verifies_and_then_uses_the_cache(tmp_path, served, web_root):
    payload = b"hello dataset\n" * 1000
    dataset = toy_dataset(served("toy.txt", payload), payload)
    cache = tmp_path / "cache"
    path = fetch(dataset, cache=cache, offline=False, progress=False)
    assert path == cached_path(dataset, cache) == cache / "datasets" / "toy" / "toy.txt"
    assert path.read_bytes() == payload
    assert files_under(cache) == ["datasets/toy/toy.txt"]

    web_root.stop()
    assert fetch(dataset, cache=cache, offline=False, progress=False) == path
    assert fetch(dataset, cache=cache, offline=True, progress=False) == path


def test_fetch_uses_cache_dir_by_default(isolated_dirs, served):
    payload = b"cached by default"
    dataset = toy_dataset(served("toy.txt", payload), payload)
    path = fetch(dataset, offline=False, progress=False)
    assert path == isolated_dirs / "cache" / "datasets" / "toy" / "toy.txt"


def test_fetch_wrong_sha_raises_and_leaves_no_file(tmp_path, served):
    payload = b"the real bytes"
    dataset = toy_dataset(served("toy.txt", payload), b"other bytes")
    cache = tmp_path / "cache"
    with pytest.raises(SeqappsError) as caught:
        fetch(dataset, cache=cache, offline=False, progress=False)
    message = str(caught.value)
    assert dataset.sha256 in message and hashlib.sha256(payload).hexdigest() in message
    assert "expected" in message
    assert files_under(cache) == []


def test_fetch_offline_without_cache_explains_manual_download(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQAPPS_OFFLINE", "1")
    dataset = toy_dataset("http://127.0.0.1:9/never.txt", b"x")

    def no_network(*args, **kwargs):
        raise AssertionError("offline fetch must not open a connection")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", no_network)
    with pytest.raises(SeqappsError) as caught:
        fetch(dataset, cache=tmp_path / "cache", progress=False)
    message = str(caught.value)
    assert "toy" in message and "could not be downloaded" in message
    assert "http://127.0.0.1:9/never.txt" in message and "--data" in message


def test_fetch_network_failure_is_a_clean_error(tmp_path, served, web_root):
    url = served("toy.txt", b"x")
    web_root.stop()
    with pytest.raises(SeqappsError, match="--data PATH"):
        fetch(toy_dataset(url, b"x"), cache=tmp_path / "cache", offline=False, progress=False)
    assert files_under(tmp_path / "cache") == []


def test_fetch_http_error_is_a_clean_error(tmp_path, web_root):
    dataset = toy_dataset(f"{web_root.url}/missing.txt", b"x")
    with pytest.raises(SeqappsError, match="404.*--data"):
        fetch(dataset, cache=tmp_path / "cache", offline=False, progress=False)


def test_fetch_extracts_archives_once(tmp_path, served, web_root):
    payload = make_tar({"corpus/a.txt": b"alpha", "corpus/sub/b.txt": b"beta"})
    dataset = toy_dataset(served("corpus.tar.gz", payload), payload,
                          filename="corpus.tar.gz", extract=True)
    cache = tmp_path / "cache"
    folder = fetch(dataset, cache=cache, offline=False, progress=False)
    assert folder == cached_path(dataset, cache) == cache / "datasets" / "toy" / "corpus"
    assert (folder / "corpus" / "sub" / "b.txt").read_bytes() == b"beta"
    web_root.stop()
    assert fetch(dataset, cache=cache, offline=True) == folder


# --- safe_extract ------------------------------------------------------------------------


@pytest.mark.parametrize("archive_bytes, member", [
    (make_tar({"ok.txt": b"1", "../evil": b"x"}), "../evil"),
    (make_tar({"data/../../evil": b"x"}, mode="w"), "data/../../evil"),
    (make_tar({"/tmp/evil": b"x"}), "/tmp/evil"),
    (make_tar({"ok.txt": b"1"}, extra=[link_member("link", "/etc/passwd")]), "link"),
    (make_tar({"ok.txt": b"1"}, extra=[link_member("hard", "ok.txt", tarfile.LNKTYPE)]),
     "hard"),
    (make_tar({}, extra=[link_member("pipe", "", tarfile.FIFOTYPE)]), "pipe"),
    (make_zip({"../evil": b"x"}), "../evil"),
    (make_zip({"/abs/evil": b"x"}), "/abs/evil"),
    (make_zip({"ok.txt": b"1"}, symlinks=[("link", "/etc/passwd")]), "link"),
], ids=["tar-dotdot", "tar-nested-dotdot", "tar-absolute", "tar-symlink", "tar-hardlink",
        "tar-fifo", "zip-dotdot", "zip-absolute", "zip-symlink"])
def test_safe_extract_refuses_unsafe_members(tmp_path, archive_bytes, member):
    archive = tmp_path / "bad.archive"
    archive.write_bytes(archive_bytes)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SeqappsError, match="refusing") as caught:
        safe_extract(archive, out / "dest")
    assert repr(member) in str(caught.value)
    assert list(out.iterdir()) == []
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("suffix, maker", [
    ("tar.gz", make_tar), ("tar.bz2", partial(make_tar, mode="w:bz2")), ("zip", make_zip)])
def test_safe_extract_good_archives(tmp_path, suffix, maker):
    archive = tmp_path / f"good.{suffix}"
    archive.write_bytes(maker({"top/a.txt": b"alpha", "top/deep/b.txt": b"beta"}))
    dest = tmp_path / "out" / "dest"
    assert safe_extract(archive, dest) == dest
    assert files_under(dest) == ["top/a.txt", "top/deep/b.txt"]
    assert (dest / "top" / "deep" / "b.txt").read_bytes() == b"beta"
    assert [p.name for p in dest.parent.iterdir()] == ["dest"]


def test_safe_extract_replaces_an_existing_folder_whole(tmp_path):
    dest = tmp_path / "dest"
    (dest / "stale").mkdir(parents=True)
    archive = tmp_path / "new.zip"
    archive.write_bytes(make_zip({"fresh.txt": b"new"}))
    safe_extract(archive, dest)
    assert files_under(dest) == ["fresh.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "new.zip"]


def test_safe_extract_rejects_non_archives(tmp_path):
    archive = tmp_path / "notes.txt"
    archive.write_text("just text\n")
    with pytest.raises(SeqappsError, match="not a tar or zip archive"):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
