"""Where pasted tracebacks and errors load packages from: the site-packages folders their paths name.

A frame under the per-user site (``~/.local/lib/pythonX.Y/site-packages``, ``AppData\\Roaming\\Python\\PythonXY\\
site-packages``) beside frames from an environment's own site-packages means the user site shadows that
environment. Linear in the line: each ``site-packages`` found is followed back to where its path starts.
"""

from __future__ import annotations

import re
from typing import Iterator, Tuple

_ANCHOR = re.compile(r"(?:site|dist)-packages[\\/]([A-Za-z0-9_][A-Za-z0-9_.-]*)")
#: characters that end a path written in a traceback or an error (quotes, spaces, Markdown backticks, brackets)
_PATH_STOP = set(" \t\"'`<>()[]=,;")
_USER_SITE = re.compile(r"(?:[\\/]\.local[\\/]lib[\\/]python\d+\.\d+[\\/]site-packages"
                        r"|[\\/]AppData[\\/]Roaming[\\/]Python[\\/]Python\d+[\\/]site-packages)$", re.IGNORECASE)
MAX_LINE = 4000


def site_paths(line: str) -> Iterator[Tuple[str, str]]:
    """(site-packages folder, top-level package) for each path in ``line`` that runs through one."""
    if len(line) > MAX_LINE or "-packages" not in line:
        return
    for match in _ANCHOR.finditer(line):
        start = match.start()
        while start > 0 and line[start - 1] not in _PATH_STOP:
            start -= 1
        root = line[start:match.start() + len(match.group(0)) - len(match.group(1)) - 1]
        package = match.group(1).split(".")[0]
        if root and (root.startswith(("/", "~", "\\")) or re.match(r"[A-Za-z]:[\\/]", root)):
            yield root, package


def is_user_site(root: str) -> bool:
    return bool(_USER_SITE.search(root))
