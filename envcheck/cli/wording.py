"""The command line's own words in the reader's language: ``--help`` texts and the usage errors of
the option parser (click, inside typer).

Help texts are message ids (marked with ``N_`` where they are written, docstrings of commands
collected by the extractor); :func:`localize_help` translates them on the command tree that typer
builds for one run, before it parses, so nothing global changes. click words its usage errors in
English with no hook for a translation, so :func:`usage_error_text` rebuilds the message from the
exception's parts (which option, which parameter) and from click's few message templates, listed
here as message ids; a message it does not know is shown as click wrote it, in quotes.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Pattern, Tuple

from ..i18n import N_, Gettext, english

#: click's own wording of what it checks, as templates (its English is the message id)
CLICK_MESSAGES = (
    N_("{value} is not a valid {kind}."),
    N_("{value} is not in the range {range}."),
    N_("{value} is not one of {choices}."),
    N_("{value} is not {choice}."),
    N_("No such command {name}."),
    N_("Got unexpected extra argument(s) ({arguments})"),
    N_("Got unexpected extra argument ({arguments})"),
    N_("Got unexpected extra arguments ({arguments})"),
    N_("Option {name} does not take a value."),
    N_("Option {name} requires an argument."),
    N_("Option {name} requires {count} arguments."),
    N_("Argument {name} takes {count} values."),
    N_("No such option: {name}"),
    N_("Missing command."),
)
HELP_OPTION_TEXT = N_("Show this message and exit.")
#: typer's panel titles in --help
OPTIONS_PANEL, ARGUMENTS_PANEL, COMMANDS_PANEL = N_("Options"), N_("Arguments"), N_("Commands")


def _pattern(template: str) -> Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$", re.S)


def _known(message: str) -> Optional[Tuple[str, Dict[str, str]]]:
    """(template, fields) of one of click's messages, or None."""
    for template in CLICK_MESSAGES:
        m = _pattern(template).match(message.strip())
        if m:
            return template, m.groupdict()
    return None


def _worded(message: str, _: Gettext) -> str:
    """click's message in ``_``'s language; an unknown one as click wrote it, quoted."""
    found = _known(message)
    if found is None:
        return message if _ is english else f"“{message}”"
    template, fields = found
    return _(template).format(**fields)


def _param_hint(exc: Any) -> str:
    hint = getattr(exc, "param_hint", None)
    param = getattr(exc, "param", None)
    if hint is None and param is not None:
        try:
            hint = param.get_error_hint(exc.ctx)
        except Exception:  # an older click: the parameter's name is enough
            hint = f"'{param.name}'"
    if isinstance(hint, (list, tuple)):
        hint = " / ".join(repr(h) for h in hint)
    return str(hint) if hint else ""


def error_message(exc: Any, _: Gettext) -> str:
    """What went wrong, in ``_``'s language (click's "Error: ..." line without "Error: ")."""
    kind = type(exc).__name__
    if kind == "NoSuchOption":
        text = _("No such option: {name}").format(name=exc.option_name)
        possibilities = getattr(exc, "possibilities", None)
        if possibilities:
            text += " " + _("(Possible options: {options})").format(options=", ".join(sorted(possibilities)))
        return text
    if kind == "MissingParameter":
        param = getattr(exc, "param", None)
        param_type = getattr(exc, "param_type", None) or (param.param_type_name if param is not None else None)
        template = {"argument": N_("Missing argument {name}."), "option": N_("Missing option {name}.")}.get(
            param_type or "", N_("Missing parameter {name}."))
        return _(template).format(name=_param_hint(exc))
    if kind == "BadParameter" or (hasattr(exc, "param") and hasattr(exc, "param_hint")):
        hint = _param_hint(exc)
        detail = _worded(str(getattr(exc, "message", exc)), _)
        if not hint:
            return _("Invalid value: {reason}").format(reason=detail)
        return _("Invalid value for {option}: {reason}").format(option=hint, reason=detail)
    return _worded(str(getattr(exc, "message", None) or exc.format_message()), _)


def usage_error_text(exc: Any, _: Gettext) -> str:
    """The whole usage error as click prints it (usage line, hint, error), in ``_``'s language."""
    lines: List[str] = []
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        usage = ctx.get_usage()
        if usage.startswith("Usage: "):
            usage = _("Usage: {usage}").format(usage=usage[len("Usage: "):])
        lines.append(usage)
        if ctx.command.get_help_option(ctx) is not None:
            lines.append(_("Try {command} for help.").format(
                command=f"'{ctx.command_path} {ctx.help_option_names[0]}'"))
        lines.append("")
    lines.append(_("Error: {message}").format(message=error_message(exc, _)))
    return "\n".join(lines)


def localize_help(command: Any, _: Gettext, help_option_names: Tuple[str, ...] = ("-h", "--help")) -> None:
    """Translate the help of ``command``, its parameters and its subcommands, in place.

    ``command`` is the click command typer built for this run (``typer.main.get_command``), so the
    translation lives and dies with the run.
    """
    if getattr(command, "help", None):
        command.help = _(command.help)
    if getattr(command, "short_help", None):
        command.short_help = _(command.short_help)
    for param in getattr(command, "params", []):
        if getattr(param, "help", None):
            param.help = _(param.help)
        if hasattr(param, "rich_help_panel") and not param.rich_help_panel:
            is_argument = getattr(param, "param_type_name", "") == "argument"
            param.rich_help_panel = _(ARGUMENTS_PANEL if is_argument else OPTIONS_PANEL)
    _localize_help_option(command, _, help_option_names)
    for sub in getattr(command, "commands", {}).values():
        panel = getattr(sub, "rich_help_panel", None)
        if hasattr(sub, "rich_help_panel") and not (isinstance(panel, str) and panel):  # unset: typer's default
            sub.rich_help_panel = _(COMMANDS_PANEL)
        localize_help(sub, _, help_option_names)


def _localize_help_option(command: Any, _: Gettext, names: Tuple[str, ...]) -> None:
    """The -h/--help option is made by click when first asked for; ask now and word its help."""
    try:
        from typer import _click as click  # typer >= 0.26 carries its own click
    except ImportError:  # pragma: no cover - older typer, click itself
        import click  # type: ignore[no-redef]
    try:
        option = command.get_help_option(click.Context(command, help_option_names=list(names)))
    except Exception:  # pragma: no cover - a click that builds it differently: left in English
        return
    if option is not None and getattr(option, "help", None):
        option.help = _(option.help)
        if hasattr(option, "rich_help_panel") and not option.rich_help_panel:
            option.rich_help_panel = _(OPTIONS_PANEL)
