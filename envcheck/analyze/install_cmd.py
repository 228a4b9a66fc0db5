"""A pasted install command: ``pip install``, ``uv pip install`` / ``uv add``, ``conda`` / ``mamba`` /
``micromamba install`` and ``create``.

The command says what was asked for, not what got installed: its package specs
(``torch==2.5.1+cu121``, ``pytorch-cuda=12.1``), pip's index options (``--index-url``,
``--extra-index-url``, ``-f``) and conda's ``-c`` channels, in order. Shell prompts, a Colab ``!``,
backticks and what follows ``&&`` / ``;`` / ``|`` / ``#`` are not part of it; a line ending in ``\\``
continues on the next.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from ..probes.conda import TORCH_PACKAGES
from ..probes.target_script import normalize, wanted
from .gates import Gate

_COMMAND = re.compile(r"(?:^|[\s!`>$#(:;&|])(?P<tool>(?:python[\d.]*\s+-m\s+)?pip3?|uv(?:\s+pip)?|conda|mamba|micromamba)"
                      r"\s+(?P<verb>install|add|create)\b")
_PIP_VALUE_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-r", "--requirement",
                      "-c", "--constraint", "--target", "-t", "--prefix", "--root", "--python", "-p", "--trusted-host",
                      "--platform", "--python-version", "--implementation", "--abi", "--cache-dir", "--src",
                      "--index", "--default-index", "--group", "--extra", "--upgrade-package", "-P", "--config-settings",
                      "-C", "--no-binary", "--only-binary", "--progress-bar", "--timeout", "--retries", "--log"}
_CONDA_VALUE_OPTIONS = {"-c", "--channel", "-n", "--name", "-p", "--prefix", "--file", "--solver", "--repodata-fn",
                        "--subdir", "--platform"}
_PIP_INDEX = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--index", "--default-index"}


@dataclass
class InstallCommand:
    #: "pip" (pip and uv) | "conda" (conda, mamba, micromamba)
    tool: str = ""
    specs: List[str] = field(default_factory=list)
    index_urls: List[str] = field(default_factory=list)
    channels: List[str] = field(default_factory=list)


def _command_text(lines: Sequence[str], i: int) -> Optional[str]:
    line = lines[i]
    m = _COMMAND.search(line)
    if not m:
        return None
    text = line[m.start("tool"):]
    j = i
    while text.rstrip().endswith("\\") and j + 1 < len(lines) and j < i + 10:
        j += 1
        text = text.rstrip()[:-1] + " " + lines[j].strip()
    for stop in ("&&", ";", "|", " #", "`"):
        cut = text.find(stop)
        if cut > 0:
            text = text[:cut]
    return text


def _tokens(text: str) -> List[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def parse_command(text: str) -> Optional[InstallCommand]:
    """The specs and sources of one install command line; None when it is not one."""
    m = _COMMAND.search(text)
    if not m:
        return None
    tool = "conda" if m.group("tool") in ("conda", "mamba", "micromamba") else "pip"
    cmd = InstallCommand(tool=tool)
    tokens = _tokens(text[m.end("verb"):])
    value_options = _CONDA_VALUE_OPTIONS if tool == "conda" else _PIP_VALUE_OPTIONS
    k = 0
    while k < len(tokens):
        token = tokens[k]
        if token.startswith("-"):
            name, eq, value = token.partition("=")
            if name in value_options:
                if not eq:
                    value = tokens[k + 1] if k + 1 < len(tokens) else ""
                    k += 1
                if tool == "conda" and name in ("-c", "--channel") and value:
                    cmd.channels.append(value)
                elif tool == "pip" and name in _PIP_INDEX and value:
                    cmd.index_urls.append(value)
            k += 1
            continue
        spec = token.strip("'\"`")
        if spec.endswith(".whl") and tool == "pip":
            from .pip_log import wheel_request
            spec = wheel_request(spec) or spec
        if spec:
            head = re.split(r"[\[<>=!~;\s@]", spec, 1)[0]
            if tool == "conda":
                name = head.split("::")[-1]
                if name in TORCH_PACKAGES or name in ("pytorch-nightly", "torchtriton", "pytorch-gpu") \
                        or re.fullmatch(r"cuda\d{2,3}", name):  # conda <= 2018's cuda90 / cuda100 variant packages
                    cmd.specs.append(spec)
            elif wanted(normalize(head)):
                cmd.specs.append(spec)
        k += 1
    if not (cmd.specs or cmd.index_urls or cmd.channels):
        return None
    return cmd


#: what a line where an install command starts always holds: the cheap test :mod:`.detect` runs first
GATE = Gate(words=("install", "add", "create"))


def detect(lines: List[str], i: int) -> Optional[int]:
    """End of an install command on line ``i`` (and its ``\\`` continuations), or None."""
    if "install" not in lines[i] and "add" not in lines[i] and "create" not in lines[i]:
        return None
    text = _command_text(lines, i)
    if text is None or parse_command(text) is None:
        return None
    j = i
    while lines[j].rstrip().endswith("\\") and j + 1 < len(lines) and j < i + 10:
        j += 1
    return j + 1


def parse(lines: Sequence[str]) -> List[InstallCommand]:
    """Every install command in the lines; never raises."""
    out: List[InstallCommand] = []
    for i in range(len(lines)):
        if i and lines[i - 1].rstrip().endswith("\\"):
            continue
        text = _command_text(lines, i)
        if text is None:
            continue
        cmd = parse_command(text)
        if cmd is not None:
            out.append(cmd)
    return out
