"""A small read-only client for a Python package index, used by ``refresh`` (never by doctor).

It reads what the index itself publishes: the PEP 691 simple JSON listing of a project's files,
a wheel's METADATA (PEP 658 ``<url>.metadata``, falling back to HTTP range reads of the wheel's
zip directory when the index has no PEP 658 file), and single members of a wheel (also by range
reads, so a 900 MB torch wheel costs a few MB). Everything is stdlib ``urllib`` with timeouts;
every failure is a :class:`IndexUnavailable` that names the URL and the cause.
"""

from __future__ import annotations

import json
import re
import struct
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from email.parser import HeaderParser
from typing import Any, Dict, List, Optional, Tuple

PYPI_SIMPLE = "https://pypi.org/simple"
USER_AGENT = "envcheck-knowledge-refresh (+https://pypi.org/simple; stdlib urllib)"
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
#: how much of a wheel's end to read first: the zip end records and, usually, the whole directory
_TAIL_BYTES = 1 << 20
#: the most a server that ignores range requests may send back whole
_WHOLE_FILE_LIMIT = 64 << 20
_WHEEL_NAME = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)


class IndexUnavailable(Exception):
    """The index (or a file on it) could not be read; the message names the URL and why."""


@dataclass(frozen=True)
class WheelName:
    """The parts of a wheel file name (PEP 427)."""

    name: str
    version: str
    python: Tuple[str, ...]
    abi: str
    platform: Tuple[str, ...]


@dataclass(frozen=True)
class IndexFile:
    """One file of a project as the simple JSON API lists it."""

    filename: str
    url: str
    requires_python: Optional[str] = None
    upload_time: Optional[str] = None
    yanked: bool = False
    #: True / False when the index says whether a PEP 658 metadata file exists; None when it is silent
    has_metadata: Optional[bool] = None

    @property
    def wheel(self) -> Optional[WheelName]:
        """The parsed wheel name; None for sdists and other files."""
        return parse_wheel_filename(self.filename)


@dataclass
class Metadata:
    """The parts of a core-metadata (METADATA) file refresh needs."""

    name: str = ""
    version: str = ""
    requires_python: Optional[str] = None
    requires_dist: List[str] = field(default_factory=list)


def parse_wheel_filename(filename: str) -> Optional[WheelName]:
    """"torch-2.5.1-cp310-cp310-manylinux1_x86_64.whl" -> its tags; None for anything but a wheel."""
    m = _WHEEL_NAME.match(filename)
    if not m:
        return None
    return WheelName(m.group("name"), m.group("version"), tuple(m.group("python").split(".")),
                     m.group("abi"), tuple(m.group("platform").split(".")))


def parse_metadata(text: str) -> Metadata:
    """Core metadata (RFC 822 headers) -> name, version, Requires-Python, Requires-Dist."""
    headers = HeaderParser().parsestr(text, headersonly=True)
    return Metadata(
        name=(headers.get("Name") or "").strip(),
        version=(headers.get("Version") or "").strip(),
        requires_python=(headers.get("Requires-Python") or "").strip() or None,
        requires_dist=[" ".join(r.split()) for r in headers.get_all("Requires-Dist") or []],
    )


def _open(url: str, timeout: float, headers: Optional[Dict[str, str]] = None) -> Any:
    """An open HTTP response; every failure becomes IndexUnavailable naming the URL."""
    if not url.startswith(("https://", "http://")):
        raise IndexUnavailable(f"{url}: only http(s) URLs are read")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - scheme checked above
    except urllib.error.HTTPError as exc:
        raise IndexUnavailable(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IndexUnavailable(f"{url}: {reason}") from exc


def fetch(url: str, timeout: float, headers: Optional[Dict[str, str]] = None) -> bytes:
    """The body of ``url``; IndexUnavailable on any network or HTTP failure."""
    with _open(url, timeout, headers) as response:
        try:
            return response.read()
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"{url}: read failed: {exc}") from exc


def project_files(project: str, timeout: float, index: str = PYPI_SIMPLE) -> List[IndexFile]:
    """Every file of ``project`` from the index's PEP 691 JSON listing."""
    url = f"{index.rstrip('/')}/{project}/"
    body = fetch(url, timeout, {"Accept": _SIMPLE_JSON})
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise IndexUnavailable(f"{url}: not a PEP 691 JSON answer ({exc})") from exc
    return parse_simple_json(data, url)


def parse_simple_json(data: dict, url: str = "") -> List[IndexFile]:
    """The ``files`` of a PEP 691 answer as IndexFile records."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise IndexUnavailable(f"{url}: the JSON answer has no 'files' list")
    files = []
    for row in data["files"]:
        if not isinstance(row, dict) or "filename" not in row or "url" not in row:
            continue
        meta = row.get("core-metadata", row.get("dist-info-metadata"))
        files.append(IndexFile(
            filename=row["filename"],
            url=row["url"],
            requires_python=row.get("requires-python") or None,
            upload_time=row.get("upload-time") or None,
            yanked=bool(row.get("yanked")),
            has_metadata=None if meta is None else bool(meta),
        ))
    return files


class RemoteZip:
    """Reads single members of a zip (a wheel) over HTTP range requests."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._members: Optional[Dict[str, Tuple[int, int, int]]] = None

    def _range(self, start: int, end: Optional[int] = None) -> Tuple[bytes, Optional[int]]:
        """Bytes ``start..end`` (a negative start: the last -start bytes) and the file's total size."""
        spec = f"bytes={start}" if start < 0 else f"bytes={start}-" if end is None else f"bytes={start}-{end}"
        with _open(self.url, self.timeout, {"Range": spec}) as response:
            total: Optional[int] = None
            content_range = response.headers.get("Content-Range") or ""
            if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
                total = int(content_range.rsplit("/", 1)[1])
            if response.status == 200:  # the server ignored the range: take the body, if it is small
                length = int(response.headers.get("Content-Length") or 0)
                if length > _WHOLE_FILE_LIMIT:
                    raise IndexUnavailable(f"{self.url}: the server ignored the range request ({length} bytes)")
            elif response.status != 206:
                raise IndexUnavailable(f"{self.url}: unexpected HTTP {response.status} to a range request")
            try:
                data = response.read()
            except (OSError, ValueError) as exc:
                raise IndexUnavailable(f"{self.url}: read failed: {exc}") from exc
        if response.status == 200:
            total = len(data)
            data = data[start:] if start < 0 else data[start:None if end is None else end + 1]
        return data, total

    def members(self) -> Dict[str, Tuple[int, int, int]]:
        """name -> (compression method, compressed size, local header offset), from the central directory."""
        if self._members is not None:
            return self._members
        tail, total = self._range(-_TAIL_BYTES)
        if total is None:
            raise IndexUnavailable(f"{self.url}: no Content-Range total in the answer")
        cd_offset, cd_size = _central_directory_location(tail, self.url)
        tail_start = total - len(tail)
        if cd_offset >= tail_start:
            directory = tail[cd_offset - tail_start: cd_offset - tail_start + cd_size]
        else:
            directory, _ = self._range(cd_offset, cd_offset + cd_size - 1)
        self._members = parse_central_directory(directory)
        return self._members

    def read(self, name: str) -> bytes:
        """The uncompressed bytes of one member."""
        members = self.members()
        if name not in members:
            raise IndexUnavailable(f"{self.url}: no member {name}")
        method, size, offset = members[name]
        header, _ = self._range(offset, offset + 29)
        if header[:4] != b"PK\x03\x04":
            raise IndexUnavailable(f"{self.url}: bad local header for {name}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = offset + 30 + name_len + extra_len
        data, _ = self._range(start, start + size - 1) if size else (b"", None)
        if method == 0:
            return data
        if method == 8:
            try:
                return zlib.decompressobj(-15).decompress(data)
            except zlib.error as exc:
                raise IndexUnavailable(f"{self.url}: cannot inflate {name}: {exc}") from exc
        raise IndexUnavailable(f"{self.url}: {name} uses zip compression method {method}")


def _central_directory_location(tail: bytes, url: str) -> Tuple[int, int]:
    """(offset, size) of the central directory from the (zip64) end records in ``tail``."""
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        raise IndexUnavailable(f"{url}: no zip end-of-directory record in the last {len(tail)} bytes")
    cd_size, cd_offset = struct.unpack("<II", tail[end + 12:end + 20])
    z64 = tail.rfind(b"PK\x06\x06", 0, end)
    if z64 >= 0 and len(tail) >= z64 + 56:
        cd_size, cd_offset = struct.unpack("<QQ", tail[z64 + 40:z64 + 56])
    return cd_offset, cd_size


def parse_central_directory(directory: bytes) -> Dict[str, Tuple[int, int, int]]:
    """Central-directory records -> name: (method, compressed size, local header offset), zip64-aware."""
    members: Dict[str, Tuple[int, int, int]] = {}
    pos = 0
    while directory[pos:pos + 4] == b"PK\x01\x02" and pos + 46 <= len(directory):
        method, = struct.unpack("<H", directory[pos + 10:pos + 12])
        csize, usize = struct.unpack("<II", directory[pos + 20:pos + 28])
        name_len, extra_len, comment_len = struct.unpack("<HHH", directory[pos + 28:pos + 34])
        offset, = struct.unpack("<I", directory[pos + 42:pos + 46])
        name = directory[pos + 46:pos + 46 + name_len].decode("utf-8", "replace")
        extra = directory[pos + 46 + name_len:pos + 46 + name_len + extra_len]
        q = 0
        while q + 4 <= len(extra):
            header_id, length = struct.unpack("<HH", extra[q:q + 4])
            if header_id == 1:  # zip64: only the fields that overflowed are present, in this order
                values, k = extra[q + 4:q + 4 + length], 0
                if usize == 0xFFFFFFFF:
                    usize, = struct.unpack("<Q", values[k:k + 8])
                    k += 8
                if csize == 0xFFFFFFFF:
                    csize, = struct.unpack("<Q", values[k:k + 8])
                    k += 8
                if offset == 0xFFFFFFFF:
                    offset, = struct.unpack("<Q", values[k:k + 8])
            q += 4 + length
        members[name] = (method, csize, offset)
        pos += 46 + name_len + extra_len + comment_len
    return members


def wheel_metadata(file: IndexFile, timeout: float) -> str:
    """A wheel's METADATA text: the PEP 658 file when the index has one, else read from the wheel."""
    if file.has_metadata is not False:
        try:
            return fetch(file.url + ".metadata", timeout).decode("utf-8", "replace")
        except IndexUnavailable:
            pass  # some files lack the PEP 658 copy even where the index advertises none: read the wheel
    remote = RemoteZip(file.url, timeout)
    names = [n for n in remote.members() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if not names:
        raise IndexUnavailable(f"{file.url}: no *.dist-info/METADATA in the wheel")
    return remote.read(names[0]).decode("utf-8", "replace")
