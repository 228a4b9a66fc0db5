"""What analyze concludes when a paste carries both facts and torch's own words (issue 13 req 4)."""

from __future__ import annotations

from pathlib import Path

from envcheck.analyze import Input, analyze
from envcheck.findings import Severity
from envcheck.knowledge import Knowledge

CORPUS = Path(__file__).resolve().parent / "fixtures" / "analyze"


def test_torch_saying_not_compatible_makes_the_arch_finding_an_error_even_with_ptx_reach():
    """The public RTX 5090 D paste: torch 2.6.0+cu126 carries compute_90 PTX, which envcheck's rule alone would
    call a PTX-JIT caveat (warning); torch's own "is not compatible" line in the same paste shows it failing."""
    name = "public/ce-2.6.0-cu126-rtx5090d-sm120.txt"
    result = analyze([Input(name, (CORPUS / name).read_text(encoding="utf-8"))], Knowledge())
    [arch] = [f for f in result.findings if f.code == "gpu-arch-unsupported"]
    assert arch.severity == Severity.ERROR
    assert "evidence" in arch.facts


def test_the_rule_alone_keeps_ptx_reach_a_caveat():
    from builders import h100
    from envcheck.rules import evaluate

    s = h100()
    s.gpus[0].compute_capability = "12.0"
    s.torch.arch_list = ["sm_80", "sm_90", "compute_90"]
    [arch] = [f for f in evaluate(s, Knowledge()) if f.code == "gpu-arch-unsupported"]
    assert arch.severity == Severity.WARNING and "PTX" in arch.title
