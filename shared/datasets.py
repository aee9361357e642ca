"""Reading local data files and fetching public datasets into the cache.

Every app reads its input through :func:`open_text` / :func:`iter_lines` so that gzip, a
UTF-8 byte order mark, Windows line endings and undecodable bytes behave the same way
everywhere, and a bad byte is reported as ``file:line`` instead of a traceback.

Remote datasets are pinned by sha256: :func:`fetch` downloads once into the cache, verifies
the checksum before anything is used, and never touches the network again while the cached
copy is intact. Offline (``SEQAPPS_OFFLINE=1``) or without a network, it says where to get
the file by hand and how to pass it with ``--data``.
"""

import codecs
import csv
import gzip
import hashlib
import http.client
import io
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from tqdm import tqdm

from shared.atomic import replace_folder
from shared.errors import DataError, SeqappsError
from shared.paths import cache_dir

GZIP_MAGIC = b"\x1f\x8b"
DOWNLOAD_TIMEOUT_SECONDS = 30
CHUNK_BYTES = 1 << 20

# Everything that means "the network did not give us the file", as opposed to a local
# problem such as a full disk, which should surface as itself.
NETWORK_ERRORS = (
    urllib.error.URLError,  # includes HTTPError (404, 503, ...)
    http.client.HTTPException,  # truncated or malformed responses
    ConnectionError,
    TimeoutError,  # socket.timeout is an alias since Python 3.10
    socket.gaierror,
)


# ---------------------------------------------------------------------------------------
# Reading text files
# ---------------------------------------------------------------------------------------


def _is_utf8(encoding):
    return codecs.lookup(encoding).name == "utf-8"


def _python_encoding(encoding):
    """UTF-8 is read as ``utf-8-sig`` so a byte order mark never ends up in the first token."""
    return "utf-8-sig" if _is_utf8(encoding) else encoding


def is_gzip(path):
    """Whether the file starts with the gzip magic bytes, whatever its name says."""
    with open(path, "rb") as file:
        return file.read(2) == GZIP_MAGIC


class _CheckedGzip(gzip.GzipFile):
    """A gzip stream whose truncated or corrupt data is a DataError naming the file.

    A download cut short is the usual cause; plain ``gzip`` would raise ``EOFError`` from
    deep inside the reader, with no file name, after the lines before it were read.
    """

    def _checked(self, read, *args):
        try:
            return read(*args)
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise DataError(self.name, f"truncated or corrupt gzip data ({error}): download or "
                            "compress the file again") from None

    def read(self, size=-1):
        return self._checked(super().read, size)

    def read1(self, size=-1):
        return self._checked(super().read1, size)

    def peek(self, size):
        return self._checked(super().peek, size)

    def readline(self, size=-1):
        return self._checked(super().readline, size)


def _open_gzip(path):
    return _CheckedGzip(filename=str(path), mode="rb")


def open_text(path, encoding="utf-8", newline=None):
    """Open a text file for reading, decompressing gzip detected by its magic bytes.

    Files are often gzipped without a ``.gz`` suffix (or renamed after download), so the
    content decides, not the name. ``newline`` is passed to the text layer: keep the default
    for line-by-line reading (CRLF becomes LF) and use ``newline=""`` for the csv module.
    """
    python_encoding = _python_encoding(encoding)
    if is_gzip(path):
        return io.TextIOWrapper(_open_gzip(path), encoding=python_encoding, newline=newline)
    return open(path, "r", encoding=python_encoding, newline=newline)


def read_bytes(path):
    """The file's bytes, decompressed when it is gzip (a truncated gzip file is an error)."""
    if is_gzip(path):
        with _open_gzip(path) as file:
            return file.read()
    return Path(path).read_bytes()


def decode_error(path, encoding="utf-8", fallback_line=None):
    """The DataError for a file that does not decode, located at its first bad line.

    Text streams decode in large chunks, so the exception itself does not know the line;
    the file is scanned again, one line at a time, to find it. This only runs once reading
    has already failed, so speed does not matter here.
    """
    data = read_bytes(path)
    if _is_utf8(encoding) and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError as error:
            return _decode_data_error(path, encoding, number, raw, error)
    # Multi-byte encodings (UTF-16, ...) cannot be split on newline bytes.
    return DataError(path, f"not valid {_encoding_name(encoding)} text (use --encoding?)",
                     line=fallback_line)


def _encoding_name(encoding):
    return "UTF-8" if _is_utf8(encoding) else encoding


def _decode_data_error(path, encoding, number, raw, error):
    bad = raw[error.start:error.end].hex(" ")
    message = (f"not valid {_encoding_name(encoding)} text: byte(s) {bad} at column "
               f"{error.start + 1} (use --encoding? e.g. --encoding latin-1 or cp1252)")
    return DataError(path, message, line=number,
                     content=raw.decode(encoding, errors="backslashreplace"))


def iter_lines(path, encoding="utf-8"):
    """Yield ``(line_number, line)`` with the newline removed; numbers start at 1.

    Handles gzip, a UTF-8 BOM and CRLF / CR line endings. Bytes that are not valid in
    ``encoding`` raise a DataError naming the file and the line.
    """
    number = 0
    try:
        with open_text(path, encoding) as file:
            for number, line in enumerate(file, start=1):
                yield number, line.rstrip("\n")
    except UnicodeDecodeError:
        raise decode_error(path, encoding, fallback_line=number + 1) from None


def read_text(path, encoding="utf-8"):
    """The whole file as one string (gzip, BOM and CRLF handled as in :func:`iter_lines`)."""
    try:
        with open_text(path, encoding) as file:
            return file.read()
    except UnicodeDecodeError:
        raise decode_error(path, encoding) from None


def csv_rows(path, reader):
    """``(line number, row)`` for every row of a ``csv.reader`` with a non-blank field.

    The number is the line where the row starts, so a quoted field holding a line break
    does not shift the numbers of later rows; a malformed row is a DataError at its line.
    """
    row_start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataError(path, f"malformed CSV: {error}", line=row_start) from None
        if any(field.strip() for field in row):
            yield row_start, row
        row_start = reader.line_num + 1


def check_split_fractions(validation_fraction, test_fraction):
    """Both in [0, 1) and leaving something to train on; a SeqappsError otherwise."""
    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise SeqappsError(f"{name} must be in [0, 1), got {value}")
    if validation_fraction + test_fraction >= 1:
        raise SeqappsError("validation_fraction + test_fraction must be below 1, got "
                           f"{validation_fraction + test_fraction}")


def split_size(total, fraction):
    """``round(total * fraction)`` items for a split, but at least 1 when the fraction asks
    for any and there are 3 or more items (a small set still gets a test example)."""
    if fraction <= 0:
        return 0
    return max(1, round(total * fraction)) if total >= 3 else round(total * fraction)


def sha256_file(path):
    """Hex sha256 of a file, read in chunks so large archives need no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# Remote datasets
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteDataset:
    """A public file pinned by its sha256, so a changed or truncated download is caught.

    ``extract=True`` marks a ``.tar.gz`` / ``.tgz`` / ``.zip`` archive that is unpacked after
    download; :func:`fetch` then returns the folder it was unpacked into.
    """

    name: str
    url: str
    sha256: str
    filename: str
    description: str = ""
    citation: str = ""
    extract: bool = False


ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")


def _dataset_folder(dataset, cache=None):
    return Path(cache if cache is not None else cache_dir()) / "datasets" / dataset.name


def _archive_path(dataset, cache=None):
    return _dataset_folder(dataset, cache) / dataset.filename


def _extracted_path(dataset, cache=None):
    filename = dataset.filename
    for suffix in ARCHIVE_SUFFIXES:
        if filename.lower().endswith(suffix):
            filename = filename[: -len(suffix)]
            break
    return _dataset_folder(dataset, cache) / filename


def cached_path(dataset, cache=None):
    """Where :func:`fetch` puts the dataset: the file, or the unpacked folder for archives."""
    if dataset.extract:
        return _extracted_path(dataset, cache)
    return _archive_path(dataset, cache)


def _is_offline():
    return os.environ.get("SEQAPPS_OFFLINE") == "1"


def _manual_download_hint(dataset):
    return f"download it from {dataset.url} yourself and pass its path with --data PATH"


def fetch(dataset, *, cache=None, offline=None, progress=True):
    """Return the local path of ``dataset``, downloading and verifying it when needed.

    A cached copy whose sha256 matches is used without any network access. Otherwise the
    file is downloaded to a temporary name in the cache folder, checked, and only then moved
    into place, so an interrupted or corrupted download never looks like a cached one.
    """
    offline = _is_offline() if offline is None else offline
    archive = _archive_path(dataset, cache)
    downloaded = not (archive.is_file() and sha256_file(archive) == dataset.sha256)
    if downloaded:
        if offline:
            reason = ("the cached copy has the wrong sha256" if archive.exists()
                      else "it is not in the cache")
            raise SeqappsError(
                f"dataset '{dataset.name}' could not be downloaded: offline mode "
                f"(SEQAPPS_OFFLINE=1) and {reason} ({archive}); {_manual_download_hint(dataset)}")
        _download(dataset, archive, progress)
    if not dataset.extract:
        return archive
    extracted = _extracted_path(dataset, cache)
    if downloaded or not extracted.is_dir():  # a fresh archive replaces a stale folder
        safe_extract(archive, extracted)
    return extracted


def _download(dataset, target, progress):
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".part")
    temporary = Path(temporary)
    try:
        with os.fdopen(handle, "wb") as output:
            got = _copy_url(dataset, output, progress)
        if got != dataset.sha256:
            raise SeqappsError(
                f"download of dataset '{dataset.name}' from {dataset.url} is corrupt or has "
                f"changed: expected sha256 {dataset.sha256}, got {got}; the file was deleted")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _copy_url(dataset, output, progress):
    """Stream the URL into ``output`` and return the sha256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(dataset.url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=f"downloading {dataset.name}", disable=not progress) as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    output.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except NETWORK_ERRORS as error:
        raise SeqappsError(
            f"dataset '{dataset.name}' could not be downloaded from {dataset.url} ({error}); "
            f"{_manual_download_hint(dataset)}") from error
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# Safe archive extraction
# ---------------------------------------------------------------------------------------


def _check_member_name(archive, name):
    """Refuse names that would land outside the destination folder."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(name).drive:
        raise SeqappsError(f"{archive}: refusing to extract member with an absolute path: {name!r}")
    if ".." in posix.parts:
        raise SeqappsError(f"{archive}: refusing to extract member with '..' in its path: {name!r}")


def _check_tar_member(archive, member):
    _check_member_name(archive, member.name)
    if member.issym() or member.islnk():
        raise SeqappsError(f"{archive}: refusing to extract link member {member.name!r} "
                           f"(-> {member.linkname!r})")
    if not (member.isfile() or member.isdir()):
        raise SeqappsError(f"{archive}: refusing to extract special member {member.name!r} "
                           "(device, fifo or unknown type)")


def _check_zip_member(archive, info):
    _check_member_name(archive, info.filename)
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise SeqappsError(f"{archive}: refusing to extract link member {info.filename!r}")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise SeqappsError(f"{archive}: refusing to extract special member {info.filename!r}")


def _extract_tar(archive, destination):
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            _check_tar_member(archive, member)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(destination, members=members, filter="data")
        else:  # pragma: no cover - Python without the extraction filters backport
            tar.extractall(destination, members=members)


def _extract_zip(archive, destination):
    with zipfile.ZipFile(archive) as zip_file:
        infos = zip_file.infolist()
        for info in infos:
            _check_zip_member(archive, info)
        zip_file.extractall(destination, members=infos)


def _archive_kind(archive):
    if zipfile.is_zipfile(archive):
        return "zip"
    if tarfile.is_tarfile(archive):
        return "tar"
    raise SeqappsError(f"{archive}: not a tar or zip archive")


def safe_extract(archive, dest):
    """Unpack a tar (any compression) or zip archive into ``dest``, refusing unsafe members.

    Absolute paths, ``..`` components, symlinks, hardlinks and device or fifo entries are
    refused before anything is written. Members are unpacked into a temporary folder next
    to ``dest`` that is renamed into place at the end, so a failure leaves nothing
    half-extracted and an existing ``dest`` is replaced only by a complete one.
    """
    archive, dest = Path(archive), Path(dest)
    kind = _archive_kind(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial"))
    try:
        try:
            (_extract_zip if kind == "zip" else _extract_tar)(archive, staging)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, gzip.BadGzipFile) as error:
            raise SeqappsError(f"{archive}: could not extract ({error})") from error
        replace_folder(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


