"""Free-form logs and tracebacks: the messages of the error-signature catalogue, wherever they are.

Messages are searched in the whole cleaned text of an input, not only in the lines no other parser
claimed: a "No devices were found" is the same evidence inside an nvidia-smi paste as in a log,
and a message wrapped over two lines (pip's indented "The detected CUDA version ...") is still one
match. Each match keeps the line it starts on, as pasted, for the finding's evidence.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from .signatures import Hit, Signature, load_catalogue, scan


def find_messages(input_name: str, clean_lines: Sequence[str], raw_lines: Sequence[str],
                  signatures: Optional[Sequence[Signature]] = None) -> List[Hit]:
    """Every catalogued message in one input, in text order; ``raw_lines`` give the evidence text."""
    catalogue = load_catalogue() if signatures is None else signatures
    return scan("\n".join(clean_lines), input_name, catalogue, raw_lines)
