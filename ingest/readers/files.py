"""Opening (compressed) input files, with the compressed offset for error messages."""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from corpuscope.errors import ShardFailure


# -- opening compressed files, with offsets for error messages ----------------------------------
class CountingFile(io.RawIOBase):
    """A raw file that knows how many bytes were read from it (the compressed offset)."""

    def __init__(self, f: BinaryIO):
        self._f = f
        self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)
        self.offset += n or 0
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """Zstandard frames one after another; raises EOFError when the input ends mid-frame
    (zstandard's own stream reader returns a short read instead)."""

    def __init__(self, f: BinaryIO):
        import zstandard

        self._f = f
        self._dctx = zstandard.ZstdDecompressor(max_window_size=2**31)
        self._obj = self._dctx.decompressobj()
        self._in_frame = False
        self._buf = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            chunk = self._f.read(1 << 20)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended in the middle of a frame")
                return 0
            while chunk:
                self._in_frame = True
                self._buf += self._obj.decompress(chunk)
                if not self._obj.eof:
                    break
                chunk = self._obj.unused_data
                self._obj = self._dctx.decompressobj()
                self._in_frame = False
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        if self._pos == len(self._buf):
            self._buf, self._pos = b"", 0
        return n


def _magic(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(6)


#: Compression a file's name promises, by suffix.
_NAMED = {".gz": "gzip", ".tgz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".xz": "xz"}


def _compression(magic: bytes) -> str | None:
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if magic[:6] == b"\xfd7zXZ\x00":
        return "xz"
    return None


def compression_problem(path: Path, magic: bytes | None = None) -> str | None:
    """Why a file's content is not the compression its name promises (a `.gz` that is not
    gzip: a saved error page, a file renamed by hand), or None. Never quotes the content."""
    suffix = next((s for s in _NAMED if path.name.lower().endswith(s)), None)
    if suffix is None:
        return None
    magic = _magic(path) if magic is None else magic
    actual = _compression(magic)
    if actual == _NAMED[suffix]:
        return None
    if actual:
        what = f"{actual} data"
    elif not magic:
        what = "empty"
    elif magic.isascii() and all(32 <= b < 127 or b in b"\t\r\n" for b in magic):
        what = "plain text (an error page or an uncompressed file under a compressed name?)"
    else:
        what = "not compressed data of a known kind"
    return (
        f"{path}: named {suffix} but not {_NAMED[suffix]}: the file is {what}; "
        "fetch it again, or rename it to what it is"
    )


def open_decompressed(path: Path) -> tuple[BinaryIO, CountingFile]:
    """Open a file, decompressing gzip, zstd or xz by its magic bytes; a file whose name
    promises a compression its content lacks is refused (`ShardFailure`)."""
    magic = _magic(path)
    if problem := compression_problem(path, magic):
        raise ShardFailure(problem)
    raw = CountingFile(open(path, "rb"))  # noqa: SIM115 - closed by the caller via the stream
    buffered = io.BufferedReader(raw, 1 << 20)
    kind = _compression(magic)
    if kind == "gzip":
        return gzip.GzipFile(fileobj=buffered), raw  # type: ignore[return-value]
    if kind == "zstd":
        return io.BufferedReader(_ZstdReader(buffered), 1 << 20), raw  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(buffered), raw  # type: ignore[return-value]
    return buffered, raw  # type: ignore[return-value]


BROKEN = (EOFError, OSError, zlib.error, lzma.LZMAError, tarfile.TarError)


def failure(path: str, raw: CountingFile | None, ordinal: int, exc: BaseException) -> ShardFailure:
    where = f" at compressed byte offset {raw.offset}" if raw is not None else ""
    return ShardFailure(
        f"{path}: {type(exc).__name__}: {exc}{where}, after {ordinal} records; "
        "the file is truncated or corrupt"
    )


def zstd_error() -> tuple[type[BaseException], ...]:
    try:
        import zstandard

        return (zstandard.ZstdError,)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        return ()
