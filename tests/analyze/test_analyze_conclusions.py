"""What analyze concludes when a paste carries both facts and torch's own words (issue 13 req 4)."""

from __future__ import annotations

from pathlib import Path

from envcheck.analyze import Input, analyze, judge, parse_inputs
from envcheck.findings import Severity
from envcheck.knowledge import Knowledge
from envcheck.rules import evaluate

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "analyze"


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


def test_a_working_and_a_failing_nvidia_smi_mean_two_environments_not_a_reboot():
    """The H100's working nvidia-smi and a real NVML-mismatch log in one paste: the driver is fine, the failing
    environment has libraries of its own; "reboot" is not the fix (issue 13 req 4)."""
    from builders import H100

    h100_smi = H100 / "nvidia-smi.txt"
    result = analyze([Input("host.txt", h100_smi.read_text()),
                      Input("container.txt", (CORPUS / "log-nvml-mismatch.txt").read_text())], Knowledge())
    [f] = [f for f in result.findings if f.code == "driver-library-mismatch"]
    assert "One environment's NVIDIA libraries differ" in f.title
    assert not any("reboot" in step for step in f.fix)
    assert "smi-driver-skew" not in {x.code for x in result.findings}
    alone = analyze([Input("container.txt", (CORPUS / "log-nvml-mismatch.txt").read_text())], Knowledge())
    assert any("reboot" in step for f in alone.findings for step in f.fix)  # one environment: the reboot holds


#: verbatim from https://github.com/pytorch/pytorch/issues/77737 (torchrun): a frame of the per-user site beside
#: frames of the conda installation's own site-packages
TORCHRUN_FRAMES = """[stderr]    from torch.utils.tensorboard import SummaryWriter
[stderr]  File "/home/aiscuser/.local/lib/python3.7/site-packages/wrapt/importer.py", line 176, in _exec_module
[stderr]    self.loader.exec_module(module)
[stderr]  File "/opt/miniconda/lib/python3.7/site-packages/torch/utils/tensorboard/__init__.py", line 1, in <module>
[stderr]    import tensorboard
[stderr]ModuleNotFoundError: No module named 'tensorboard'
"""


def test_frames_from_the_user_site_beside_the_environment_mean_shadowing():
    result = analyze([Input("log.txt", TORCHRUN_FRAMES)], Knowledge())
    [f] = [f for f in result.findings if f.code == "user-site-shadowing"]
    assert f.facts["packages"] == ["wrapt"]
    assert result.snapshot.python.user_site == "/home/aiscuser/.local/lib/python3.7/site-packages"


def test_windows_and_ipython_frames_and_a_lone_site_are_read_right():
    from envcheck.analyze.frames import is_user_site, site_paths

    line = r"C:\Users\lab-user\AppData\Roaming\Python\Python311\site-packages\torch\__init__.py"
    [(root, package)] = list(site_paths(line))
    assert package == "torch" and is_user_site(root)
    ipython = "File ~/.local/lib/python3.10/site-packages/torch/__init__.py:229, in <module>"
    assert [p for _r, p in site_paths(ipython)] == ["torch"] and is_user_site(next(site_paths(ipython))[0])
    alone = analyze([Input("log.txt", TORCHRUN_FRAMES.splitlines()[1] + "\n")], Knowledge())
    assert "user-site-shadowing" not in {f.code for f in alone.findings}  # no environment shown: no conclusion


def _pastes():
    return sorted(CORPUS.glob("*.txt")) + sorted((CORPUS / "public").glob("*.txt"))


def test_no_sentence_shows_an_unknown_as_none_or_a_question_mark():
    """Over every real paste: a finding's sentences never say None, '?' or sm_X0 for what was not pasted; a clause
    whose fact is unknown is dropped (issue 13 req 1). What the paste itself says (its quoted evidence) is exempt."""
    import re

    k = Knowledge()
    bad = []
    for path in _pastes():
        text = path.read_text(encoding="utf-8")
        for f in analyze([Input(path.name, text)], k).findings:
            quoted_texts = [e["text"] for e in [f.facts.get("evidence"), *f.facts.get("evidence_more", [])] if e]
            for sentence in [f.title, f.detail, *f.fix]:
                shown = str(sentence)
                for q in quoted_texts:
                    shown = shown.replace(q, "")
                shown = shown.replace("torch.version.cuda is None", "")  # torch's own value, stated as such
                if re.search(r"\bNone\b|(?:^|[\s(:=])\?(?:$|[\s),.;])|sm_X\d", shown):
                    bad.append((path.name, f.code, shown[:160]))
    assert bad == []


def test_two_rows_of_torch_in_one_listing_are_two_installs():
    listing = "Package    Version\n---------- -------\ntorch      2.1.0\ntorchvision 0.16.0\ntorch      2.0.1\n"
    result = analyze([Input("pip.txt", listing)], Knowledge())
    [f] = [f for f in result.findings if f.code == "duplicate-torch"]
    assert f.facts["versions"] == ["2.1.0", "2.0.1"]
    once = analyze([Input("pip.txt", listing.replace("torch      2.0.1\n", ""))], Knowledge())
    assert "duplicate-torch" not in {f.code for f in once.findings}


def test_a_traceback_importing_torch_from_another_site_packages_than_the_listing():
    text = ("Requirement already satisfied: torch in /opt/conda/envs/work/lib/python3.10/site-packages (2.1.0)\n"
            "Traceback (most recent call last):\n"
            '  File "/usr/lib/python3/dist-packages/torch/__init__.py", line 1, in <module>\n'
            "ImportError: libtorch_cuda.so: cannot open shared object file: No such file or directory\n")
    result = analyze([Input("log.txt", text)], Knowledge())
    assert result.snapshot.torch.copies == ["/usr/lib/python3/dist-packages/torch",
                                            "/opt/conda/envs/work/lib/python3.10/site-packages/torch"]
    assert "duplicate-torch" in {f.code for f in result.findings}
