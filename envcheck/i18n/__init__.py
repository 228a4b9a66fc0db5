"""Translations: which language to speak, and the gettext catalogue that speaks it.

The catalogues are standard gettext files inside the package:
``envcheck/locale/<locale>/LC_MESSAGES/envcheck.po`` (the source, edited by translators) and its
compiled ``envcheck.mo`` (what the standard library's :mod:`gettext` reads at run time; rebuilt
with ``python -m envcheck.i18n.compile``). English is the source language: a message id *is* the
English text, so English output needs no catalogue at all.

There is no global "current language". A command resolves the language once
(:func:`resolve_lang`), builds one :func:`translator`, and passes its ``gettext`` function — by
convention named ``_`` — explicitly: to the rules through ``RuleContext._``, to renderers and
planners as a ``_`` parameter whose default, :func:`english`, returns the message unchanged.

Messages with placeholders use named ``{fields}`` that are filled *after* translation::

    _("GPU {index} ({name}) is not supported by this torch build").format(index=0, name="H100")

so the catalogue holds the template, and a translator may move the fields. Commands, paths,
versions, URLs and finding codes are never translated; they are passed in as fields. JSON output is
always English (keys, codes and text), whatever the language: it is read by scripts and compared
across machines (``envcheck diff``, ``envcheck fleet``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

#: a gettext function: message id in, text in the chosen language out
Gettext = Callable[[str], str]

DOMAIN = "envcheck"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
#: the languages envcheck speaks, and the gettext locale folder of each
LANGUAGES = {"en": None, "zh": "zh_CN"}
#: the POSIX order: the first of these that is set and non-empty decides the message language
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def english(message: str) -> str:
    """The gettext function for English: message ids are the English text."""
    return message


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for the catalogue without translating it here (it is translated where shown)."""
    return message


#: how a list of messages is joined (Chinese uses the full-width semicolon)
LIST_SEPARATOR = N_("; ")


class Message(str):
    """A sentence decided now and worded where shown: it *is* its English text (a ``str``, so JSON,
    comparisons and ``in`` see the English), and keeps its message id and fields so a report can show
    it in the reader's language with :meth:`text`.

    Write it as ``Message(N_("driver {version}"), version=v)`` (``N_`` puts the id in the catalogue).
    A field may itself be a Message, or a list of them (joined with ``_(LIST_SEPARATOR)``).
    ``a + b`` with a Message on either side is a Message too (:class:`Concat`), so sentences and
    command lines with a translated comment can be built up as the English was.
    """

    msgid: str
    fields: Dict[str, Any]

    def __new__(cls, msgid: str, **fields: Any) -> "Message":
        made = super().__new__(cls, _worded(msgid, fields, english))
        made.msgid, made.fields = msgid, fields
        return made

    def __getnewargs_ex__(self):  # copy and pickle rebuild it from its id and fields
        return (self.msgid,), dict(self.fields)

    def text(self, _: Gettext = english) -> str:
        """The sentence in ``_``'s language."""
        return _worded(self.msgid, self.fields, _)

    def __add__(self, other: Any) -> "Message":
        if not isinstance(other, str):
            return NotImplemented
        return Concat([*_parts(self), *_parts(other)])

    def __radd__(self, other: Any) -> "Message":
        if not isinstance(other, str):
            return NotImplemented
        return Concat([*_parts(other), *_parts(self)])

    def mapped(self, fn: Callable[[str], str]) -> "Message":
        """The same message with ``fn`` applied to every plain-text field (redaction, escaping)."""
        return Message(self.msgid, **{k: _map_field(v, fn) for k, v in self.fields.items()})


class Concat(Message):
    """Texts one after another (plain strings kept as they are, Messages worded)."""

    parts: List[str]

    def __new__(cls, parts: List[str]) -> "Concat":
        made = str.__new__(cls, "".join(str(p) for p in parts))
        made.msgid, made.fields, made.parts = "", {}, list(parts)
        return made

    def __getnewargs_ex__(self):
        return (list(self.parts),), {}

    def text(self, _: Gettext = english) -> str:
        return "".join(text_in(p, _) for p in self.parts)

    def mapped(self, fn: Callable[[str], str]) -> "Message":
        return Concat([_map_field(p, fn) for p in self.parts])


class DataText(Message):
    """Text from a data file (a mirror's notes, a known defect, an error signature): its message id is the
    text on one line; untranslated, it stays exactly as written (line breaks included)."""

    def __new__(cls, text: str) -> "DataText":
        made = str.__new__(cls, text)
        made.msgid, made.fields = one_line(text), {}
        return made

    def __getnewargs_ex__(self):
        return (str(self),), {}

    def text(self, _: Gettext = english) -> str:
        translated = _(self.msgid) if self.msgid else self.msgid
        return str.__str__(self) if translated == self.msgid else translated

    def mapped(self, fn: Callable[[str], str]) -> "Message":
        changed = fn(str.__str__(self))
        return self if changed == str.__str__(self) else DataText(changed)


class Template(Message):
    """Pieces worded one by one, then filled as one template: text from a data file (an error signature's title,
    detail or fix step, its ``<placeholders>`` translated apart from the command around them), filled with
    values read from a paste. A clause whose ``{name}`` has no value is left out (the parenthesis or the sentence
    holding it); a template that cannot be filled is shown unfilled."""

    pieces: List[str]

    def __new__(cls, pieces: List[str], **fields: Any) -> "Template":
        made = str.__new__(cls, _filled("".join(str(p) for p in pieces), fields, english))
        made.msgid, made.fields, made.pieces = "", fields, list(pieces)
        return made

    def __getnewargs_ex__(self):
        return (list(self.pieces),), dict(self.fields)

    def text(self, _: Gettext = english) -> str:
        return _filled("".join(text_in(p, _) for p in self.pieces), self.fields, _)

    def mapped(self, fn: Callable[[str], str]) -> "Message":
        return Template([_map_field(p, fn) for p in self.pieces], **{k: _map_field(v, fn) for k, v in self.fields.items()})


#: a parenthesis, ASCII or full-width, holding one {placeholder} (no nesting)
_PAREN = r"\s?[(\uff08][^(){}\uff08\uff09]*\{%s\}[^(){}\uff08\uff09]*[)\uff09]"
#: a sentence holding one {placeholder}: from a sentence start to its full stop (ASCII or full-width)
_SENTENCE = r"(?:^|(?<=[.\u3002;\uff1b]\s)|(?<=[\u3002\uff1b]))[^.\u3002;\uff1b]*\{%s\}[^.\u3002;\uff1b]*[.\u3002;\uff1b]?\s?"


def _without_unknowns(template: str, known: Mapping[str, Any]) -> str:
    """``template`` less every clause whose ``{name}`` has no value: the parenthesis holding it, else its sentence
    (a clause whose fact is unknown is dropped, never shown as "?" or "None")."""
    import re

    for name in set(re.findall(r"\{(\w+)\}", template)) - set(known):
        for pattern in (_PAREN, _SENTENCE):
            shorter = re.sub(pattern % re.escape(name), "", template, count=1)
            if shorter != template:
                template = shorter
                break
    return template.strip()


class _Unknown(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def _filled(template: str, fields: Mapping[str, Any], _: Gettext) -> str:
    known = {k: _field_text(v, _) for k, v in fields.items() if v is not None and v != ""}
    try:
        return (_without_unknowns(template, known) or template).format_map(_Unknown(known))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


#: punctuation after which Chinese text goes on without a space
_WIDE_STOPS = "\u3002\uff01\uff1f\uff1b\uff1a\uff09\u300d\u201d"


class Sentences(Message):
    """Sentences one after another: a space between two, none after a full-width (Chinese) stop."""

    items: List[str]

    def __new__(cls, items: List[str]) -> "Sentences":
        made = str.__new__(cls, _sentences([str(i) for i in items]))
        made.msgid, made.fields, made.items = "", {}, list(items)
        return made

    def __getnewargs_ex__(self):
        return (list(self.items),), {}

    def text(self, _: Gettext = english) -> str:
        return _sentences([text_in(i, _) for i in self.items])

    def mapped(self, fn: Callable[[str], str]) -> "Message":
        return Sentences([_map_field(i, fn) for i in self.items])


def _sentences(texts: List[str]) -> str:
    out = ""
    for text in texts:
        if not text:
            continue
        out = text if not out else out + ("" if out[-1] in _WIDE_STOPS else " ") + text
    return out


#: where a headline ends: at the first colon (ASCII or full-width), or at the end of the first sentence
_HEAD_ENDS = {"colon": "[:\uff1a]", "sentence": "\\.(?:\\s|$)|\u3002"}


class Headline(Message):
    """The start of a message, up to its first colon or the end of its first sentence, in whatever language it
    is worded: a finding's title made from the first of its problems, or from a recorded defect."""

    def __new__(cls, inner: str, until: str = "colon") -> "Headline":
        made = str.__new__(cls, _head(str(inner), until))
        made.msgid, made.fields, made.inner, made.until = "", {}, inner, until
        return made

    def __getnewargs_ex__(self):
        return (self.inner, self.until), {}

    def text(self, _: Gettext = english) -> str:
        return _head(text_in(self.inner, _), self.until)

    def mapped(self, fn: Callable[[str], str]) -> "Message":
        return Headline(_map_field(self.inner, fn), self.until)


def _head(text: str, until: str) -> str:
    import re
    return re.split(_HEAD_ENDS[until], text, maxsplit=1)[0]


def _parts(value: str) -> List[str]:
    return list(value.parts) if isinstance(value, Concat) else [value]


def _map_field(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, Message):
        return value.mapped(fn)
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return [_map_field(v, fn) for v in value]
    return value


def message_data(value: Any) -> Any:
    """A Message as JSON data (``{"id", "fields"}``, ``{"parts"}``, ``{"id", "data": true}``); text as it is.

    What a report carries so that another envcheck can word it in its reader's language without
    judging the snapshot again (``fleet``, ``diff``, ``doctor --from`` a report).
    """
    if isinstance(value, Concat):
        return {"parts": [message_data(p) for p in value.parts]}
    if isinstance(value, Template):
        return {"template": [message_data(p) for p in value.pieces],
                "fields": {k: _field_data(v) for k, v in value.fields.items()}}
    if isinstance(value, Sentences):
        return {"sentences": [message_data(i) for i in value.items]}
    if isinstance(value, Headline):
        return {"headline": message_data(value.inner), "until": value.until}
    if isinstance(value, DataText):
        return {"id": value.msgid, "data": True}
    if isinstance(value, Message):
        return {"id": value.msgid, "fields": {k: _field_data(v) for k, v in value.fields.items()}}
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _field_data(value: Any) -> Any:
    if isinstance(value, Message):
        return message_data(value)
    if isinstance(value, (list, tuple)):
        return [_field_data(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def message_from_data(data: Any, english_text: Optional[str] = None) -> Any:
    """The inverse of :func:`message_data`. Anything malformed comes back as ``english_text`` (the English the
    report recorded beside it) or as plain text, never an exception: a foreign report is shown, not trusted."""
    try:
        return _from_data(data, 0)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError, RecursionError):
        return english_text if english_text is not None else (data if isinstance(data, str) else "")


def _from_data(data: Any, depth: int) -> Any:
    if depth > 32:
        raise ValueError("message nested too deep")
    if isinstance(data, str) or data is None:
        return data
    if not isinstance(data, dict):
        raise ValueError("not a message")
    if "template" in data:
        fields = {str(k): _field_from_data(v, depth + 1) for k, v in (data.get("fields") or {}).items()}
        return Template([_from_data(p, depth + 1) for p in data["template"]], **fields)
    if "sentences" in data:
        return Sentences([_from_data(i, depth + 1) for i in data["sentences"]])
    if "headline" in data:
        until = data.get("until", "colon")
        return Headline(_from_data(data["headline"], depth + 1), until if until in _HEAD_ENDS else "colon")
    if "parts" in data:
        return Concat([str(_from_data(p, depth + 1)) if not isinstance(p, dict) else _from_data(p, depth + 1)
                       for p in data["parts"]])
    msgid = data["id"]
    if not isinstance(msgid, str):
        raise ValueError("message id is not text")
    if data.get("data"):
        return DataText(msgid)
    fields = {str(k): _field_from_data(v, depth + 1) for k, v in (data.get("fields") or {}).items()}
    return Message(msgid, **fields)


def _field_from_data(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        return _from_data(value, depth)
    if isinstance(value, list):
        return [_field_from_data(v, depth + 1) for v in value]
    return value


def join(separator: str, items: List[str]) -> str:
    """``separator.join(items)`` that keeps Messages among ``items`` worded where shown (the separator stays as is)."""
    items = list(items)
    if not isinstance(separator, Message) and not any(isinstance(item, Message) for item in items):
        return separator.join(items)
    parts: List[str] = []
    for i, item in enumerate(items):
        if i:
            parts.append(separator)
        parts.append(item)
    return Concat(parts)


def quoted(text: str) -> Message:
    """A tool's own words (an OS error, a parser's message) as the whole message: as they are in English,
    in quotes “...” in a translation; never translated."""
    return Message(N_("{tool_message}"), tool_message=text)


def joined(messages: List[Message]) -> Message:
    """Several messages as one, joined with ``_(LIST_SEPARATOR)`` in the reader's language."""
    return Message(N_("{items}"), items=list(messages))


def text_in(value: str, _: Gettext = english) -> str:
    """A Message in ``_``'s language; any other text as it is."""
    return value.text(_) if isinstance(value, Message) else value


def _worded(msgid: str, fields: Mapping[str, Any], _: Gettext) -> str:
    if not fields:
        return _(msgid)
    template = _(msgid)
    if any(value is None for value in fields.values()):  # an unknown fact: its clause goes, never "None"
        known = {k: v for k, v in fields.items() if v is not None}
        template = _without_unknowns(template, known) or template
        fields = {k: ("" if v is None else v) for k, v in fields.items()}
    return template.format(**{name: _field_text(value, _) for name, value in fields.items()})


def _field_text(value: Any, _: Gettext) -> Any:
    if isinstance(value, Message):
        return value.text(_)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Message) for v in value):
        return _(LIST_SEPARATOR).join(v.text(_) for v in value)
    return value


def one_line(text: str) -> str:
    """Data text as printed and as its message id: whitespace runs (TOML line breaks) become one space."""
    return " ".join(text.split())


def data_message(text: str) -> Message:
    """Text from a data file as a Message, worded where shown (see :class:`DataText`)."""
    return DataText(text)


def data_text(_: Gettext, text: str) -> str:
    """Text from a data file (a mirror's notes, a known defect) in ``_``'s language.

    Its message id is the text on one line; untranslated, the text comes back exactly as written.
    """
    key = one_line(text)
    translated = _(key) if key else key
    return text if translated == key else translated


def _language_of(value: str) -> Optional[str]:
    """"zh", "zh_CN.UTF-8", "zh-TW" -> "zh"; "en_US" -> "en"; "C", "POSIX" -> "en"; else None."""
    low = value.strip().lower()
    if low.startswith("zh"):
        return "zh"
    if low.startswith("en") or low in ("c", "posix") or low.startswith("c."):
        return "en"
    return None


def resolve_lang(flag: Optional[str], env: Mapping[str, str]) -> str:
    """"en" or "zh": the ``--lang`` flag if given, else LC_ALL, LC_MESSAGES, LANG (first set wins).

    A locale envcheck has no catalogue for (``fr_FR.UTF-8``) means English. An unknown ``--lang``
    value raises ValueError, which the CLI reports as a usage error.
    """
    if flag is not None and flag.strip():
        lang = _language_of(flag)
        if lang is None:
            raise ValueError(f"--lang {flag!r}: choose one of {', '.join(LANGUAGES)}")
        return lang
    for name in LOCALE_VARIABLES:
        value = env.get(name)
        if value:
            return _language_of(value) or "en"
    return "en"


#: characters every Chinese report uses: a stream that cannot encode them cannot show the report
_SAMPLE = {"zh": "中文：，。“”（）"}


def can_show(lang: str, encoding: Optional[str]) -> bool:
    """Whether a stream with this ``encoding`` can print ``lang``'s text (ASCII or Latin-1 cannot print Chinese)."""
    sample = _SAMPLE.get(lang)
    if not sample or not encoding:
        return True
    try:
        sample.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def translator(lang: str):
    """The ``gettext.NullTranslations`` for ``lang`` ("en": messages unchanged).

    Use its ``gettext`` method as ``_``. A missing catalogue (a broken install) falls back to
    English rather than failing the diagnosis.
    """
    import gettext

    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    locale = LANGUAGES[lang]
    if locale is None:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[locale], fallback=True)


def gettext_for(lang: str) -> Gettext:
    """Shorthand: ``translator(lang).gettext``."""
    return translator(lang).gettext
