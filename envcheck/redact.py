"""Keep secrets out of reports: credentials in URLs and the values of secret-looking variables.

Snapshots get pasted into issues and chats, so every string envcheck shows or saves passes through
here. A URL's userinfo (``https://user:pass@host``, ``https://TOKEN@host``) becomes ``***``; the
host stays, because which index or mirror is configured is exactly what a diagnosis needs.
"""

from __future__ import annotations

import re
from typing import Any

#: scheme://userinfo@ -- the userinfo runs to the LAST "@" before the path, as urllib.parse splits
#: it, so a raw "@" inside a password is still hidden. Whitespace, quotes and brackets end a URL.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s\"'<>\[\]]*)@")

#: variable names whose values are secrets as a whole
SECRET_NAME_PARTS = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")

MASK = "***"


def redact_url(text: str) -> str:
    """Hide the userinfo of every URL inside ``text``; text without URL credentials is unchanged."""
    if not text or "@" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)


def is_secret_name(name: str) -> bool:
    """True for names such as HF_TOKEN, AWS_SECRET_ACCESS_KEY, NCCL_IB_SECRET, DB_PASSWORD."""
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


def redact_env(name: str, value: str) -> str:
    """An environment variable's value fit to show: secret names masked whole, URL credentials hidden."""
    if is_secret_name(name):
        return MASK
    return redact_url(value)


def redact_data(obj: Any) -> Any:
    """A copy of ``obj`` (dicts, lists, tuples, strings) with URL credentials hidden in every string."""
    if isinstance(obj, str):
        return redact_url(obj)
    if isinstance(obj, dict):
        return {redact_data(k) if isinstance(k, str) else k: redact_data(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_data(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact_data(v) for v in obj)
    return obj
