"""Keep secrets out of reports: credentials in URLs and the values of secret-looking variables.

Snapshots get pasted into issues and chats, so every string envcheck shows or saves passes through
here. What is hidden, each time as ``***`` so the shape stays readable:

* a URL's userinfo, scheme or not: ``https://user:pass@host``, ``https://TOKEN@host``,
  ``user:pass@proxy:3128`` (``HTTPS_PROXY``, pip's ``proxy``) -> ``https://***@host``, ``***@proxy:3128``;
* tokens in the path of known private-index shapes: conda's ``/t/<token>/`` (as conda itself masks it),
  Gemfury ``https://pypi.fury.io/<token>/<account>/``, Cloudsmith ``https://dl.cloudsmith.io/<token>/...``;
* the value of a query parameter named like a secret (``?token=``, ``api_key``, ``client_secret``, ``sig``,
  ``X-Amz-Signature``, ``auth``, ``password``);
* what ``sys.path`` makes of such a URL in ``PYTHONPATH`` (``/cwd/pass@code.example/lib``: the segment
  before ``@host``; a folder named like an e-mail address is masked the same way);
* ``NAME=value`` in free text when NAME looks like a secret (``HF_TOKEN=...`` in a pasted log), and a
  quoted config line ``password = ...`` / ``access-token: ...`` (a parser's error message);
* the whole value of a variable whose name contains TOKEN, KEY, SECRET, PASS(WORD), CREDENTIAL or AUTH.

The host stays, because which index or mirror is configured is exactly what a diagnosis needs.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

#: variable names whose values are secrets as a whole
SECRET_NAME_PARTS = ("TOKEN", "KEY", "SECRET", "PASS", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")
#: names that contain a part above but hold no secret (which keyring plugin pip uses)
NOT_SECRET_NAMES = ("KEYRING_PROVIDER",)
#: lower-case data keys (a foreign report's JSON) whose string values are secrets whatever their form
_SECRET_DATA_KEYS = frozenset({"password", "passwd", "token", "secret", "auth", "credential", "credentials",
                               "access_token", "api_key", "apikey", "private_token"})

# Every pattern below is linear in its input: a match can only start where a run of its characters starts
# (a look-behind, not ``\b``), and no class that repeats can also hold the character that starts the next
# try, so nothing is rescanned (a 12 KB line of ``a:a:a...`` or ``a.a.a...`` costs what its length does).

#: scheme://userinfo@ -- the userinfo runs to the LAST "@" before the path, as urllib.parse splits
#: it, so a raw "@" inside a password is still hidden. Whitespace, quotes and brackets end a URL.
_URL_USERINFO = re.compile(r"(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*://)([^/?#\s\"'<>\[\]]*)@")
#: user:pass@host without a scheme (``HTTPS_PROXY=user:pass@proxy:3128``, pip's ``proxy``); the user part
#: starts after a separator (start, space, quote, "=", ":" of a PYTHONPATH-like list, ",", ";", "(")
_BARE_USERINFO = re.compile(r"(?<![^\s\"'=:,;(<\[])([^\s/@:\"'<>\[\](),;=]+):([^\s/@:\"'<>\[\]]*)@"
                            r"(?=[A-Za-z0-9\[])")
#: what is left of user:pass@host once a PYTHONPATH-like list was split on ":" and made a path
#: (``/cwd/pass@code.example/lib`` in ``sys.path``): the segment before "@" of a host-like name
_PATH_USERINFO = re.compile(r"(?<=/)([^/\s@:\"'<>\[\]]+)@(?=(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}(?:[:/\s\"']|$))")
#: TOKEN@ before a Gemfury host, scheme or not
_FURY_USER = re.compile(r"(?i)(?<![^\s\"'=:,;(/<\[])([^\s/@:\"'<>\[\](),;=]+)@(?=(?:[a-z0-9\-]+\.)?fury\.io\b)")
#: Gemfury's https://pypi.fury.io/<token>/<account>/: the first path segment, when another follows
_FURY_PATH = re.compile(r"(?i)((?<![a-z0-9\-.])(?:[a-z0-9\-]+\.)?fury\.io/)([^/\s?#\"'<>]+)(?=/[^/\s?#\"'<>])")
#: Cloudsmith's https://dl.cloudsmith.io/<token>/<org>/<repo>/ (``public`` and ``basic`` are not tokens)
_CLOUDSMITH_PATH = re.compile(r"(?i)((?<![a-z0-9\-.])dl\.cloudsmith\.io/)(?!(?:public|basic)/)([^/\s?#\"'<>]+)(?=/)")
#: one URL-like word (no whitespace or quotes), and conda's /t/<token> inside one that has a scheme
_WORD = re.compile(r"[^\s\"'<>]+")
_CONDA_TOKEN = re.compile(r"(/t/)([^/\s?#\"'<>]+)")
#: ?token=... / &api_key=... / ;sig=... : the value of a query parameter named like a secret
_QUERY_SECRET = re.compile(r"(?i)([?&;][^=&#;?\s\"'<>]*?(?:token|key|secret|pass|sig|auth|credential)"
                           r"[^=&#;?\s\"'<>]*=)([^&#;\s\"'<>]+)")
#: NAME=value in free text (a pasted ``env``, ``export``, a one-command assignment); upper-case names only,
#: so that a pin such as ``tokenizers=0.15.0`` (conda) or ``keyring==24`` keeps its version
_ASSIGNMENT = re.compile(r"(?<![\w.\-])([A-Z_][A-Z0-9_]*)(=)(?!=)([\"']?)([^\s\"']+)")
#: a quoted config line: ``password = value``, ``access-token: value`` (configparser and YAML errors quote
#: the line they met); the key ends in the secret word, so ``tokenizers: 0.15`` is left alone
_KEY_VALUE = re.compile(r"(?i)((?<![?&;=\w.\-])[\w.\-]*(?:token|password|passwd|secret|credentials?)(?![\w.\-])"
                        r"[ \t]*[=:](?![=:/])[ \t]*)([\"']?)([^\s\"',&]+)")


def _conda_token(m: "re.Match[str]") -> str:
    word = m.group(0)
    if "://" not in word:
        return word
    return _CONDA_TOKEN.sub(lambda t: t.group(1) + MASK, word)


def redact_url(text: str) -> str:
    """Hide every credential inside ``text`` (see the module); text without one is unchanged."""
    if not text or not isinstance(text, str):
        return text
    out = text
    if "@" in out:
        out = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", out)
        out = _BARE_USERINFO.sub(lambda m: f"{MASK}@", out)
        out = _PATH_USERINFO.sub(lambda m: f"{MASK}@", out)
        if "fury.io" in out.lower():
            out = _FURY_USER.sub(lambda m: f"{MASK}@", out)
    lower = out.lower()
    if "fury.io/" in lower:
        out = _FURY_PATH.sub(lambda m: m.group(1) + MASK, out)
    if "cloudsmith.io/" in lower:
        out = _CLOUDSMITH_PATH.sub(lambda m: m.group(1) + MASK, out)
    if "/t/" in lower:
        out = _WORD.sub(_conda_token, out)
    if "=" in out:
        out = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, out)
        out = _ASSIGNMENT.sub(_assignment, out)
    if "=" in out or ":" in out:
        out = _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + MASK, out)
    return text if out == text else out  # unchanged: the same object (a Message keeps its id and fields)


def _assignment(m: "re.Match[str]") -> str:
    if not is_secret_name(m.group(1)):
        return m.group(0)
    return m.group(1) + m.group(2) + m.group(3) + MASK


#: the one name for "hide every credential in this text"
redact_text = redact_url


def is_secret_name(name: str) -> bool:
    """True for names such as HF_TOKEN, AWS_SECRET_ACCESS_KEY, NCCL_IB_SECRET, DB_PASSWORD, PIP_ACCESS_TOKEN."""
    upper = name.upper().replace("-", "_")
    if any(upper.endswith(ok) for ok in NOT_SECRET_NAMES):
        return False
    return any(part in upper for part in SECRET_NAME_PARTS)


def redact_env(name: str, value: str) -> str:
    """An environment variable's value fit to show: secret names masked whole, credentials hidden."""
    if is_secret_name(name):
        return MASK
    return redact_url(value)


_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _secret_key(key: str) -> bool:
    """A data key whose string value is a secret: an upper-case variable name (HF_TOKEN) or password/token/..."""
    return (_ENV_NAME.match(key) is not None and is_secret_name(key)) or key.lower() in _SECRET_DATA_KEYS


def redact_data(obj: Any) -> Any:
    """A copy of ``obj`` (dicts, lists, tuples, strings) with every credential hidden in every string.

    A dict under the key ``env`` is a set of environment variables (a snapshot's, or a foreign report's):
    each value goes through :func:`redact_env`. Elsewhere a string under a secret-looking key
    (``HF_TOKEN``, ``password``) is masked whole.
    """
    if isinstance(obj, str):
        return redact_url(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = redact_url(k) if isinstance(k, str) else k
            if isinstance(k, str) and k in ("env", "environment") and isinstance(v, dict):
                out[key] = {redact_url(n) if isinstance(n, str) else n:
                            redact_env(n, s) if isinstance(n, str) and isinstance(s, str) else redact_data(s)
                            for n, s in v.items()}
            elif isinstance(k, str) and isinstance(v, str) and _secret_key(k):
                out[key] = MASK
            else:
                out[key] = redact_data(v)
        return out
    if isinstance(obj, list):
        return [redact_data(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact_data(v) for v in obj)
    return obj
