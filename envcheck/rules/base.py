"""What every rule shares: the snapshot, the knowledge, and facts derived from them once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..findings import Finding, Severity
from ..i18n import N_, Message, joined
from ..knowledge import Knowledge
from ..snapshot import Snapshot
from .codes import CODES


@dataclass
class RuleContext:
    snap: Snapshot
    knowledge: Knowledge
    _memo: Dict[str, Any] = field(default_factory=dict)

    # -- facts derived from the snapshot
    @property
    def os_name(self) -> str:
        name = (self.snap.system.os or "linux").lower()
        return "macos" if name == "darwin" else name

    @property
    def has_nvidia(self) -> bool:
        """An NVIDIA GPU or driver is known to be present."""
        d = self.snap.driver
        return bool(self.snap.gpus or d.version or d.kernel_module_version or d.pci_devices
                    or d.status in ("ok", "no-driver-comm", "driver-library-mismatch", "no-devices"))

    @property
    def torch_installed(self) -> bool:
        t = self.snap.torch
        return bool(t.version or t.dist_version or t.location)

    @property
    def torch_is_cuda(self) -> bool:
        return bool(self.snap.torch.cuda)

    def capabilities(self) -> List[str]:
        caps = [g.compute_capability for g in self.snap.gpus if g.compute_capability]
        return caps or [d.capability for d in self.snap.torch.devices if d.capability]

    # -- the fix every torch-build finding shares
    def install_fix(self, **overrides: Any) -> List[str]:
        """The command that installs the right torch for this machine (the resolver's choice)."""
        key = "install_fix:" + repr(sorted(overrides.items()))
        if key not in self._memo:
            from ..install.plan import install_line
            from ..install.resolve import NoFit, resolve, target_from_snapshot

            target = target_from_snapshot(self.snap)
            for name, value in overrides.items():
                setattr(target, name, value)
            try:
                choice = resolve(target, self.knowledge)
            except NoFit as exc:
                self._memo[key] = [Message(N_("No torch build fits this machine: {reasons}"),
                                           reasons=joined(exc.reasons))]
            except Exception as exc:  # knowledge missing: say so rather than invent a command
                self._memo[key] = [Message(N_("See `envcheck install-cmd` (resolver unavailable: {error})"),
                                           error=str(exc))]
            else:
                build = f"{choice.release.version} {choice.variant.tag}"
                self._memo[key] = [
                    install_line(choice, target, self.knowledge),
                    Message(N_("(torch {build}: {reasons})"), build=build, reasons=joined(choice.reasons[1:3]))
                    if len(choice.reasons) > 1 else f"(torch {build})",
                ]
        return list(self._memo[key])


def finding(code: str, title: str, detail: str = "", fix: Optional[List[str]] = None,
            severity: Optional[str] = None, **facts: Any) -> Finding:
    """A finding with the catalogue's section and default severity."""
    entry = CODES[code]
    return Finding(code=code, severity=Severity(severity or entry.severity), title=title, detail=detail,
                   fix=list(fix or []), section=entry.section, facts=facts)


class Texts(List[Message]):
    """A finding's problems as Messages: worded in the text where shown, in English in its facts.

    ``add(N_("gcc {gcc} is newer ..."), gcc="15.1.0")`` appends one.
    """

    def add(self, msgid: str, **fields: Any) -> None:
        self.append(Message(msgid, **fields))

    @property
    def english(self) -> List[str]:
        return [str(m) for m in self]
