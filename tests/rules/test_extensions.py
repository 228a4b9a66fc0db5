"""Rules on CUDA extensions beside torch (issue 15 req 1), on the recorded H100 (torch 2.11.0+cu130, sm_90) and the
recorded CPU box with one extension added as the static probe reads it. The titles are the ones analyze gives
for the same fault in pasted text (error_signatures.toml), so one sentence serves both."""

from __future__ import annotations

from builders import cpu_box, h100
from envcheck.analyze import signatures
from envcheck.knowledge import Knowledge
from envcheck.rules import evaluate
from envcheck.snapshot import Extension, TorchDevice

K = Knowledge()
CODES = ("extension-torch-mismatch", "extension-arch-unsupported")


def analyze_title(pasted: str, code: str) -> str:
    """The title ``envcheck analyze`` gives the pasted text (its signature's title, filled)."""
    (hit,) = [h for h in signatures.scan(pasted, "paste", signatures.load_catalogue()) if h.signature.code == code]
    return hit.signature.title.format(**hit.values)


def found(snap, code):
    return [f for f in evaluate(snap, K) if f.code == code]


def with_ext(snap, *extensions):
    snap.torch.extensions = list(extensions)
    return snap


def on_gpu(snap, *caps):
    for gpu, cc in zip(snap.gpus, caps):
        gpu.compute_capability = cc
    snap.gpus = snap.gpus[:len(caps)]
    return snap


def test_the_recorded_machines_raise_none():
    for snap in (h100(), cpu_box()):
        assert not {f.code for f in evaluate(snap, K)} & set(CODES)


def test_an_exact_pin_on_another_torch_is_a_mismatch_worded_as_analyze_words_pips_complaint():
    # wheels.json: xformers 0.0.34 requires torch==2.10.0; the H100 has torch 2.11.0+cu130
    (f,) = found(with_ext(h100(), Extension("xformers", "0.0.34", requires_torch="==2.10.0")),
                 "extension-torch-mismatch")
    assert str(f.title) == "xformers 0.0.34 needs torch==2.10.0, but torch 2.11.0+cu130 is installed"
    pasted = ("ERROR: pip's dependency resolver does not currently take into account all the packages that are "
              "installed. xformers 0.0.34 requires torch==2.10.0, but you have torch 2.11.0+cu130 which is "
              "incompatible.")
    assert analyze_title(pasted, "extension-torch-mismatch") == str(f.title)
    assert f.severity.value == "error" and f.facts["wants"] == "==2.10.0"


def test_a_range_or_the_same_torch_is_no_mismatch():
    snap = with_ext(h100(), Extension("xformers", "0.0.35", requires_torch=">=2.10"),
                    Extension("xformers-same", "0.0.36", requires_torch="==2.11.0"),
                    Extension("torch-scatter", "2.1.2+pt211cu130", built_torch="2.11", built_cuda="13.0"),
                    Extension("triton", "3.6.0"))
    assert found(snap, "extension-torch-mismatch") == []


def test_a_build_tag_naming_another_torch_minor():
    (f,) = found(with_ext(h100(), Extension("torch-scatter", "2.1.2+pt25cu121", built_torch="2.5",
                                            built_cuda="12.1", tag_source="version")), "extension-torch-mismatch")
    assert str(f.title) == "torch-scatter 2.1.2+pt25cu121 was built for torch 2.5, but torch 2.11.0+cu130 is installed"
    assert "CUDA 12.1" in str(f.detail) and f.fix  # the rebuild / reinstall steps analyze gives


def test_the_same_torch_with_another_cuda_major():
    (f,) = found(with_ext(h100(), Extension("flash-attn", "2.8.3", built_torch="2.11", built_cuda="12",
                                            tag_source="wheel")), "extension-torch-mismatch")
    assert str(f.title) == "flash-attn 2.8.3 was built for CUDA 12, torch 2.11.0+cu130 for CUDA 13.0"
    assert f.facts["source"] == "wheel"


def test_flash_attn_2_on_a_gpu_below_sm_80_names_sdpa():
    snap = with_ext(on_gpu(h100(), "7.5"), Extension("flash-attn", "2.8.3"))
    (f,) = found(snap, "extension-arch-unsupported")
    pasted = "RuntimeError: FlashAttention only supports Ampere GPUs or newer."
    assert str(f.title) == analyze_title(pasted, "extension-arch-unsupported") == "FlashAttention needs an Ampere GPU or newer, and this GPU is older"
    assert "7.5, below sm_80" in str(f.detail)
    assert any("torch.nn.functional.scaled_dot_product_attention" in str(s) for s in f.fix)
    assert f.severity.value == "error"


def test_flash_attn_on_sm_80_and_newer_and_extensions_without_a_floor_are_fine():
    assert found(with_ext(h100(), Extension("flash-attn", "2.8.3"), Extension("flash-attn-3", "3.0.0b1")),
                 "extension-arch-unsupported") == []
    assert found(with_ext(on_gpu(h100(), "7.0"), Extension("xformers", "0.0.35")), "extension-arch-unsupported") == []


def test_one_old_gpu_among_new_ones_is_a_warning_and_torch_devices_count_without_nvidia_smi():
    h = h100()
    h.gpus = h.gpus[:1] * 2
    h.gpus[1] = type(h.gpus[0])(index=1, compute_capability="7.0")
    (f,) = found(with_ext(h, Extension("flash-attn", "2.8.3")), "extension-arch-unsupported")
    assert f.severity.value == "warning" and f.facts["capabilities"] == ["7.0"]
    cpu = with_ext(cpu_box(), Extension("flash-attn-3", "3.0.0b1"))
    cpu.gpus, cpu.torch.devices = [], [TorchDevice(index=0, name="Tesla T4", capability="7.5")]
    (f,) = found(cpu, "extension-arch-unsupported")
    assert f.facts["extension"] == "flash-attn-3"


def test_xformers_build_info_beside_another_torch():
    """The torch an xformers was compiled against (its cpp_lib.json), beside the H100's torch 2.11: a source build
    of an older release is a mismatch whatever range it declares; 0.0.35's wheels are built on torch's stable ABI
    (extension_abi.toml) and load beside a later torch their range admits, never beside an older one."""
    source_build = Extension("xformers", "0.0.28", built_torch="2.4", built_cuda="12.1", requires_torch=">=1.12",
                             tag_source="build-info")
    (f,) = found(with_ext(h100(), source_build), "extension-torch-mismatch")
    assert str(f.title) == "xformers 0.0.28 was built for torch 2.4, but torch 2.11.0+cu130 is installed"
    stable = Extension("xformers", "0.0.35", built_torch="2.10", built_cuda="13.0", requires_torch=">=2.10",
                       tag_source="build-info")
    assert not found(with_ext(h100(), stable), "extension-torch-mismatch")
    newer_build = Extension("xformers", "0.0.36", built_torch="2.12", built_cuda="13.0", requires_torch=">=2.12",
                            tag_source="build-info")
    assert found(with_ext(h100(), newer_build), "extension-torch-mismatch")
