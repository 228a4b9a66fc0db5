"""With a mirror named: the newest build that mirror serves in full, what the official index would add,
and which other mirrors carry the build the official index would give.

"In full" means every pin and every dependency from the mirror: PyPI's own build through a complete
PyPI mirror, or a variant its PyTorch wheel mirror is recorded to carry.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..i18n import N_, Message, data_message, joined
from ..knowledge import Knowledge, Mirror, TorchRelease, TorchVariant
from .availability import on_pypi
from .resolve import Choice, NoFit, Serves, Target, resolve


def mirror_serves(mirror: Mirror, knowledge: Knowledge, platform: str) -> Serves:
    """The predicate the resolver takes: True when ``mirror`` serves this build in full on ``platform``."""

    def serves(release: TorchRelease, variant: TorchVariant) -> bool:
        if on_pypi(knowledge, release, variant, platform):
            return bool(mirror.pypi) and mirror.pypi_full is not False
        return bool(mirror.torch_wheels) and mirror.carries_variant(variant.tag) is True

    return serves


def carriers(tag: str, knowledge: Knowledge, but: Optional[str] = None) -> List[Mirror]:
    """The mirrors recorded to carry the ``tag`` wheels (NJU, Aliyun, SJTU ...), ``but`` one left out."""
    return [m for m in knowledge.mirrors()
            if not m.official and m.name != but and m.torch_wheels and m.carries_variant(tag) is True]


def choose(target: Target, knowledge: Knowledge, mirror: Optional[Mirror]) -> Tuple[Choice, List[Message]]:
    """The build to install and, with a mirror, what to say about the choice (raises NoFit like resolve)."""
    official = resolve(target, knowledge)
    if mirror is None or mirror.official:
        return official, []
    title = data_message(mirror.title)
    try:
        local: Optional[Choice] = resolve(target, knowledge, mirror_serves(mirror, knowledge, target.platform),
                                          explain=False)
    except NoFit:
        local = None
    notes: List[Message] = []
    build = f"{official.release.version} {official.variant.tag}"
    if local is None:
        notes.append(Message(N_("{mirror} serves no build that fits in full: torch {build} comes from the official "
                                "index"), mirror=title, build=build))
        chosen = official
    elif (local.release.version, local.variant.tag) == (official.release.version, official.variant.tag):
        return local, []
    else:
        chosen = local
        notes.append(Message(N_("torch {local} is the newest build {mirror} serves in full; the official index "
                                "would add torch {build} (leave out --mirror for it)"),
                             local=f"{local.release.version} {local.variant.tag}", mirror=title, build=build))
    others = carriers(official.variant.tag, knowledge, but=mirror.name)
    if others:
        notes.append(Message(N_("mirrors that carry the {tag} wheels: {mirrors}"), tag=official.variant.tag,
                             mirrors=joined([Message(N_("{name} ({url})"), name=m.name,
                                                     url=f"{m.torch_wheels.rstrip('/')}/{official.variant.tag}")
                                             for m in others])))
    return chosen, notes
