"""Maintain the catalogues: ``python -m envcheck.i18n.compile [--update] [--check]``.

* no option: compile every ``envcheck/locale/*/LC_MESSAGES/envcheck.po`` into its ``.mo``.
* ``--update``: first merge the package's current messages into each ``.po`` (new ids are added
  with an empty translation for a translator to fill, ids no longer used are dropped, existing
  translations are kept), then compile.
* ``--fill FILE.json``: with ``--update``, give the ids still without a translation the text a JSON
  object ``{"message id": "翻译", ...}`` holds (how new translations are handed in by several people
  at once; the merge holds a lock on the ``.po``, so concurrent runs do not lose each other's work).
* ``--check``: change nothing; exit 1 when a ``.po`` lacks a message or a translation, or a ``.mo``
  is not the compilation of its ``.po``.

A development tool: it needs Babel (``pip install -e '.[test]'``); envcheck itself reads the
``.mo`` files with the standard library's gettext and never needs Babel.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

from . import DOMAIN, LOCALE_DIR


def po_files(locale_dir: Path = LOCALE_DIR) -> List[Path]:
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_catalog(po_path: Path):
    from babel.messages.pofile import read_po

    with open(po_path, "rb") as fh:
        return read_po(fh, locale=po_path.parent.parent.name, domain=DOMAIN)


def compiled(po_path: Path) -> bytes:
    """The .mo bytes for a .po (its header's dates come from the .po; Babel adds its own version)."""
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, read_catalog(po_path), use_fuzzy=False)
    return buf.getvalue()


def mo_is_current(po_path: Path, mo_path: Path) -> bool:
    """True when ``mo_path`` holds exactly the translations of ``po_path`` (the header may differ: it names
    the Babel version that compiled it)."""
    import gettext

    if not mo_path.exists():
        return False
    with open(mo_path, "rb") as fh:
        committed = gettext.GNUTranslations(fh)
    fresh = gettext.GNUTranslations(io.BytesIO(compiled(po_path)))

    def body(t: "gettext.GNUTranslations") -> dict:
        return {k: v for k, v in t._catalog.items() if k != ""}  # noqa: SLF001 - the parsed catalogue

    return body(committed) == body(fresh)


def update(po_path: Path, fill: Optional[Dict[str, str]] = None) -> List[str]:
    """Merge the current messages into ``po_path``; returns the ids still without a translation.

    ``fill``: translations for ids that have none yet (an existing translation is kept).
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    from .catalog import all_messages

    old = read_catalog(po_path)
    messages, problems = all_messages()
    for p in problems:
        print(f"{p.location}:{p.line}: {p.text}", file=sys.stderr)
    catalog = Catalog(locale=old.locale, domain=DOMAIN, header_comment=old.header_comment, fuzzy=False)
    catalog.mime_headers = old.mime_headers
    for m in messages:  # in source order; ids no longer used are left out
        previous = old.get(m.msgid)
        string = previous.string if previous is not None else ""
        if not string and fill and fill.get(m.msgid, "").strip():
            string = fill[m.msgid]
        flags = {f for f in previous.flags if f != "python-brace-format"} if previous is not None else set()
        if "{" in m.msgid:
            flags.add("python-brace-format")
        catalog.add(m.msgid, string, locations=[(loc, None) for loc in m.locations], flags=flags)
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, include_lineno=False, sort_output=False, ignore_obsolete=True)
    po_path.write_bytes(buf.getvalue())
    return [msg.id for msg in catalog if msg.id and not msg.string]


@contextmanager
def locked(po_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``po_path``'s lock file (POSIX; elsewhere no lock) while it is rewritten."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one translator at a time
        yield
        return
    with open(po_path.with_suffix(".po.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_fill(path: Optional[str]) -> Optional[Dict[str, str]]:
    if path is None:
        return None
    import json

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"{path}: expected a JSON object of message id -> translation")
    return data


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envcheck.i18n.compile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="merge the current messages into the .po files first")
    parser.add_argument("--fill", metavar="FILE.json", help="with --update: translations for ids that have none")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when something is out of date")
    args = parser.parse_args(argv)
    try:
        import babel  # noqa: F401
    except ImportError:
        print("python -m envcheck.i18n.compile needs Babel: pip install -e '.[test]'", file=sys.stderr)
        return 2
    status = 0
    for po_path in po_files():
        mo_path = po_path.with_suffix(".mo")
        if args.check:
            from .catalog import all_messages

            have = {m.id: m for m in read_catalog(po_path) if m.id}
            for m in all_messages()[0]:
                if m.msgid not in have or not have[m.msgid].string or have[m.msgid].fuzzy:
                    print(f"{po_path}: no translation for {m.msgid!r}", file=sys.stderr)
                    status = 1
            if not mo_is_current(po_path, mo_path):
                print(f"{mo_path} is not up to date: run python -m envcheck.i18n.compile", file=sys.stderr)
                status = 1
            continue
        with locked(po_path):
            if args.update:
                try:
                    fill = _read_fill(args.fill)
                except (OSError, ValueError) as exc:
                    print(f"--fill: {exc}", file=sys.stderr)
                    return 2
                missing = update(po_path, fill)
                if missing:
                    print(f"{po_path}: {len(missing)} message(s) need a translation", file=sys.stderr)
                    status = 1
            mo_path.write_bytes(compiled(po_path))
        print(f"wrote {mo_path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
