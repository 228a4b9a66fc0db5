"""What `envcheck install-cmd` was asked for, checked, and turned into the resolver's target.

The flags override the machine's facts one by one, so a plan can be made for another machine.
A flag envcheck cannot use raises :class:`InvalidRequest`, whose Message the CLI shows as a usage
problem in the reader's language. Probing and printing are the CLI's and the renderer's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional

from ..i18n import N_, Message
from ..knowledge import Knowledge, Mirror
from ..snapshot import Snapshot
from ..versions import capability, major_minor
from .packages import COMPANIONS, DEFAULT_COMPANIONS, POINTERS
from .resolve import Target, target_from_snapshot

_OSES = {"linux": "linux", "windows": "windows", "win": "windows", "macos": "macos", "darwin": "macos", "mac": "macos"}
#: the package managers install-cmd writes commands for, in the order it prints them
MANAGERS = ("pip", "uv", "conda")


class InvalidRequest(ValueError):
    """A flag install-cmd cannot use; ``message`` (a Message) says which and what to give instead."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass
class InstallRequest:
    os_name: Optional[str] = None
    arch: Optional[str] = None
    python: Optional[str] = None
    driver: Optional[str] = None
    no_gpu: bool = False
    gpus: List[str] = field(default_factory=list)
    capabilities: List[str] = field(default_factory=list)
    torch: Optional[str] = None
    cuda: Optional[str] = None
    managers: List[str] = field(default_factory=lambda: list(MANAGERS))
    mirror: Optional[str] = None
    timeout: float = 10.0
    #: companions beyond torchvision, from --with ("torchaudio", "xformers", ...)
    with_packages: List[str] = field(default_factory=list)
    #: keep the installed torch and pair the rest: None = when one is installed and sound
    keep_torch: Optional[bool] = None
    #: shell | requirements | uv-project | pip-conf
    out_format: str = "shell"
    #: --all: the lines through every mirror too
    every_mirror: bool = False

    def python_path(self) -> Optional[str]:
        """The interpreter to probe when ``--python`` names one (a path), else None (this environment's)."""
        return self.python if self.python and _is_path(self.python) else None


def check_managers(req: InstallRequest) -> None:
    """Refuse a ``--manager`` install-cmd has no commands for."""
    bad = [m for m in req.managers if m not in MANAGERS]
    if bad:
        raise InvalidRequest(Message(N_("{option}: choose pip, uv or conda"), option=f"--manager {bad[0]!r}"))


def requested_mirror(req: InstallRequest, knowledge: Knowledge) -> Optional[Mirror]:
    """The ``--mirror`` asked for (None when none was), or InvalidRequest naming the mirrors envcheck knows."""
    if not req.mirror:
        return None
    mirror = knowledge.mirror(req.mirror)
    if mirror is None:
        known = ", ".join(m.name for m in knowledge.mirrors())
        raise InvalidRequest(Message(N_("{option} is not a mirror envcheck knows ({known})"),
                                     option=f"--mirror {req.mirror!r}", known=known))
    return mirror


def build_target(req: InstallRequest, snap: Optional[Snapshot], knowledge: Knowledge) -> Target:
    """The resolver's target: the machine's facts, overridden by every flag given."""
    target = target_from_snapshot(snap) if snap is not None else Target()
    if req.os_name:
        os_key = _OSES.get(req.os_name.lower())
        if os_key is None:
            raise InvalidRequest(Message(N_("{option}: choose linux, windows or macos"),
                                         option=f"--os {req.os_name!r}"))
        target.os = os_key
    if req.arch:
        target.arch = req.arch
    if req.python and not _is_path(req.python):
        if major_minor(req.python) is None:
            raise InvalidRequest(Message(N_("{option}: give a version like 3.11, or a path to an interpreter"),
                                         option=f"--python {req.python!r}"))
        target.python = major_minor(req.python)
    if req.driver:
        if major_minor(req.driver) is None:
            raise InvalidRequest(Message(N_("{option}: give a version like 535.104.05"),
                                         option=f"--driver {req.driver!r}"))
        target.driver, target.driver_cuda = req.driver, None
    caps: List[str] = []
    names: List[str] = []
    gfx: List[str] = []
    for name in req.gpus:
        spec = knowledge.gpu_by_name(name)
        amd = knowledge.amd_gpus().by_gfx(name) or knowledge.amd_gpus().by_product(name) if spec is None else None
        if spec is None and amd is None:
            raise InvalidRequest(Message(N_("{option}: not a GPU envcheck knows; give --compute-capability X.Y "
                                            "instead"), option=f"--gpu {name!r}"))
        if amd is not None:
            gfx.append(amd.name)
            continue
        caps.append(spec.compute_capability)
        names.append(spec.name)
    for cc in req.capabilities:
        parsed = capability(cc)
        if parsed is None:
            raise InvalidRequest(Message(N_("{option}: give it as X.Y, e.g. 8.6"),
                                         option=f"--compute-capability {cc!r}"))
        caps.append(f"{parsed[0]}.{parsed[1]}")
    if caps:
        target.capabilities, target.gpu_names, target.no_gpu = caps, names, False
    if gfx:
        target.gfx, target.no_gpu = gfx, not caps and not target.driver
    if req.no_gpu:
        target.capabilities, target.gpu_names, target.no_gpu = [], [], True
        target.driver = target.driver_cuda = None
    elif (req.driver or caps) and target.no_gpu:
        target.no_gpu = False
    target.torch, target.cuda = req.torch, req.cuda
    target.companions = companions(req)
    return target


def companions(req: InstallRequest) -> tuple:
    """torchvision, plus what --with asks for, in the order commands name them; --with no-torchvision drops it."""
    asked = []
    for item in req.with_packages:
        asked += [name.strip().lower() for name in item.split(",") if name.strip()]
    unknown = [name for name in asked if name not in COMPANIONS + POINTERS and name != "no-torchvision"]
    if unknown:
        raise InvalidRequest(Message(N_("{option}: choose from {known}"), option=f"--with {unknown[0]!r}",
                                     known=", ".join(COMPANIONS + POINTERS + ("no-torchvision",))))
    wanted = set(DEFAULT_COMPANIONS) | set(asked)
    if "no-torchvision" in asked:
        wanted.discard("torchvision")
    return tuple(name for name in COMPANIONS + POINTERS if name in wanted)


def installed_torch(snap: Optional[Snapshot]) -> Optional[tuple]:
    """(version, build tag) of the torch installed in the target ("2.11.0", "cu130"), or None."""
    from ..versions import parse_version

    if snap is None or not (snap.torch.dist_version or snap.torch.version):
        return None
    parsed = parse_version(snap.torch.version or snap.torch.dist_version)
    if parsed is None:
        return None
    local = (parsed.local or "").lower()
    if snap.torch.cuda:
        nums = major_minor(snap.torch.cuda)
        tag = "cu" + nums.replace(".", "") if nums else local or None
    elif local.startswith(("cu", "rocm", "cpu", "xpu")):
        tag = local
    elif getattr(snap.torch, "build", None) == "cpu":
        tag = "cpu"
    else:
        tag = None
    return parsed.public, tag


def _is_path(value: str) -> bool:
    return os.sep in value or value.startswith(".") or os.path.exists(value)
