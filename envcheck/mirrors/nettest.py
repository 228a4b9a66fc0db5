"""`envcheck mirrors test`: how fast each mirror answers here, all measured at once.

Per mirror, on its own daemon thread (:func:`envcheck.runner.run_parallel`, so a DNS lookup that
hangs is abandoned at the deadline instead of holding envcheck): an HTTP ``HEAD`` of its main URL
(latency: time until the response headers, DNS + TCP + TLS included; any HTTP answer, even 404,
means the host is reachable), then a ``GET`` of a small page read up to :data:`DOWNLOAD_CAP`
bytes (throughput). urllib only, never a shell; proxies from ``https_proxy`` & co. are honoured,
as pip and conda honour them. The downloads run concurrently and share this machine's bandwidth,
so throughputs compare mirrors with each other, not with a lone download.

Which URL: the PyPI index (its ``pip`` project page for the download), else the PyTorch wheel
index, else the first conda default channel (its ``noarch/repodata.json``, read only in part).
Unreachable mirrors are reported, never a failure: with no network at all every mirror is
unreachable and the command still exits 0 with a message saying so.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from .. import __version__
from ..i18n import N_, Message, quoted
from ..knowledge import Mirror
from ..redact import redact_data
from ..runner import run_parallel
from .fileio import Refusal


#: how much of the test page is read
DOWNLOAD_CAP = 256 * 1024
_CHUNK = 16 * 1024


@dataclass
class Target:
    name: str
    #: the URL whose HEAD measures latency
    url: str
    #: the URL read (in part) to measure throughput
    download_url: str


@dataclass
class Result:
    name: str
    url: str
    reachable: bool = False
    #: HTTP status of the HEAD (a 4xx still means the host answered)
    status: Optional[int] = None
    latency_ms: Optional[float] = None
    download_url: str = ""
    download_status: Optional[int] = None
    bytes: int = 0
    download_s: Optional[float] = None
    throughput_kib_s: Optional[float] = None
    #: what went wrong (English, as in JSON); ``problem`` is the same, worded where shown
    error: Optional[str] = None
    rank: Optional[int] = None
    problem: Optional[Message] = field(default=None, repr=False, compare=False)

    def fail(self, problem: Message) -> None:
        self.problem, self.error = problem, problem.text()

    @property
    def reason(self) -> str:
        """What went wrong, to word where shown: the Message, else the English ``error`` as it is."""
        return self.problem if self.problem is not None else self.error or ""


class BadTarget(Refusal, ValueError):
    """A malformed ``--url`` (``str()`` English, ``.message`` worded where shown)."""


def targets_for(mirrors: List[Mirror]) -> List[Target]:
    found = []
    for m in mirrors:
        if m.pypi:
            base = m.pypi.rstrip("/")
            found.append(Target(m.name, base + "/", base + "/pip/"))
        elif m.torch_wheels:
            base = m.torch_wheels.rstrip("/")
            found.append(Target(m.name, base + "/", base + "/cpu/" if m.torch_wheels_layout == "find-links"
                                else base + "/"))
        elif m.conda_default_channels:
            base = m.conda_default_channels[0].rstrip("/")
            found.append(Target(m.name, base + "/", base + "/noarch/repodata.json"))
        elif m.conda_channels:
            base = next(iter(m.conda_channels.values())).rstrip("/")
            found.append(Target(m.name, base + "/", base + "/noarch/repodata.json"))
    return found


def parse_target(text: str) -> Target:
    """``NAME=URL`` (or a bare URL) for the hidden ``--url`` option; ValueError when malformed."""
    name, sep, url = text.partition("=")
    if not sep or "://" in name:
        name, url = "", text
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadTarget(Message(N_("{option} {value}: give NAME=URL with an http:// or https:// URL"), option="--url",
                                value=repr(text)))
    return Target(name or parts.hostname, url, url)


def measure(target: Target, timeout: float, result: Optional[Result] = None) -> Result:
    """Latency and a capped download of one mirror; never raises for network trouble.

    ``result`` is filled as the steps finish, so a caller that stops waiting still has the latency.
    """
    result = result or Result(target.name, target.url, download_url=target.download_url)
    start = time.monotonic()
    status, error = _head(target.url, timeout)
    result.latency_ms = round((time.monotonic() - start) * 1000.0, 1)
    if status is None:
        result.latency_ms = None
        if error is not None:
            result.fail(error)
        return result
    result.reachable, result.status = True, status
    got, seconds, status, error = _download(target.download_url, timeout)
    result.download_status = status
    result.bytes = got
    if got:
        result.download_s = round(seconds, 3)
        result.throughput_kib_s = round(got / 1024.0 / max(seconds, 1e-6), 1)
    if error is not None:
        result.fail(error)
    return result


def run_all(targets: List[Target], timeout: float) -> List[Result]:
    """Measure every target concurrently; rank the reachable ones by latency, then throughput."""
    deadline = 2 * timeout + 1.0
    partial = [Result(t.name, t.url, download_url=t.download_url) for t in targets]
    tasks = {f"{i}": (lambda t=t, r=r: measure(t, timeout, r)) for i, (t, r) in enumerate(zip(targets, partial))}
    done, errors = run_parallel(tasks, deadline_s=deadline)
    results: List[Result] = []
    for i, result in enumerate(partial):
        key = f"{i}"
        if key in done:
            results.append(done[key])
            continue
        error = errors.get(key)
        if error is None:
            why = Message(N_("no answer"))
        elif error.startswith("timeout"):
            why = (Message(N_("download did not finish within {seconds} s"), seconds=f"{deadline:.1f}")
                   if result.reachable else Message(N_("no answer within {seconds} s"), seconds=f"{deadline:.1f}"))
        else:
            why = quoted(error)
        result.fail(why)
        results.append(result)
    reachable = sorted((r for r in results if r.reachable),
                       key=lambda r: (r.latency_ms if r.latency_ms is not None else float("inf"),
                                      -(r.throughput_kib_s or 0.0)))
    for rank, r in enumerate(reachable, 1):
        r.rank = rank
    return reachable + [r for r in results if not r.reachable]


def to_dict(results: List[Result], timeout: float, known: Sequence[str] = ()) -> Dict[str, Any]:
    reachable = sum(1 for r in results if r.reachable)
    return redact_data({
        "timeout_s": timeout,
        "reachable": reachable,
        "unreachable": len(results) - reachable,
        "message": summary(results, timeout, known),
        "results": [_result_dict(r) for r in results],
    })


def _result_dict(result: Result) -> Dict[str, Any]:
    data = asdict(result)
    data.pop("problem", None)  # JSON holds the English ``error``
    return data


def summary(results: List[Result], timeout: float, known: Sequence[str] = ()) -> Message:
    """The one-line verdict under the table (and JSON's ``message``, in English)."""
    reachable = [r for r in results if r.reachable]
    if not results:
        return Message(N_("no mirror to test"))
    if not reachable:
        return Message(N_("No mirror answered (timeout {seconds} s): this machine seems to have no network access, "
                          "or a firewall or proxy blocks these hosts (set {variable} if you need one)."),
                       seconds=f"{timeout:g}", variable="https_proxy")
    best = reachable[0]
    text = Message(N_("{reachable} of {total} mirrors answered; fastest to answer: {name} ({latency} ms)."),
                   reachable=len(reachable), total=len(results), name=best.name, latency=f"{best.latency_ms:g}")
    if best.name in known:
        text += Message(N_(" {command} switches to it."), command=f"`envcheck mirrors use {best.name}`")
    return text


# --------------------------------------------------------------------------- HTTP


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener()


def _request(url: str, method: str) -> urllib.request.Request:
    return urllib.request.Request(url, method=method, headers={
        "User-Agent": f"envcheck/{__version__} (mirrors test)", "Accept-Encoding": "identity"})


def _head(url: str, timeout: float) -> Tuple[Optional[int], Optional[Message]]:
    try:
        with _opener().open(_request(url, "HEAD"), timeout=timeout) as resp:
            return int(resp.status), None
    except urllib.error.HTTPError as exc:
        return int(exc.code), None  # the server answered: reachable
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        return None, _reason(exc, timeout)


def _download(url: str, timeout: float) -> Tuple[int, float, Optional[int], Optional[Message]]:
    """(bytes read, seconds, HTTP status, error) of a GET read up to DOWNLOAD_CAP."""
    start = time.monotonic()
    got = 0
    try:
        with _opener().open(_request(url, "GET"), timeout=timeout) as resp:
            status = int(resp.status)
            while got < DOWNLOAD_CAP:
                chunk = resp.read(min(_CHUNK, DOWNLOAD_CAP - got))
                if not chunk:
                    break
                got += len(chunk)
                if time.monotonic() - start > timeout:
                    break
        return got, time.monotonic() - start, status, None
    except urllib.error.HTTPError as exc:
        return got, time.monotonic() - start, int(exc.code), Message(N_("download: HTTP {code}"), code=exc.code)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        return got, time.monotonic() - start, None, Message(N_("download: {problem}"), problem=_reason(exc, timeout))


def _reason(exc: BaseException, timeout: float) -> Message:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in str(reason):
        return Message(N_("no answer within {seconds} s"), seconds=f"{timeout:g}")
    if isinstance(reason, socket.gaierror):
        return Message(N_("host name not resolved ({reason})"), reason=str(reason.strerror or reason))
    if isinstance(reason, ConnectionRefusedError):
        return Message(N_("connection refused"))
    if isinstance(reason, OSError) and reason.strerror:
        return quoted(reason.strerror)
    return quoted(" ".join(str(reason).split()) or type(reason).__name__)
