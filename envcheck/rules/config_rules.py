"""Rules about configuration files pip or conda cannot load: each would make every pip or conda command fail.

These rules run first, so their findings come before any advice that runs pip or conda (the sort is stable
within a severity). The wording quotes the tool's own reaction: pip's ``ConfigurationFileCouldNotBeLoaded``
("Configuration file could not be loaded.", then configparser's words), conda's ``ConfigurationLoadError``
("Unable to load configuration file. path: ... reason: invalid yaml at line ...").
"""

from __future__ import annotations

import shlex
from typing import Iterator

from ..findings import Finding
from ..i18n import N_, Message
from .base import RuleContext, finding

_NOT_UTF8 = "contains bytes that are not UTF-8"


def _move_aside(path: str) -> Message:
    return Message(N_("Or move it aside until it is fixed: {command}"),
                   command=f"mv {shlex.quote(path)} {shlex.quote(path + '.broken')}")


def pip_config_broken(ctx: RuleContext) -> Iterator[Finding]:
    for broken in ctx.snap.pip.broken:
        path, line, reason = broken.path, broken.line, broken.reason
        if not broken.refused:  # unreadable: pip's configparser skips it without a word
            yield finding(
                "pip-config-broken",
                Message(N_("pip cannot read its configuration file {path} and skips it silently"), path=path),
                Message(N_("{path} {reason}: pip ignores the file without a warning, so the index, mirror or "
                           "proxy it sets do not apply to any pip command."), path=path, reason=reason),
                [Message(N_("Make it readable for this user: {command}"), command=f"chmod a+r {shlex.quote(path)}"),
                 _move_aside(path)],
                severity="warning", path=path, line=line, reason=str(reason), refused=False)
            continue
        if str(reason).startswith(_NOT_UTF8):
            reaction = Message(N_("pip stops before doing anything: \"ERROR: Configuration file contains invalid "
                                  "characters in {path}\""), path=path)
        else:
            reaction = Message(N_("pip stops before doing anything: \"ERROR: Configuration file could not be "
                                  "loaded.\" followed by the parser's words: {reason}"), reason=reason)
        if line is not None:
            title = Message(N_("pip refuses to run: its configuration file {path} is broken at line {line}"),
                            path=path, line=line)
            fix = [Message(N_("Correct line {line} of {path} (an option needs a [global] or [install] section "
                              "header above it, each option once per section, text in UTF-8)"), line=line, path=path)]
        else:
            title = Message(N_("pip refuses to run: its configuration file {path} is broken"), path=path)
            fix = [Message(N_("Correct {path} (an option needs a [global] or [install] section header above it, "
                              "each option once per section, text in UTF-8)"), path=path)]
        fix.append(_move_aside(path))
        yield finding(
            "pip-config-broken", title,
            Message(N_("{reaction}. Every pip command (install, download, list) fails the same way until the file "
                       "is fixed or moved aside, including every pip command this report suggests."),
                    reaction=reaction),
            fix, path=path, line=line, reason=str(reason), refused=True)


def condarc_broken(ctx: RuleContext) -> Iterator[Finding]:
    for rc in ctx.snap.conda.condarc:
        if not rc.load_failed:
            continue
        path, line, reason = rc.path, rc.error_line, rc.error or ""
        if line is not None:
            title = Message(N_("conda refuses to run: its configuration file {path} is broken at line {line}"),
                            path=path, line=line)
            fix = [Message(N_("Correct line {line} of {path} (YAML: spaces not tabs, every [ or {{ closed, one "
                              "\"key: value\" per line, a mapping of settings at the top)"), line=line, path=path)]
        else:
            title = Message(N_("conda refuses to run: its configuration file {path} is broken"), path=path)
            fix = [Message(N_("Correct {path} (YAML: spaces not tabs, every [ or {{ closed, one \"key: value\" per "
                              "line, a mapping of settings at the top)"), path=path)]
        fix.append(_move_aside(path))
        yield finding(
            "condarc-broken", title,
            Message(N_("conda stops before doing anything: \"ConfigurationLoadError: Unable to load configuration "
                       "file. path: {path}\" (some YAML errors end in conda's unexpected-error report instead). "
                       "The file is {reason}. Every conda command (install, create, list, config) "
                       "fails the same way until it is fixed or moved aside, including every conda command this "
                       "report suggests."), path=path, reason=reason),
            fix, path=path, line=line, reason=str(reason))


RULES = [pip_config_broken, condarc_broken]
