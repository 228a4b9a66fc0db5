"""The knowledge files (loaded through Knowledge, checked against facts from real machines and NVIDIA's
tables) and the refresh tool's parsers (run on recorded PyPI answers; no network)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.install.compat import CUBIN, arch_support, parse_arch
from envcheck.knowledge import DATA_DIR, Knowledge, load_toml, pypi, refresh
from envcheck.versions import capability, cuda_from_tag, dotted, in_specifier, parse_version

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PYPI = FIXTURES / "pypi"
H100 = FIXTURES / "h100-torch2.11-cu130"

#: every final torch release >= 1.0 that PyPI listed on 2026-12-04 (>= 1.12 checked on 2026-11-23)
ALL_RELEASES = [
    "1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.3.0", "1.3.1", "1.4.0", "1.5.0", "1.5.1", "1.6.0", "1.7.0", "1.7.1",
    "1.8.0", "1.8.1", "1.9.0", "1.9.1", "1.10.0", "1.10.1", "1.10.2", "1.11.0", "1.12.0", "1.12.1", "1.13.0", "1.13.1", "2.0.0", "2.0.1", "2.1.0", "2.1.1", "2.1.2", "2.2.0", "2.2.1",
    "2.2.2", "2.3.0", "2.3.1", "2.4.0", "2.4.1", "2.5.0", "2.5.1", "2.6.0", "2.7.0", "2.7.1", "2.8.0", "2.9.0",
    "2.9.1", "2.10.0", "2.11.0", "2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1", "2.15.0",
]
TAG = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+\.\d+(\.\d+)?)$")


@pytest.fixture(scope="module")
def k() -> Knowledge:
    return Knowledge()


def h100_torch_info() -> dict:
    """The JSON head of the H100 fixture's torch-info.txt (the rest is torch.__config__.show())."""
    text = (H100 / "torch-info.txt").read_text(encoding="utf-8")
    return json.JSONDecoder().raw_decode(text)[0]


def h100_pip_list() -> Dict[str, str]:
    rows = (H100 / "pip-list.txt").read_text(encoding="utf-8").splitlines()[2:]
    return {r.split()[0].lower(): r.split()[1] for r in rows if len(r.split()) >= 2}


# --------------------------------------------------------------------------- CUDA and drivers


def test_driver_floors_match_nvidia_table(k):
    assert k.driver_floor("12.6").linux == "560.28.03" and k.driver_floor("12.6").windows == "560.76"
    assert k.driver_floor("12.6.3").linux == "560.28.03"  # lookups are by major.minor: the GA floor
    assert k.driver_floor("10.2").linux == "440.33"
    assert k.driver_floor("11.8").windows == "520.06"
    assert k.driver_floor("13.0").linux == "580.65.06"
    assert k.driver_floor("12.7").cuda == "12.6"  # no 12.7 toolkit: the nearest older entry


def test_max_cuda_for_driver(k):
    assert k.max_cuda_for_driver("580.159.04") == "13.0"  # the H100 fixture machine
    assert k.max_cuda_for_driver("535.104.05") == "12.2"
    assert k.max_cuda_for_driver("535.54.02") == "12.1"  # one below the 12.2 GA floor
    assert k.max_cuda_for_driver("440.33") == "10.2"
    assert k.max_cuda_for_driver("560.76", "windows") == "12.6"
    assert k.max_cuda_for_driver("410.48") == "10.0"  # R410: CUDA 10.0 (no minor-version compatibility before 11)
    assert k.max_cuda_for_driver("384.130") == "9.0"
    assert k.max_cuda_for_driver("396.37") == "9.2"
    assert k.max_cuda_for_driver("418.67") == "10.1"
    assert k.max_cuda_for_driver("340.108") is None  # below CUDA 7.0's floor: older than any torch build


def test_h100_fixture_driver_agrees_with_its_nvidia_smi(k):
    text = (H100 / "nvidia-smi-q.txt").read_text(encoding="utf-8")
    driver = re.search(r"Driver Version\s*:\s*(\S+)", text).group(1)
    cuda = re.search(r"CUDA Version\s*:\s*(\S+)", text).group(1)
    assert k.max_cuda_for_driver(driver) == cuda


def test_driver_floors_increase_with_cuda(k):
    rows = sorted(k.driver_floors(), key=lambda r: dotted(r.cuda, 3))
    assert len({r.cuda for r in rows}) == len(rows)
    assert rows[0].cuda == "7.0" and dotted(rows[-1].cuda)[0] == 13
    for os_key in ("linux", "windows"):
        floors = [(r.cuda, getattr(r, os_key)) for r in rows if getattr(r, os_key)]
        for (c1, f1), (c2, f2) in zip(floors, floors[1:]):
            assert dotted(f1) <= dotted(f2), (os_key, c1, f1, c2, f2)


def test_every_cuda_minor_from_7_0_to_13_3_has_a_ga_row(k):
    have = {r.cuda for r in k.driver_floors()}
    for minor in ["7.0", "7.5", "8.0", "9.0", "9.1", "9.2", "10.0", "10.1", "10.2"] + [f"11.{i}" for i in range(9)] + [f"12.{i}" for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)] \
            + [f"13.{i}" for i in range(4)]:
        assert minor in have, minor


def test_minor_version_compat_floors(k):
    assert (k.minor_compat_floor(11).linux, k.minor_compat_floor(11).windows) == ("450.80.02", "452.39")
    assert (k.minor_compat_floor(12).linux, k.minor_compat_floor(12).windows) == ("525.60.13", "527.41")
    assert dotted(k.minor_compat_floor(13).linux) == (580,)
    assert k.minor_compat_floor(10) is None


# --------------------------------------------------------------------------- GPUs


def test_gpu_lookup_by_nvidia_smi_names(k):
    h100 = k.gpu_by_name("NVIDIA H100 80GB HBM3")
    assert h100.compute_capability == "9.0" and h100.tflops["bf16"] == pytest.approx(989.4, abs=1)
    assert k.gpu_by_name("NVIDIA H100 PCIe").tflops["bf16"] == pytest.approx(756.5, abs=1)
    assert "4090 D" in k.gpu_by_name("NVIDIA GeForce RTX 4090 D").name
    assert k.gpu_by_name("NVIDIA GeForce RTX 4090").name.endswith("RTX 4090")
    assert k.gpu_by_name("Tesla K80").compute_capability == "3.7"
    assert k.gpu_by_name("NVIDIA A100-SXM4-80GB").memory_gib == 80
    assert k.gpu_by_name("NVIDIA A100 80GB PCIe").name == "NVIDIA A100 PCIe 80GB"
    assert k.gpu_by_name("NVIDIA GeForce RTX 5090").compute_capability == "12.0"
    assert k.gpu_by_name("NVIDIA B200").compute_capability == "10.0"
    assert k.gpu_by_name("NVIDIA RTX A4000").name == "NVIDIA RTX A4000"  # not the A40
    assert k.gpu_by_name("NVIDIA RTX A1000").name == "NVIDIA RTX A1000"  # not the A10
    assert k.gpu_by_name("NVIDIA GH200 480GB").name == "NVIDIA GH200"  # not the H200
    assert k.gpu_by_name("Quadro RTX 6000").name == "Quadro RTX 6000"
    assert k.gpu_by_name("NVIDIA RTX 6000 Ada Generation").compute_capability == "8.9"
    assert k.gpu_by_name("NVIDIA GeForce GTX 1080 Ti").name.endswith("1080 Ti")
    assert k.gpu_by_name("Matrox G200eR2") is None


def test_h100_measured_matmul_rate_is_below_its_peak(k):
    # fixtures/README.md: 8192^3 matmuls on this H100 reached fp32 52, tf32 388, fp16 771, bf16 799 TFLOP/s
    spec = k.gpu_by_name(h100_torch_info()["props"][0]["name"])
    for dtype, measured in (("fp32", 52), ("tf32", 388), ("fp16", 771), ("bf16", 799)):
        assert 0.5 * spec.tflops[dtype] < measured < spec.tflops[dtype], dtype


def test_every_gpu_entry_is_well_formed(k):
    seen: Dict[str, str] = {}
    for g in k.gpus():
        assert g.source and ("http" in g.source), g.name
        cc = capability(g.compute_capability)
        assert cc is not None and f"{cc[0]}.{cc[1]}" == g.compute_capability, g.name
        assert g.match, g.name
        for m in g.match:
            assert m == m.lower() and "nvidia" not in m and m == " ".join(m.split()), (g.name, m)
            assert m not in seen, f"{m!r} is claimed by {seen[m]} and {g.name}"
            seen[m] = g.name
        assert set(g.tflops) <= {"fp32", "tf32", "fp16", "bf16"}, g.name
        assert all(v > 0 for v in g.tflops.values()), g.name
        if cc < (8, 0):
            assert "bf16" not in g.tflops and "tf32" not in g.tflops, g.name
        if "fp32" in g.tflops and "bf16" in g.tflops:
            assert g.tflops["bf16"] >= g.tflops["fp32"], g.name
        assert g.memory_gib is None or 2 <= g.memory_gib <= 200, g.name
        # every entry is found by its own patterns
        assert k.gpu_by_name("NVIDIA " + g.match[0]) is g, g.name


def test_required_gpu_families_are_covered(k):
    names = ["NVIDIA GeForce GTX 1050", "NVIDIA GeForce GTX 1660 SUPER", "NVIDIA GeForce RTX 2060",
             "NVIDIA GeForce RTX 3050", "NVIDIA GeForce RTX 3090 Ti", "NVIDIA GeForce RTX 4060", "NVIDIA GeForce RTX 5060",
             "Tesla P4", "Tesla P40", "Tesla P100-PCIE-16GB", "Tesla V100-SXM2-32GB", "Tesla V100-PCIE-16GB", "Tesla T4",
             "NVIDIA A10", "NVIDIA A10G", "NVIDIA A30", "NVIDIA A40", "NVIDIA A800-SXM4-80GB", "NVIDIA H800",
             "NVIDIA H20", "NVIDIA H200", "NVIDIA L4", "NVIDIA L20", "NVIDIA L40", "NVIDIA L40S", "NVIDIA GB200",
             "Quadro RTX 4000", "Quadro RTX 8000", "NVIDIA RTX A2000", "NVIDIA RTX A6000", "NVIDIA RTX 4000 Ada Generation",
             "NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "Orin"]
    for n in names:
        assert k.gpu_by_name(n) is not None, n


# --------------------------------------------------------------------------- torch releases


def test_every_release_from_1_0_to_2_15_is_present(k):
    assert sorted((r.version for r in k.torch_releases()), key=Version) == ALL_RELEASES


def test_releases_are_complete_and_consistent(k):
    for rel in k.torch_releases():
        assert parse_version(rel.version) == Version(rel.version), rel.version
        if Version(rel.version) >= Version("1.1.0"):  # 1.0.x: torchvision 0.2.x is pure Python, paired with no build
            assert rel.torchvision and Version(rel.torchvision), rel.version
        if Version(rel.version) >= Version("1.2.0"):  # torchaudio's first release, 0.3.0, came with torch 1.2.0
            assert rel.torchaudio and Version(rel.torchaudio), rel.version
        else:
            assert rel.torchaudio is None, rel.version
        assert rel.python and SpecifierSet(rel.python), rel.version
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rel.date or ""), rel.version
        assert len({v.tag for v in rel.variants}) == len(rel.variants), rel.version
        defaults = [v for v in rel.variants if v.pypi_default]
        assert len(defaults) == 1, rel.version
        assert "linux" in defaults[0].os and defaults[0].cuda and defaults[0].arch_list, rel.version
        assert defaults[0].python and all(in_specifier(p + ".0", rel.python) for p in defaults[0].python)
        assert rel.variant("cpu") is not None and "linux" in rel.variant("cpu").os, rel.version
        for v in rel.variants:
            assert TAG.match(v.tag), (rel.version, v.tag)
            assert v.cuda == cuda_from_tag(v.tag), (rel.version, v.tag, v.cuda)
            assert set(v.os) <= {"linux", "windows", "macos"} and v.os, (rel.version, v.tag)
            if v.tag.startswith("rocm"):
                assert v.os == ["linux"]
            for entry in v.arch_list:
                assert parse_arch(entry), (rel.version, v.tag, entry)
            if v.cuda:
                assert v.arch_list, (rel.version, v.tag)


def test_seed_pairs(k):
    r200 = k.torch_release("2.0.0")
    assert (r200.torchvision, r200.torchaudio) == ("0.15.1", "2.0.1")
    assert r200.variant("cu118") is not None and r200.variant("cu117").pypi_default
    r1131 = k.torch_release("1.13.1")
    assert (r1131.torchvision, r1131.torchaudio) == ("0.14.1", "0.13.1")
    assert k.torch_release("2.11.0+cu130") is k.torch_release("2.11.0")
    assert (k.torch_release("2.11.0").torchvision, k.torch_release("2.11.0").torchaudio) == ("0.26.0", "2.11.0")


def test_torch_2_11_matches_the_h100_fixture(k):
    info = h100_torch_info()
    rel = k.torch_release(info["version"])
    default = next(v for v in rel.variants if v.pypi_default)
    assert default.tag == info["version"].split("+")[1] == "cu130"
    assert default.cuda == info["cuda"]
    assert default.arch_list == info["arch_list"]
    assert default.cudnn == "9.19.0" and info["cudnn"] == 91900
    assert rel.triton == "3.6.0" and rel.date == "2026-03-23"
    assert info["torchvision"].split("+")[0] == rel.torchvision
    assert arch_support(default.arch_list, "9.0") == CUBIN


def test_known_build_facts(k):
    assert k.torch_release("1.12.1").variant("cu102").os == ["linux"]  # no CUDA 10.2 builds for Windows
    assert next(v for v in k.torch_release("2.5.1").variants if v.pypi_default).tag == "cu124"
    assert next(v for v in k.torch_release("2.15.0").variants if v.pypi_default).tag == "cu132"
    assert k.torch_release("2.15.0").variant("cu126") is None  # 2.14 was the last release with CUDA 12 wheels
    assert "sm_70" in k.torch_release("2.10.0").variant("cu128").arch_list
    assert "sm_70" not in k.torch_release("2.11.0").variant("cu128").arch_list  # Volta dropped from 12.8 in 2.11
    assert "sm_37" in k.torch_release("2.7.1").variant("cu118").arch_list
    assert k.torch_release("2.4.0").python == ">=3.8,<3.13"


# --------------------------------------------------------------------------- defects, compilers, conda


def test_known_bad_entries(k):
    entries = k.known_bad()
    assert entries
    for e in entries:
        assert e.kind in ("package", "driver") and e.severity in ("error", "warning", "info")
        assert e.source.startswith("https://") and re.fullmatch(r"20\d\d-\d\d-\d\d", e.recorded)
        assert SpecifierSet(e.spec) and e.defect and e.fix
        if e.kind == "package":
            assert e.name == e.name.lower()
    assert any(e.kind == "package" and e.spec.startswith("==") for e in entries)


def test_known_bad_does_not_flag_the_reference_machine(k):
    packages = h100_pip_list()
    driver = "580.159.04"
    for e in k.known_bad():
        version = driver if e.kind == "driver" else packages.get(e.name)
        if version:
            assert not in_specifier(version, e.spec), e


def test_host_compiler_ranges(k):
    assert (k.host_compiler_range("12.4").gcc_max, k.host_compiler_range("12.4").clang_max) == (13, 17)
    assert k.host_compiler_range("13.0.88").gcc_max == 15
    assert k.host_compiler_range("10.2").gcc_max == 8
    assert k.host_compiler_range("9.2") is None
    rows = sorted(k.host_compiler_ranges(), key=lambda r: dotted(r.cuda, 2))
    assert [r.cuda for r in rows][0] == "10.2" and rows[-1].cuda.startswith("13.")
    for a, b in zip(rows, rows[1:]):
        assert a.gcc_max <= b.gcc_max and (a.clang_max or 0) <= (b.clang_max or 99), (a, b)
    assert all(r.source.startswith("http") or "host_config.h" in r.source for r in rows)


def test_conda_facts(k):
    data = load_toml(DATA_DIR / "conda.toml")
    channel = data["pytorch_channel"]
    assert channel["last_torch"] == "2.5.1" and k.torch_release(channel["last_torch"]) is not None
    assert "11.2" not in channel["pytorch_cuda_versions"]
    for row in channel["release"]:
        if row["selector"] == "pytorch-cuda":
            assert set(row["cuda"]) <= set(channel["pytorch_cuda_versions"]), row
            assert row["channels"] == ["pytorch", "nvidia"]
        minor = Version(row["torch"])
        assert any(Version(r.version).release[:2] == minor.release[:2] for r in k.torch_releases()), row
    rows = {row["torch"]: row for row in channel["release"]}
    assert rows["1.13"]["cuda"] == ["11.6", "11.7"] and rows["2.5"]["cuda"] == ["11.8", "12.1", "12.4"]
    assert data["conda_forge"]["cuda_selector"] == "cuda-version"


# --------------------------------------------------------------------------- refresh: parsers on recorded answers


def metadata(name: str) -> pypi.Metadata:
    return pypi.parse_metadata((PYPI / name).read_text(encoding="utf-8"))


def test_parse_torch_2_11_metadata():
    meta = metadata("torch-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl.metadata")
    assert (meta.name, meta.version, meta.requires_python) == ("torch", "2.11.0", ">=3.10")
    found = refresh.pins(meta.requires_dist, {"python_version": "3.12"})
    assert refresh.cuda_from_pins(found) == "13.0"  # cuda-toolkit[...]==13.0.2
    assert refresh.cudnn_from_pins(found) == "9.19.0"
    assert refresh.triton_from_pins(found) == "3.6.0"
    assert "optree" not in found  # extras do not apply
    assert refresh.pins(meta.requires_dist, {"platform_system": "Windows"}) == {
        name: spec for name, spec in found.items() if name in ("filelock", "typing-extensions", "setuptools",
                                                                "sympy", "networkx", "jinja2", "fsspec")}


def test_parse_torch_2_5_1_metadata_evaluates_markers():
    meta = metadata("torch-2.5.1-cp310-cp310-manylinux1_x86_64.whl.metadata")
    on_310 = refresh.pins(meta.requires_dist, {"python_version": "3.10"})
    assert refresh.cuda_from_pins(on_310) == "12.4" and refresh.cudnn_from_pins(on_310) == "9.1.0"
    assert refresh.triton_from_pins(on_310) == "3.1.0"
    on_313 = refresh.pins(meta.requires_dist, {"python_version": "3.13"})
    assert refresh.triton_from_pins(on_313) is None  # triton ... ; python_version < "3.13"
    assert refresh.cuda_from_pins(refresh.pins(meta.requires_dist, {"platform_machine": "aarch64"})) is None


def test_companion_requirements():
    vision = metadata("torchvision-0.26.0-cp312-cp312-manylinux_2_28_x86_64.whl.metadata")
    assert refresh.torch_requirement(vision.requires_dist) == "==2.11.0"
    audio = metadata("torchaudio-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl.metadata")
    assert audio.version == "2.11.0" and refresh.torch_requirement(audio.requires_dist) is None
    assert refresh.torch_requirement(["torch (>=2.14.0)", "gdown ; extra == 'gdown'"]) == ">=2.14.0"
    assert refresh.torch_requirement(["torch[opt]==1.0 ; extra == 'x'"]) is None


def test_version_py():
    text = (PYPI / "torch-2.5.1-cp310-manylinux1-version.py.txt").read_text(encoding="utf-8")
    assert refresh.cuda_from_version_py(text) == "12.4"
    assert refresh.cuda_from_version_py("__version__ = '2.5.1+cpu'\ncuda: Optional[str] = None\n") is None
    assert refresh.cuda_from_version_py("cuda = '10.2'\n") == "10.2"


def test_simple_json_listing():
    files = pypi.parse_simple_json(json.loads((PYPI / "simple-torch-2.11.0.json").read_text(encoding="utf-8")))
    assert len(files) == 28 and all(f.filename.startswith("torch-2.11.0-") for f in files)
    assert refresh.python_minors(files) == ["3.10", "3.11", "3.12", "3.13", "3.14"]  # 3.13t/3.14t left out
    assert refresh.python_spec(refresh.python_minors(files)) == ">=3.10,<3.15"
    assert refresh.first_upload(files) == "2026-03-23"
    wheel = refresh.linux_x86_64_wheel(files)
    assert wheel.filename == "torch-2.11.0-cp310-cp310-manylinux_2_28_x86_64.whl"
    assert list(refresh.group_versions(files, "2.11")) == ["2.11.0"] and not refresh.group_versions(files, "2.12")
    with pytest.raises(pypi.IndexUnavailable):
        pypi.parse_simple_json({"meta": {}}, "https://example.invalid/simple/x/")


def test_wheel_filenames():
    w = pypi.parse_wheel_filename("torch-2.11.0-cp314-cp314t-manylinux_2_28_x86_64.whl")
    assert (w.name, w.version, w.python, w.abi, w.platform) == ("torch", "2.11.0", ("cp314",), "cp314t",
                                                                 ("manylinux_2_28_x86_64",))
    w = pypi.parse_wheel_filename("torch-1.12.0-cp37-cp37m-manylinux1_x86_64.whl")
    assert w.python == ("cp37",) and w.abi == "cp37m"
    assert pypi.parse_wheel_filename("torch-2.0.0.tar.gz") is None
    assert refresh.is_final("2.5.1") and not refresh.is_final("2.6.0rc1") and not refresh.is_final("2.5.1+cu124")


def test_arch_flags_from_binary():
    blob = b"\x00garbage sm_x\x00sm_75 sm_80 sm_86 sm_90 sm_100 sm_120\x00more sm_35\x00"
    assert refresh.arch_list_from_binary(blob) == ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]
    assert refresh.arch_list_from_binary(b"sm_37 sm_50 compute_37\x00") == ["sm_37", "sm_50", "compute_37"]
    assert refresh.arch_list_from_binary(b"no flags here") == []


def test_pair_companions():
    companions = [
        refresh.Companion("0.15.0", "2023-03-15", "==2.0.0"),
        refresh.Companion("0.15.1", "2023-03-16", "==2.0.0"),
        refresh.Companion("0.29.0", "2026-09-02", "==2.14.0"),
        refresh.Companion("0.29.1", "2026-09-30", ">=2.14.0"),
        refresh.Companion("0.29.2", "2026-10-28", ">=2.14.0"),
    ]
    dates = {"2.0.0": "2023-03-15", "2.14.0": "2026-09-02", "2.14.1": "2026-09-30", "2.15.0": "2026-10-28",
             "2.13.0": "2026-07-08"}
    assert refresh.pair_companions(companions, dates) == {"2.0.0": "0.15.1", "2.14.0": "0.29.0",
                                                          "2.14.1": "0.29.1", "2.15.0": "0.29.2"}
    audio = [refresh.Companion("2.10.0", "2026-01-21", "==2.10.0"), refresh.Companion("2.11.0", "2026-03-23", None)]
    assert refresh.pair_companions(audio, {"2.10.0": "2026-01-21", "2.11.0": "2026-03-23", "2.12.0": "2026-05-13",
                                           "2.9.0": "2025-10-15"}) == {"2.10.0": "2.10.0", "2.11.0": "2.11.0",
                                                                       "2.12.0": "2.11.0"}


def _derived(**kw) -> refresh.Derived:
    base = dict(version="2.11.0", date="2026-03-23", python=">=3.10,<3.15", python_list=["3.10", "3.11"],
                triton="3.6.0", default_tag="cu130", default_cuda="13.0", default_cudnn="9.19.0",
                default_arch_list=["sm_75", "sm_120"], cpu_os=["windows", "macos"])
    base.update(kw)
    return refresh.Derived(**base)


def test_merge_keeps_curated_fields_and_replaces_derived_ones():
    curated = {"version": "2.11.0", "torchvision": "0.0.1", "torchaudio": "2.11.0", "python": None, "date": None,
               "triton": None, "variants": [
                   {"tag": "cu128", "cuda": "12.8", "os": ["linux", "windows"], "arch_list": ["sm_75"],
                    "cudnn": "9.17.1", "pypi_default": True, "python": []},
                   {"tag": "cu130", "cuda": "13.0", "os": ["linux", "windows"], "arch_list": ["sm_90"],
                    "cudnn": "9.17.1", "pypi_default": False, "python": []},
                   {"tag": "rocm7.2", "cuda": None, "os": ["linux"], "arch_list": [], "cudnn": None,
                    "pypi_default": False, "python": []},
                   {"tag": "cpu", "cuda": None, "os": ["linux"], "arch_list": [], "cudnn": None,
                    "pypi_default": False, "python": []}]}
    row = refresh.merge_release(curated, _derived(), "0.26.0", None, None)
    tags = {v["tag"]: v for v in row["variants"]}
    assert row["torchvision"] == "0.26.0" and row["torchaudio"] == "2.11.0"  # derived replaces, missing keeps
    assert (row["python"], row["date"], row["triton"]) == (">=3.10,<3.15", "2026-03-23", "3.6.0")
    assert not tags["cu128"]["pypi_default"] and tags["cu128"]["arch_list"] == ["sm_75"]  # curated kept
    assert tags["cu130"]["pypi_default"] and tags["cu130"]["cudnn"] == "9.19.0"
    assert tags["cu130"]["arch_list"] == ["sm_75", "sm_120"] and tags["cu130"]["python"] == ["3.10", "3.11"]
    assert tags["cu130"]["os"] == ["linux", "windows"] and tags["rocm7.2"]["os"] == ["linux"]
    assert tags["cpu"]["os"] == ["linux", "windows", "macos"]
    assert [v["tag"] for v in row["variants"]] == ["cu130", "cu128", "rocm7.2", "cpu"]
    assert list(row)[:7] == ["version", "torchvision", "torchaudio", "python", "date", "triton", "variants"]


def test_merge_adds_what_only_the_index_proves():
    row = refresh.merge_release(None, _derived(default_arch_list=[]), None, None, {"cu126": {"linux", "windows"}})
    tags = {v["tag"]: v for v in row["variants"]}
    assert tags["cu130"] == {"tag": "cu130", "cuda": "13.0", "os": ["linux"], "arch_list": [], "cudnn": "9.19.0",
                             "pypi_default": True, "python": ["3.10", "3.11"]}
    assert tags["cu126"]["cuda"] == "12.6" and tags["cu126"]["os"] == ["linux", "windows"]
    assert row["torchvision"] is None


def test_merge_whole_file_keeps_releases_refresh_did_not_see():
    existing = {"generated": "2026-01-01", "sources": ["https://pypi.org/project/torch/ (notes)"],
                "provenance": {"x": "y"}, "releases": [{"version": "1.11.0", "variants": []}]}
    out = refresh.merge(existing, {"2.11.0": _derived()}, {"2.11.0": "0.26.0"}, {"2.11.0": "2.11.0"}, None,
                        "2026-11-23")
    assert [r["version"] for r in out["releases"]] == ["2.11.0", "1.11.0"]
    assert out["provenance"] == {"x": "y"} and out["generated"] == "2026-11-23"
    assert sum(s.startswith("https://pypi.org/project/torch/") for s in out["sources"]) == 1
    assert json.loads(refresh.dumps(out)) == out


def test_dumps_keeps_short_lists_on_one_line():
    text = refresh.dumps({"a": ["sm_75", "sm_80"], "b": [{"c": []}], "long": ["x" * 60, "y" * 60]})
    assert '"a": ["sm_75", "sm_80"]' in text and '"c": []' in text and '\n    "xxx' in text
    assert json.loads(text) == {"a": ["sm_75", "sm_80"], "b": [{"c": []}], "long": ["x" * 60, "y" * 60]}


def test_wheel_index_page():
    html = ('<html><body><a href="/whl/cu126/torch-2.6.0%2Bcu126-cp311-cp311-linux_x86_64.whl">'
            'torch-2.6.0+cu126-cp311-cp311-linux_x86_64.whl</a><br/>'
            '<a href="x">torch-2.6.0+cu126-cp311-cp311-win_amd64.whl</a>'
            '<a href="x">torch-2.6.0+rocm6.2.4-cp311-cp311-linux_x86_64.whl</a>'
            '<a href="x">torch-2.6.0-cp311-none-macosx_11_0_arm64.whl</a>'
            '<a href="x">torch-2.6.0+xpu-cp311-cp311-linux_x86_64.whl</a>'
            '<a href="x">torch-2.6.0+cu126.with.pypi.cudnn-cp311-cp311-linux_x86_64.whl</a></body></html>')
    assert refresh.parse_wheel_index(html) == {"2.6.0": {"cu126": {"linux", "windows"}, "rocm6.2.4": {"linux"}}}


# --------------------------------------------------------------------------- pypi: ranged reads, fallbacks, errors


class MemoryZip(pypi.RemoteZip):
    """RemoteZip over bytes in memory: the same range arithmetic, no network."""

    def __init__(self, blob: bytes) -> None:
        super().__init__("memory://wheel.whl", 1.0)
        self.blob = blob
        self.requests: List[Tuple[int, Optional[int]]] = []

    def _range(self, start: int, end: Optional[int] = None) -> Tuple[bytes, Optional[int]]:
        self.requests.append((start, end))
        if start < 0:
            return self.blob[start:], len(self.blob)
        return self.blob[start:None if end is None else end + 1], len(self.blob)


def make_wheel(members: Dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            kind = zipfile.ZIP_STORED if name.endswith(".py") else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=kind)
    return buf.getvalue()


def test_remote_zip_reads_members_by_range():
    meta = (PYPI / "torch-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl.metadata").read_bytes()
    blob = make_wheel({"torch/version.py": b"cuda: Optional[str] = '13.0'\n", "torch/lib/libx.so": b"\0" * 100000,
                       "torch-2.11.0.dist-info/METADATA": meta})
    z = MemoryZip(blob)
    assert set(z.members()) == {"torch/version.py", "torch/lib/libx.so", "torch-2.11.0.dist-info/METADATA"}
    assert z.read("torch-2.11.0.dist-info/METADATA") == meta  # deflated
    assert refresh.cuda_from_version_py(z.read("torch/version.py").decode()) == "13.0"  # stored
    with pytest.raises(pypi.IndexUnavailable):
        z.read("missing")
    with pytest.raises(pypi.IndexUnavailable):
        MemoryZip(b"not a zip at all").members()


class FakeResponse:
    """What urlopen returns, for a server answering 200 (range ignored) or 206."""

    def __init__(self, status: int, body: bytes, headers: Dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers

    def read(self) -> bytes:
        return self.body

    def __enter__(self) -> "FakeResponse":
        return self

    def __exit__(self, *exc) -> None:
        return None


def test_range_reads_survive_a_server_that_ignores_ranges(monkeypatch):
    blob = make_wheel({"a/version.py": b"cuda = '12.6'\n", "a-1.0.dist-info/METADATA": b"Name: a\nVersion: 1.0\n"})
    monkeypatch.setattr(pypi, "_open", lambda url, timeout, headers=None: FakeResponse(
        200, blob, {"Content-Length": str(len(blob))}))
    z = pypi.RemoteZip("https://example.invalid/a-1.0-py3-none-any.whl", 1)
    assert z.read("a/version.py") == b"cuda = '12.6'\n"
    monkeypatch.setattr(pypi, "_open", lambda url, timeout, headers=None: FakeResponse(
        200, b"", {"Content-Length": str(900 << 20)}))
    with pytest.raises(pypi.IndexUnavailable, match="ignored the range"):
        pypi.RemoteZip("https://example.invalid/big.whl", 1).members()
    monkeypatch.setattr(pypi, "_open", lambda url, timeout, headers=None: FakeResponse(
        206, blob[-100:], {"Content-Range": f"bytes {len(blob) - 100}-{len(blob) - 1}/{len(blob)}"}))
    assert pypi.RemoteZip("https://example.invalid/a.whl", 1)._range(-100) == (blob[-100:], len(blob))


def test_wheel_metadata_falls_back_to_the_wheel(monkeypatch):
    meta = (PYPI / "torchaudio-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl.metadata").read_bytes()
    blob = make_wheel({"torchaudio/__init__.py": b"", "torchaudio-2.11.0.dist-info/METADATA": meta})

    def no_pep658(url, timeout, headers=None):
        raise pypi.IndexUnavailable(f"{url}: HTTP 404 Not Found")

    monkeypatch.setattr(pypi, "fetch", no_pep658)
    monkeypatch.setattr(pypi, "RemoteZip", lambda url, timeout: MemoryZip(blob))
    f = pypi.IndexFile("torchaudio-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl", "https://example.invalid/w.whl")
    assert pypi.parse_metadata(pypi.wheel_metadata(f, 5)).version == "2.11.0"


def test_unreachable_index_is_reported_not_raised(monkeypatch, tmp_path, capsys):
    def down(*args, **kwargs):
        raise pypi.IndexUnavailable("https://pypi.org/simple/torch/: [Errno -2] Name or service not known")

    monkeypatch.setattr(refresh, "project_files", down)
    out = tmp_path / "torch_releases.json"
    assert refresh.main(["--out", str(out), "--timeout", "1"]) == 2
    assert "PyPI could not be read" in capsys.readouterr().err and not out.exists()
    logged: List[str] = []
    monkeypatch.setattr(refresh, "fetch", down)
    assert refresh.wheel_index_variants(1, logged.append) is None and "keeping the curated variants" in logged[0]


def test_http_errors_name_the_url():
    with pytest.raises(pypi.IndexUnavailable) as exc:
        pypi.fetch("notascheme://nowhere", 1)
    assert "notascheme://nowhere" in str(exc.value)
