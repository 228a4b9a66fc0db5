"""What a GPU container needs: the /dev/nvidia* nodes inside, the NVIDIA Container Toolkit on the host.

``docker run --gpus all`` needs the toolkit's programs on the host (nvidia-container-runtime-hook,
nvidia-ctk, ...); a container started without ``--gpus`` has no /dev/nvidia* at all. Both are read from
PATH and files only: asking the docker daemon (``docker info``) can take seconds or hang, and doctor
must stay fast.
"""

from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

from ..snapshot import ContainerRuntime
from . import ProbeContext, read_text

#: the NVIDIA Container Toolkit's programs (any one means it is installed)
TOOLKIT_PROGRAMS = ("nvidia-ctk", "nvidia-container-runtime", "nvidia-container-runtime-hook", "nvidia-container-cli")
DAEMON_JSON = "/etc/docker/daemon.json"


def daemon_runtimes(text: Optional[str]) -> Optional[List[str]]:
    """The runtime names of a docker daemon.json ({"runtimes": {"nvidia": {...}}}); None when it is not JSON."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    runtimes = data.get("runtimes")
    names = sorted(str(k) for k in runtimes) if isinstance(runtimes, dict) else []
    default = data.get("default-runtime")
    if isinstance(default, str) and default not in names:
        names.append(default)
    return names


def probe(ctx: ProbeContext) -> ContainerRuntime:
    """/dev/nvidia*, docker and the toolkit on PATH, daemon.json's runtimes; no command is run."""
    facts = ContainerRuntime()
    if sys.platform.startswith("linux"):
        try:
            facts.dev_nodes = sorted(n for n in os.listdir(ctx.path("/dev")) if n.startswith("nvidia"))
            facts.dev_scanned = True
        except OSError:
            pass
    facts.docker = ctx.which("docker")
    facts.toolkit = [name for name in TOOLKIT_PROGRAMS if ctx.which(name)]
    if facts.docker:
        facts.daemon_runtimes = daemon_runtimes(read_text(ctx.path(DAEMON_JSON), 1 << 16))
    return facts
