"""Keep what is installed: when the target already has a torch that fits the machine, pair the rest to it
instead of replacing it (``--keep-torch``, the default when a torch is installed)."""

from __future__ import annotations

from dataclasses import replace
from typing import List, Optional, Tuple

from ..i18n import N_, Message, joined
from ..knowledge import Knowledge, Mirror
from ..snapshot import Snapshot
from .mirror_choice import choose
from .request import installed_torch
from .resolve import Choice, NoFit, Target


def choose_keeping(target: Target, knowledge: Knowledge, mirror: Optional[Mirror], snap: Optional[Snapshot],
                   keep: Optional[bool]) -> Tuple[Choice, List[Message]]:
    """The build to install and what to say about it; ``keep`` None keeps an installed torch that fits,
    True insists (NoFit when it does not fit), False replaces it."""
    installed = installed_torch(snap) if keep is not False and target.torch is None else None
    if installed is None:
        if keep is True:
            raise NoFit([Message(N_("--keep-torch: no torch is installed in the target environment"))])
        return choose(target, knowledge, mirror)
    version, tag = installed
    build = f"{version} {tag}" if tag else version
    kept = replace(target, torch=version, cuda=tag or target.cuda)
    try:
        choice, notes = choose(kept, knowledge, mirror)
    except NoFit as exc:
        if keep is True:
            raise NoFit([Message(N_("the installed torch {build} does not fit this machine"), build=build)]
                        + exc.reasons) from exc
        choice, notes = choose(target, knowledge, mirror)
        return choice, [Message(N_("the installed torch {build} does not fit this machine ({why}); the plan replaces "
                                   "it"), build=build, why=joined(exc.reasons[:2]))] + notes
    return choice, [Message(N_("keeps the installed torch {build} and pairs the rest to it (--replace-torch for the "
                               "newest build that fits)"), build=build)] + notes
