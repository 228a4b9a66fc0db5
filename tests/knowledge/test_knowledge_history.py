"""Old GPUs and old releases (issue 13): the GPU table down to Fermi, torch releases back to 1.0, and the
oldest architecture each CUDA major compiles for, used where a build's exact arch list is unknown."""

from __future__ import annotations

import copy

import pytest
from packaging.version import Version

from builders import h100
from envcheck.findings import Severity
from envcheck.install.compat import CUBIN, NONE, PTX, arch_support
from envcheck.knowledge import Knowledge, refresh
from envcheck.rules import evaluate
from envcheck.versions import capability


@pytest.fixture(scope="module")
def k() -> Knowledge:
    return Knowledge()


# --------------------------------------------------------------------------- GPUs


def test_every_gpu_entry_has_a_compute_capability_and_a_source(k):
    gpus = k.gpus()
    assert len(gpus) >= 300
    for g in gpus:
        cc = capability(g.compute_capability)
        assert cc is not None and f"{cc[0]}.{cc[1]}" == g.compute_capability, g.name
        assert g.architecture and g.source and "http" in g.source, g.name


NAMED = {
    # pre-Pascal GeForce, as nvidia-smi prints them
    "GeForce GTX 680": "3.0", "GeForce GTX 660 Ti": "3.0", "GeForce GTX 650 Ti BOOST": "3.0", "GeForce GTX 770": "3.0",
    "GeForce GTX 760": "3.0", "GeForce GTX 780": "3.5", "GeForce GTX 780 Ti": "3.5", "NVIDIA GeForce GTX 750 Ti": "5.0",
    "GeForce GTX 750": "5.0", "GeForce GTX 950": "5.2", "GeForce GTX 960": "5.2", "GeForce GTX 970": "5.2",
    "GeForce GTX 980": "5.2", "GeForce GTX 980 Ti": "5.2", "GeForce GTX 960M": "5.0", "GeForce 940MX": "5.0",
    "GeForce GTX 780M": "3.0", "GeForce GTX 580": "2.0",
    # every TITAN
    "GeForce GTX TITAN": "3.5", "GeForce GTX TITAN Black": "3.5", "GeForce GTX TITAN Z": "3.5",
    "GeForce GTX TITAN X": "5.2", "NVIDIA TITAN X (Pascal)": "6.1", "TITAN X (Pascal)": "6.1", "NVIDIA TITAN Xp": "6.1",
    "TITAN V": "7.0", "NVIDIA TITAN RTX": "7.5",
    # Tesla K/M/P
    "Tesla K10.G2.8GB": "3.0", "Tesla K20Xm": "3.5", "Tesla K20c": "3.5", "Tesla K40m": "3.5", "Tesla K40c": "3.5",
    "Tesla K80": "3.7", "Tesla M4": "5.2", "Tesla M40 24GB": "5.2", "Tesla M60": "5.2", "Tesla P4": "6.1",
    "Tesla P40": "6.1", "Tesla P100-PCIE-16GB": "6.0",
    # Quadro K/M/P, RTX and RTX A / Ada / PRO
    "Quadro K620": "5.0", "Quadro K600": "3.0", "Quadro K6000": "3.5", "Quadro K5200": "3.5", "Quadro K4200": "3.0",
    "Quadro K2200": "5.0", "Quadro M4000": "5.2", "Quadro M6000 24GB": "5.2", "Quadro M2000M": "5.0",
    "Quadro P2000": "6.1", "Quadro P5000": "6.1", "Quadro P400": "6.1", "Quadro P4000": "6.1", "Quadro GP100": "6.0",
    "Quadro GV100": "7.0", "Quadro RTX 4000": "7.5", "Quadro RTX 5000": "7.5", "Quadro RTX 6000": "7.5",
    "Quadro RTX 8000": "7.5", "Quadro T1000": "7.5", "NVIDIA RTX A4000": "8.6", "NVIDIA RTX A3000 Laptop GPU": "8.6",
    "NVIDIA RTX 6000 Ada Generation": "8.9", "NVIDIA RTX PRO 6000 Blackwell Workstation Edition": "12.0",
    "NVIDIA RTX PRO 4000 Blackwell SFF Edition": "12.0",
    # current data centre and consumer parts
    "NVIDIA H100 80GB HBM3": "9.0", "NVIDIA B200": "10.0", "NVIDIA B300 SXM6 AC": "10.3", "NVIDIA GB10": "12.1",
    "NVIDIA A2": "8.6", "NVIDIA A16": "8.6", "NVIDIA GeForce RTX 5090": "12.0", "NVIDIA GeForce RTX 5050": "12.0",
    # Jetson
    "NVIDIA Tegra X1": "5.3", "Xavier": "7.2", "Orin": "8.7",
}


@pytest.mark.parametrize("name,cc", sorted(NAMED.items()))
def test_named_parts_are_present(k, name, cc):
    spec = k.gpu_by_name(name)
    assert spec is not None, name
    assert spec.compute_capability == cc, (name, spec.name)


def test_names_nvidia_lists_with_two_capabilities_are_left_out(k):
    # NVIDIA's table gives the GT 730 and GT 640 3.5 or 2.1 by memory type: no guess
    assert k.gpu_by_name("NVIDIA GeForce GT 730") is None and k.gpu_by_name("GeForce GT 640") is None
    assert k.gpu_by_name("GeForce GTX 860M") is None


# --------------------------------------------------------------------------- the CUDA floors


def test_floor_table(k):
    floors = {f.cuda_major: f.oldest_arch for f in k.cuda_arch_floors()}
    assert floors == {7: "sm_20", 8: "sm_20", 9: "sm_30", 10: "sm_30", 11: "sm_35", 12: "sm_50", 13: "sm_75"}
    assert all(f.source.startswith("http") for f in k.cuda_arch_floors())
    assert k.cuda_arch_floor("12.6").capability == "5.0" and k.cuda_arch_floor("13.0").capability == "7.5"
    assert k.cuda_arch_floor("10.2").oldest_arch == "sm_30" and k.cuda_arch_floor("6.5") is None
    assert k.cuda_arch_floor(None) is None


def test_every_recorded_build_agrees_with_its_cuda_floor(k):
    for rel in k.torch_releases():
        for v in rel.variants:
            floor = k.cuda_arch_floor(v.cuda)
            if v.cuda and floor:
                assert all(capability(a) >= capability(floor.oldest_arch) for a in v.arch_list), (rel.version, v.tag)


# --------------------------------------------------------------------------- old releases


def test_releases_back_to_1_0(k):
    versions = {r.version for r in k.torch_releases()}
    for v in ("1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.3.0", "1.3.1", "1.4.0", "1.5.0", "1.5.1", "1.6.0", "1.7.0",
              "1.7.1", "1.8.0", "1.8.1", "1.9.0", "1.9.1", "1.10.0", "1.10.1", "1.10.2", "1.11.0"):
        assert v in versions, v
    pairs = {r.version: (r.torchvision, r.torchaudio) for r in k.torch_releases()}
    # torchvision 0.2.x is a pure-Python wheel pinning no torch: no build is paired with 1.0.x
    assert pairs["1.0.0"] == (None, None) and pairs["1.0.1"] == (None, None) and pairs["1.1.0"] == ("0.3.0", None)
    assert pairs["1.2.0"] == ("0.4.0", "0.3.0") and pairs["1.4.0"] == ("0.5.0", "0.4.0")
    assert pairs["1.7.1"] == ("0.8.2", "0.7.2") and pairs["1.11.0"] == ("0.12.0", "0.11.0")


def test_old_builds_carry_the_arches_their_build_scripts_name(k):
    def default(version):
        return next(v for v in k.torch_release(version).variants if v.pypi_default)
    assert (default("1.0.0").tag, default("1.2.0").tag, default("1.4.0").tag, default("1.5.0").tag) == \
        ("cu90", "cu100", "cu101", "cu102")
    # 3.5;5.0+PTX until October 2019, then 3.7+PTX;5.0 (pytorch/pytorch#24205): the K40 lost its kernels in 1.3.1
    assert arch_support(k.torch_release("1.3.0").variant("cu101").arch_list, "3.5") == CUBIN
    assert arch_support(k.torch_release("1.3.1").variant("cu101").arch_list, "3.5") == NONE
    assert arch_support(k.torch_release("1.4.0").variant("cu101").arch_list, "3.7") == CUBIN
    # the +PTX entry reaches a newer GPU through JIT; from 1.6 the wheels carry no PTX
    assert arch_support(k.torch_release("1.5.0").variant("cu102").arch_list, "8.6") == PTX
    assert arch_support(k.torch_release("1.6.0").variant("cu102").arch_list, "8.6") == NONE
    assert arch_support(k.torch_release("1.7.1").variant("cu110").arch_list, "8.0") == CUBIN
    assert arch_support(k.torch_release("1.9.0").variant("cu111").arch_list, "8.6") == CUBIN
    assert "sm_75" not in k.torch_release("1.8.0").variant("cu102").arch_list  # read from the PyPI wheel


def test_refresh_keeps_the_curated_old_rows(k):
    """A refresh from 1.0 replaces only what PyPI proves: the build-script arch lists and the companions that no
    wheel pins (torchvision 0.2.x/0.3.0) survive a derived row that lacks them."""
    import json

    from envcheck.knowledge import DATA_DIR
    data = json.loads((DATA_DIR / "torch_releases.json").read_text(encoding="utf-8"))
    old = next(r for r in data["releases"] if r["version"] == "1.1.0")
    derived = refresh.Derived(version="1.1.0", date="2019-04-30", python=">=2.7,<3.8", python_list=["3.7"],
                              default_tag="cu90", default_cuda="9.0", cpu_os=["macos"])
    row = refresh.merge_release(copy.deepcopy(old), derived, None, None, None)
    assert row["torchvision"] == "0.3.0" and row["torchaudio"] is None
    tags = {v["tag"]: v for v in row["variants"]}
    assert tags["cu90"]["arch_list"] == ["sm_35", "sm_50", "sm_60", "sm_70", "compute_50"]
    assert tags["cu100"]["arch_list"] and tags["cpu"]["os"] == ["linux", "windows", "macos"]
    # releases a refresh with the default --since 1.12 does not see are kept whole
    out = refresh.merge(data, {}, {}, {}, None, "2026-12-04")
    assert [r for r in out["releases"] if Version(r["version"]) < Version("1.12")] == \
        [r for r in data["releases"] if Version(r["version"]) < Version("1.12")]


# --------------------------------------------------------------------------- the rule


def _old_gpu(name: str, cc: str, torch_version: str, cuda: str, installer: str = "pip"):
    s = h100()
    s.gpus[0].name, s.gpus[0].compute_capability = name, cc
    s.torch.version, s.torch.dist_version, s.torch.cuda = torch_version, torch_version.split("+")[0], cuda
    s.torch.arch_list = None
    s.torch.installer = installer
    s.torch.devices = []
    return s


def _arch_findings(s, k):
    return [f for f in evaluate(s, k) if f.code == "gpu-arch-unsupported"]


@pytest.mark.parametrize("name,cc,torch_version,cuda,floor", [
    ("Tesla K80", "3.7", "2.1.0", "12.1", "sm_50"),           # CUDA 12 build, Kepler GPU
    ("GeForce GTX 680", "3.0", "1.13.1", "11.7", "sm_35"),    # CUDA 11 build, GK104
    ("GeForce GTX 980", "5.2", "2.11.0", "13.0", "sm_75"),    # CUDA 13 build, Maxwell GPU
    ("Quadro M4000", "5.2", "2.9.0+cu999", "13.0", "sm_75"),  # a tag envcheck has no data for
    ("GeForce GTX 580", "2.0", "1.4.0", "10.1", "sm_30"),     # Fermi under a CUDA 10 conda build
])
def test_a_gpu_below_the_cuda_floor_is_too_old_when_the_arch_list_is_unknown(k, name, cc, torch_version, cuda, floor):
    s = _old_gpu(name, cc, torch_version, cuda, installer="conda")  # conda: the wheel's arch list does not apply
    if "+" in torch_version:
        s.torch.installer = "pip"
    found = _arch_findings(s, k)
    assert len(found) == 1, [f.code for f in evaluate(s, k)]
    f = found[0]
    assert f.severity == Severity.ERROR and f.facts["cuda_floor"] == floor
    major = cuda.split(".")[0]
    assert f"CUDA {major} builds no code for GPUs below {floor}" in f.detail
    assert "too old" in f.detail and "sm_X" not in f.detail and "None" not in f.detail


@pytest.mark.parametrize("name,cc,torch_version,cuda", [
    ("Tesla M60", "5.2", "2.1.0", "12.1"),          # Maxwell is above CUDA 12's floor
    ("Tesla K80", "3.7", "1.13.1", "11.7"),         # 3.7 is above CUDA 11's floor
    ("Tesla T4", "7.5", "2.11.0", "13.0"),          # Turing is CUDA 13's floor itself
    ("GeForce GTX 1080", "6.1", "1.4.0", "10.1"),
])
def test_a_gpu_at_or_above_the_cuda_floor_is_not_flagged_from_the_floor(k, name, cc, torch_version, cuda):
    s = _old_gpu(name, cc, torch_version, cuda, installer="conda")
    assert _arch_findings(s, k) == []


def test_release_data_still_decides_when_it_knows_the_build(k):
    # pip torch 1.13.1 (cu117 default) carries sm_37: a K80 runs it, a GTX 680 (3.0) does not
    assert _arch_findings(_old_gpu("Tesla K80", "3.7", "1.13.1", "11.7"), k) == []
    f = _arch_findings(_old_gpu("Tesla K40m", "3.5", "1.13.1", "11.7"), k)
    assert f and "envcheck's release data for torch 1.13.1 cu117" in f[0].detail
    # the variant follows torch's CUDA when the version has no tag: 1.5.0 + CUDA 9.2 is the cu92 build
    f = _arch_findings(_old_gpu("Tesla K40m", "3.5", "1.5.0", "9.2"), k)
    assert f and "1.5.0 cu92" in f[0].detail and "sm_30..sm_35" in f[0].detail


def test_the_same_major_clause_names_real_arches(k):
    s = h100()
    s.gpus[0].name, s.gpus[0].compute_capability = "NVIDIA GeForce RTX 3090", "8.6"
    s.torch.arch_list = ["sm_75", "sm_90"]
    f = _arch_findings(s, k)[0]
    assert "a cubin for sm_80..sm_86 would run" in f.detail and "sm_X" not in f.detail
    s.gpus[0].compute_capability = "12.0"
    assert "a cubin for sm_120 would run" in _arch_findings(s, k)[0].detail


def test_a_python_range_says_no_more_than_the_wheel_tags():
    """torch 1.0 had cp27 and cp35-cp37 wheels: Python 3.2 is inside ">=2.7,<3.8" but has none."""
    from envcheck.knowledge.refresh import python_spec
    from envcheck.versions import in_specifier

    assert python_spec(["2.7", "3.5", "3.6", "3.7"]) == ">=2.7,<3.8,!=3.0.*,!=3.1.*,!=3.2.*,!=3.3.*,!=3.4.*"
    assert python_spec(["3.10", "3.11", "3.12"]) == ">=3.10,<3.13"
    release = Knowledge().torch_release("1.0.0")
    assert in_specifier("3.7", release.python) and in_specifier("2.7", release.python)
    assert not in_specifier("3.2", release.python)
