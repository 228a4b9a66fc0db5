"""Install commands for a chosen torch build: the exact text a user pastes.

The official layout: PyPI's default Linux build installs with a plain ``pip install``; every other
variant comes from ``https://download.pytorch.org/whl/<tag>`` with ``--index-url``.
"""

from __future__ import annotations

from typing import List, Optional

from ..knowledge import TorchRelease, TorchVariant

PYTORCH_INDEX = "https://download.pytorch.org/whl"


def pinned_packages(release: TorchRelease, with_vision: bool = True, with_audio: bool = True) -> List[str]:
    """["torch==2.0.0", "torchvision==0.15.1", "torchaudio==2.0.1"]: always the exact pairs."""
    pins = [f"torch=={release.version}"]
    if with_vision and release.torchvision:
        pins.append(f"torchvision=={release.torchvision}")
    if with_audio and release.torchaudio:
        pins.append(f"torchaudio=={release.torchaudio}")
    return pins


def uses_pypi_default(variant: TorchVariant, os_name: str) -> bool:
    """True when plain PyPI serves exactly this build on this OS."""
    if os_name == "linux":
        return variant.pypi_default
    # On Windows and macOS, PyPI's torch is the CPU build.
    return variant.tag == "cpu"


def pip_command(release: TorchRelease, variant: TorchVariant, os_name: str = "linux",
                index_url: Optional[str] = None, installer: str = "pip install",
                with_vision: bool = True, with_audio: bool = True) -> str:
    """``pip install torch==V torchvision==V torchaudio==V [--index-url URL]``."""
    parts = [installer] + pinned_packages(release, with_vision, with_audio)
    if index_url:
        parts += ["--index-url", index_url]
    elif not uses_pypi_default(variant, os_name):
        parts += ["--index-url", f"{PYTORCH_INDEX}/{variant.tag}"]
    return " ".join(parts)
