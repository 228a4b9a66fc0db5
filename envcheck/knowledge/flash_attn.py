"""flash-attn's prebuilt wheels (data/flash_attn.toml): which release has a wheel for a torch, CUDA and Python.

flash-attn's PyPI package is a source distribution; the wheels live on its GitHub releases, one per combination
of its release workflow's matrix. Without a matching wheel pip compiles for an hour or fails, so an install
plan needs to know whether one exists. The data file holds each release's matrix; the names are expanded here
the way the workflow names them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..versions import cuda_from_tag, dotted, parse_version

_PLATFORMS = {"linux_x86_64": "linux_x86_64", "linux-64": "linux_x86_64", "linux-x86_64": "linux_x86_64",
              "linux": "linux_x86_64"}
_AXES = {"python-version": "python", "torch-version": "torch", "cuda-version": "cuda", "cxx11_abi": "abi"}


@dataclass
class FlashAttnWheel:
    """One published wheel: the release, its file name and where to download it."""

    version: str
    filename: str
    url: str
    #: the torch the wheel was built against ("2.6.0.dev20241001" for a nightly)
    torch_built: str = ""
    #: the CUDA toolkit the wheel was built with ("12.9.1")
    cuda_built: str = ""
    cxx11_abi: bool = False
    release_url: str = ""


@dataclass
class FlashAttnRelease:
    """One release tag's build matrix (publish.yml at the tag)."""

    version: str
    tag: str
    date: Optional[str]
    commit: str
    platform: str
    python: List[str] = field(default_factory=list)
    torch: List[str] = field(default_factory=list)
    cuda: List[str] = field(default_factory=list)
    cxx11_abi: List[str] = field(default_factory=list)
    #: "major" (cu12, from 2.7.0) or "major_minor" (cu122, up to 2.6.3)
    wheel_cuda: str = "major"
    #: the matrix's exclude entries, with the workflow's own keys ("torch-version", "python-version", ...)
    exclude: List[Dict[str, str]] = field(default_factory=list)
    runner: List[str] = field(default_factory=list)
    source: str = ""

    def combinations(self) -> List[Dict[str, str]]:
        """The matrix jobs: python x torch x cuda x abi minus the excluded ones (GitHub's exclude semantics:
        an entry removes every job that matches all of its keys)."""
        jobs = []
        for py, torch, cuda, abi in itertools.product(self.python, self.torch, self.cuda, self.cxx11_abi):
            job = {"python": py, "torch": torch, "cuda": cuda, "abi": abi}
            if any(all(job.get(_AXES.get(k, k)) == v for k, v in entry.items()) for entry in self.exclude):
                continue
            jobs.append(job)
        return jobs

    def wheel_cuda_tag(self, cuda: str) -> str:
        nums = dotted(cuda, 2) or (0, 0)
        return f"{nums[0]}" if self.wheel_cuda == "major" else f"{nums[0]}{nums[1]}"


def _torch_minor(text: Optional[str]) -> Optional[str]:
    nums = dotted(text, 2)
    return f"{nums[0]}.{nums[1]}" if nums else None


def _cuda(text: Optional[str]) -> Optional[Tuple[int, Optional[int]]]:
    """(major, minor or None): "12.8" -> (12, 8), "12" -> (12, None), "cu128" -> (12, 8), "cu12" -> (12, None)."""
    if text is None:
        return None
    s = str(text).strip().lower()
    if s.startswith("cu"):
        digits = s[2:]
        if not digits.isdigit():
            return None
        if len(digits) == 2 and int(digits) >= 10:  # flash-attn's cu11 / cu12 / cu13: a major
            return int(digits), None
        mm = cuda_from_tag(s)
        s = mm or ""
    nums = dotted(s)
    if not nums:
        return None
    return nums[0], (nums[1] if len(nums) > 1 else None)


def _is_dev(torch: str) -> bool:
    v = parse_version(torch)
    return bool(v and v.is_prerelease)


def _py_tag(python: str) -> str:
    """"3.12" / "3.12.4" / "cp312" -> "312"."""
    text = str(python).strip().lower()
    if text.startswith("cp") and text[2:].isdigit():
        return text[2:]
    nums = dotted(text, 2)
    return f"{nums[0]}{nums[1]}" if nums else text


@dataclass
class FlashAttnFacts:
    """The releases of data/flash_attn.toml, newest first, and the name/URL templates."""

    releases: List[FlashAttnRelease] = field(default_factory=list)
    wheel_name: str = ""
    download_url: str = ""
    release_url: str = ""
    #: the minor from which torch's own Linux wheels use the C++11 ABI, and the recorded exceptions
    cxx11_abi_from: str = ""
    abi_exceptions: List[Dict[str, Any]] = field(default_factory=list)
    recorded: str = ""
    snapshot: str = ""
    source: str = ""

    @classmethod
    def from_data(cls, data: Dict[str, Any]) -> "FlashAttnFacts":
        releases = [FlashAttnRelease(**row) for row in data.get("release", [])]
        releases.sort(key=lambda r: parse_version(r.version) or parse_version("0"), reverse=True)
        abi = data.get("torch_abi", {})
        return cls(releases=releases, wheel_name=data.get("wheel_name", ""),
                   download_url=data.get("download_url", ""), release_url=data.get("release_url", ""),
                   cxx11_abi_from=abi.get("cxx11_abi_from", ""), abi_exceptions=list(abi.get("exceptions", [])),
                   recorded=data.get("recorded", ""), snapshot=data.get("snapshot", ""),
                   source=data.get("source", ""))

    def release(self, version: Optional[str]) -> Optional[FlashAttnRelease]:
        v = parse_version(version)
        return next((r for r in self.releases if v is not None and parse_version(r.version) == v), None)

    def torch_cxx11_abi(self, torch_minor: str, cuda: Optional[str] = None) -> Optional[bool]:
        """Whether torch's own Linux wheels of that minor (and CUDA) use the C++11 ABI; None if unknown."""
        minor = dotted(torch_minor, 2)
        start = dotted(self.cxx11_abi_from, 2)
        if minor is None or start is None:
            return None
        for ex in self.abi_exceptions:
            if dotted(ex.get("torch"), 2) == minor and cuda is not None and dotted(ex.get("cuda"), 2) == dotted(cuda, 2):
                return bool(ex.get("cxx11_abi"))
        return minor >= start

    def wheel_name_for(self, release: FlashAttnRelease, job: Dict[str, str]) -> str:
        py = _py_tag(job["python"])
        return self.wheel_name.format(version=release.version, cuda=release.wheel_cuda_tag(job["cuda"]),
                                      torch=_torch_minor(job["torch"]), abi=job["abi"], py=py,
                                      platform=release.platform)

    def wheels(self, release: FlashAttnRelease) -> List[FlashAttnWheel]:
        """Every wheel a release's workflow publishes."""
        return [self._wheel(release, job) for job in release.combinations()]

    def _wheel(self, release: FlashAttnRelease, job: Dict[str, str]) -> FlashAttnWheel:
        name = self.wheel_name_for(release, job)
        return FlashAttnWheel(version=release.version, filename=name,
                              url=self.download_url.format(version=release.version, filename=name),
                              torch_built=job["torch"], cuda_built=job["cuda"], cxx11_abi=job["abi"] == "TRUE",
                              release_url=self.release_url.format(version=release.version))

    def wheel_for(self, torch_minor: str, cuda: str, python: str, platform: str,
                  cxx11_abi: Optional[bool] = None, include_dev: bool = False) -> Optional[FlashAttnWheel]:
        """The newest release's wheel for a torch minor ("2.8"), torch's CUDA ("12.8", "cu128": matched by major,
        as flash-attn's setup.py does), a Python ("3.12") and a platform ("linux_x86_64" / "linux-64").

        ``cxx11_abi``: torch._C._GLIBCXX_USE_CXX11_ABI of the target torch; None takes the ABI of torch's own
        Linux wheels of that minor. Wheels built against a torch nightly (2.6.0.dev...) are skipped unless
        ``include_dev``: a nightly's C++ symbols need not match the release. None when no release has one."""
        plat = _PLATFORMS.get(str(platform).strip().lower())
        minor = _torch_minor(torch_minor)
        want = _cuda(cuda)
        if plat is None or minor is None or want is None:
            return None
        if cxx11_abi is None:
            cxx11_abi = self.torch_cxx11_abi(minor, f"{want[0]}.{want[1]}" if want[1] is not None else None)
            if cxx11_abi is None:
                return None
        abi = "TRUE" if cxx11_abi else "FALSE"
        py = _py_tag(python)
        for release in self.releases:
            if release.platform != plat:
                continue
            for job in release.combinations():
                if (_torch_minor(job["torch"]) == minor and _py_tag(job["python"]) == py and job["abi"] == abi
                        and (dotted(job["cuda"]) or (0,))[0] == want[0]
                        and (include_dev or not _is_dev(job["torch"]))):
                    return self._wheel(release, job)
        return None
