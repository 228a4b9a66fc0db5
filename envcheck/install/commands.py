"""The official index's address.

The official layout: PyPI serves one build per platform with a plain ``pip install``; every other
variant comes from ``https://download.pytorch.org/whl/<tag>`` with ``--index-url``
(:mod:`envcheck.install.plan` writes every command from those facts).
"""

from __future__ import annotations

PYTORCH_INDEX = "https://download.pytorch.org/whl"

