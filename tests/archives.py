"""Building tar and zip archives in memory, safe or hostile, for the extraction tests."""

import io
import tarfile
import zipfile


def make_tar(files, mode="w:gz", extra=()):
    """A tar archive of ``{name: bytes}``, then the ``extra`` members (links, devices) as given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return buffer.getvalue()


def link_member(name, target, kind=tarfile.SYMTYPE):
    """A tar symlink (or, with ``kind=tarfile.LNKTYPE``, hardlink) member."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def make_zip(files, symlinks=()):
    """A zip archive of ``{name: bytes}`` (names kept verbatim) plus ``(name, target)`` symlinks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name), data)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()
