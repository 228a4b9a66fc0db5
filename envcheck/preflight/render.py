"""How a policy's outcome is shown: stderr lines and a Markdown section, in the reader's language.

The policy engine (:mod:`.policy`) gives each requirement a reason as a Message; this renderer words it.
The JSON block stays with the engine (:func:`.policy.policy_data`): it is English.
"""

from __future__ import annotations

from typing import List

from ..i18n import N_, Gettext, english, text_in
from .policy import MET, UNKNOWN, UNMET, PolicyResult


def policy_lines(result: PolicyResult, include_met: bool = False, _: Gettext = english) -> List[str]:
    """One line per unmet requirement (and per met one with ``include_met``), for stderr."""
    out = []
    for r in result.results:
        if r.met and not include_met:
            continue
        template = N_("envcheck: requirement met: {requirement}: {reason}") if r.met else \
            N_("envcheck: requirement NOT MET: {requirement}: {reason}")
        out.append(_(template).format(requirement=r.requirement.expr, reason=text_in(r.reason, _)))
    return out


def policy_markdown(result: PolicyResult, _: Gettext = english) -> str:
    """A Markdown section for `doctor --markdown`: every requirement, met or not."""
    mark = {MET: _("met"), UNMET: _("**not met**"), UNKNOWN: _("**not met** (unknown)")}
    if result.ok:
        heading = _("### Policy: met")
    else:
        heading = _("### Policy: {unmet} of {total} not met").format(unmet=len(result.unmet), total=len(result.results))
    lines = [heading, "", "| {} | {} | {} |".format(_("requirement"), _("result"), _("found")), "|---|---|---|"]
    for r in result.results:
        lines.append(f"| `{r.requirement.expr}` | {mark[r.status]} | {text_in(r.reason, _).replace('|', '/')} |")
    return "\n".join(lines) + "\n"
