"""What analyze concludes when a paste carries both facts and torch's own words (issue 13 req 4)."""

from __future__ import annotations

from pathlib import Path

from envcheck.analyze import Input, judge, parse_inputs
from envcheck.findings import Severity
from envcheck.knowledge import Knowledge
from envcheck.rules import evaluate

CORPUS = Path(__file__).resolve().parent / "fixtures" / "analyze"


def test_torch_saying_not_compatible_makes_the_arch_finding_an_error_even_with_ptx_reach():
    """A real RTX 3060 paste: torch supports "sm_37 ... sm_75 compute_37"; compute_37 PTX reaches sm_86, so the
    rule alone calls it a PTX-JIT caveat (warning); torch's own "is not compatible" line shows it failing."""
    name = "log-sm86-compute37.txt"
    parsed = parse_inputs([Input(name, (CORPUS / name).read_text(encoding="utf-8"))], Knowledge())
    parsed.snapshot.torch.cuda = "10.2"  # what a collect_env beside it would add: a CUDA build
    rule_only = [f for f in evaluate(parsed.snapshot, Knowledge()) if f.code == "gpu-arch-unsupported"]
    assert [f.severity for f in rule_only] == [Severity.WARNING]
    [arch] = [f for f in judge(parsed, Knowledge()).findings if f.code == "gpu-arch-unsupported"]
    assert arch.severity == Severity.ERROR and arch.facts["evidence"]["line"] == 1


def test_the_rule_alone_keeps_ptx_reach_a_caveat():
    from builders import h100

    s = h100()
    s.gpus[0].compute_capability = "12.0"
    s.torch.arch_list = ["sm_80", "sm_90", "compute_90"]
    [arch] = [f for f in evaluate(s, Knowledge()) if f.code == "gpu-arch-unsupported"]
    assert arch.severity == Severity.WARNING and "PTX" in arch.title
