"""CUDA toolkit and system cuDNN probes: real nvcc here, real recordings, fake trees and fake tools.

Fake toolkits are directories in tmp_path with a ``bin/nvcc`` shell script; fault cases (hang,
garbage, crash) are such scripts too. Toolkits whose version file is present get an nvcc that
fails when run, which proves the version file was read instead of running nvcc.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from envcheck.probes import ProbeContext, cudnn, toolkits
from envcheck.probes.cudnn import parse_cudnn_header, parse_ldconfig, version_from_filename
from envcheck.probes.toolkits import (
    cpp_extension_cuda_home,
    parse_nvcc_version,
    parse_version_json,
    parse_version_txt,
)
from envcheck.runner import run
from envcheck.snapshot import CudaToolkit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
H100 = FIXTURES / "h100-torch2.11-cu130"
CPU = FIXTURES / "cpu-nvcc13-nodriver"
NVCC_V = (H100 / "nvcc-V.txt").read_text()

CUDNN_VERSION_H = """\
/*
 * Copyright 2014-2025 NVIDIA Corporation.  All rights reserved.
 */
#ifndef CUDNN_VERSION_H_
#define CUDNN_VERSION_H_

#define CUDNN_MAJOR {major}
#define CUDNN_MINOR {minor}
#define CUDNN_PATCHLEVEL {patch}

#define CUDNN_VERSION (CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)

#endif /* CUDNN_VERSION_H */
"""


# --------------------------------------------------------------------------- helpers


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body + "\n")
    path.chmod(0o755)
    return path


def nvcc_printing(path: Path, fixture: Path = H100 / "nvcc-V.txt") -> Path:
    return script(path, f"cat {shlex.quote(str(fixture))}")


def failing_nvcc(path: Path) -> Path:
    return script(path, "echo 'must not be run' >&2; exit 3")


def ctx_for(tmp_path: Path, env: Dict[str, str], python: Optional[str] = None,
            timeout: float = 10.0) -> ProbeContext:
    env = dict(env)
    env.setdefault("PATH", str(tmp_path / "empty-bin"))
    return ProbeContext(env=env, root=str(tmp_path), python=python, timeout=timeout, home=str(tmp_path))


def by_path(found: List[CudaToolkit]) -> Dict[str, CudaToolkit]:
    return {tk.path: tk for tk in found}


@pytest.fixture
def two_toolkits(tmp_path: Path) -> Path:
    """usr/local/cuda-11.8 (version.txt), usr/local/cuda-12.4 (version.json), cuda -> cuda-12.4."""
    local = tmp_path / "usr" / "local"
    old = local / "cuda-11.8"
    failing_nvcc(old / "bin" / "nvcc")
    (old / "version.txt").write_text("CUDA Version 11.8.89\n")
    new = local / "cuda-12.4"
    failing_nvcc(new / "bin" / "nvcc")
    (new / "version.json").write_text(json.dumps({
        "cuda": {"name": "CUDA SDK", "version": "12.4.1"},
        "cuda_nvcc": {"name": "CUDA NVCC", "version": "12.4.131"},
    }))
    (local / "cuda").symlink_to("cuda-12.4")
    (tmp_path / "empty-bin").mkdir()
    return tmp_path


# --------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("fixture", [H100 / "nvcc-V.txt", CPU / "nvcc-V.txt"])
def test_parse_nvcc_version_on_real_recordings(fixture: Path) -> None:
    assert parse_nvcc_version(fixture.read_text()) == ("13.0", "13.0.88")


def test_parse_nvcc_version_old_and_bad_outputs() -> None:
    old = ("nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2019 NVIDIA Corporation\n"
           "Built on Wed_Oct_23_19:24:38_PDT_2019\nCuda compilation tools, release 10.2, V10.2.89\n")
    assert parse_nvcc_version(old) == ("10.2", "10.2.89")
    assert parse_nvcc_version("Cuda compilation tools, release 12.4") == ("12.4", None)
    assert parse_nvcc_version("Segmentation fault") == (None, None)
    assert parse_nvcc_version("") == (None, None)


def test_version_files() -> None:
    assert parse_version_json('{"cuda": {"name": "CUDA SDK", "version": "12.4.1"}}') == "12.4.1"
    assert parse_version_json("{not json") is None
    assert parse_version_json('["cuda"]') is None
    assert parse_version_json('{"cuda": {"version": 12}}') is None
    assert parse_version_txt("CUDA Version 10.2.89\n") == "10.2.89"
    assert parse_version_txt("garbage") is None


# --------------------------------------------------------------------------- the real machine


REAL_NVCC = shutil.which("nvcc")


@pytest.mark.skipif(REAL_NVCC is None or not os.path.isdir("/usr/local/cuda/bin"),
                    reason="needs nvcc on PATH and /usr/local/cuda")
def test_real_machine_toolkits() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_HOME", "CUDA_PATH", "CONDA_PREFIX")}
    ctx = ProbeContext(env=env)
    found, issues = toolkits.probe(ctx)
    expected = parse_nvcc_version(run([REAL_NVCC, "-V"]).stdout)
    assert issues == []
    active = [tk for tk in found if tk.active]
    assert len(active) == 1
    assert active[0].nvcc == REAL_NVCC and active[0].source == "PATH"
    assert (active[0].version, active[0].full_version) == expected
    # torch.utils.cpp_extension takes dirname(dirname(which nvcc)): /usr/local for the wrapper here
    home = os.path.dirname(os.path.dirname(REAL_NVCC))
    assert cpp_extension_cuda_home(ctx) == home
    flagged = [tk for tk in found if tk.used_by_torch_extensions]
    assert [tk.path for tk in flagged] == [home]
    # /usr/local/cuda and the versioned directory it links to are one toolkit
    real_roots = [os.path.realpath(tk.path) for tk in found]
    assert len(real_roots) == len(set(real_roots))
    assert os.path.realpath("/usr/local/cuda") in real_roots
    for tk in found:
        assert tk.version == expected[0] and tk.error is None


# --------------------------------------------------------------------------- fake trees


def test_two_toolkits_with_cuda_home(two_toolkits: Path) -> None:
    old_root = str(two_toolkits / "usr" / "local" / "cuda-11.8")
    ctx = ctx_for(two_toolkits, {"CUDA_HOME": old_root})
    found, issues = toolkits.probe(ctx)
    assert issues == []
    assert len(found) == 2  # cuda -> cuda-12.4 collapsed
    tks = by_path(found)
    old = tks[old_root]
    assert (old.version, old.full_version, old.source) == ("11.8", "11.8.89", "CUDA_HOME")
    assert old.used_by_torch_extensions and not old.active
    new = tks[str(two_toolkits / "usr" / "local" / "cuda")]
    assert (new.version, new.full_version, new.source) == ("12.4", "12.4.1", "/usr/local/cuda")
    assert not new.used_by_torch_extensions and not new.active
    assert all(tk.error is None for tk in found)  # nvcc never ran: the version files answered
    assert cpp_extension_cuda_home(ctx) == old_root


def test_default_cuda_home_is_usr_local_cuda(two_toolkits: Path) -> None:
    ctx = ctx_for(two_toolkits, {})
    assert cpp_extension_cuda_home(ctx) == str(two_toolkits / "usr" / "local" / "cuda")
    found, _ = toolkits.probe(ctx)
    flagged = [tk for tk in found if tk.used_by_torch_extensions]
    assert [tk.version for tk in flagged] == ["12.4"]


def test_no_toolkit_at_all(tmp_path: Path) -> None:
    ctx = ctx_for(tmp_path, {})
    assert cpp_extension_cuda_home(ctx) is None
    assert toolkits.probe(ctx) == ([], [])


def test_every_nvcc_on_path_first_is_active(two_toolkits: Path) -> None:
    local = two_toolkits / "usr" / "local"
    path = os.pathsep.join([str(local / "cuda-12.4" / "bin"), str(local / "cuda-11.8" / "bin")])
    ctx = ctx_for(two_toolkits, {"PATH": path})
    found, _ = toolkits.probe(ctx)
    assert [tk.source for tk in found] == ["PATH", "PATH"]
    assert [tk.version for tk in found] == ["12.4", "11.8"]
    assert [tk.active for tk in found] == [True, False]
    assert [tk.used_by_torch_extensions for tk in found] == [True, False]


def test_cuda_path_used_when_cuda_home_empty(two_toolkits: Path) -> None:
    old_root = str(two_toolkits / "usr" / "local" / "cuda-11.8")
    ctx = ctx_for(two_toolkits, {"CUDA_HOME": "", "CUDA_PATH": old_root})
    assert cpp_extension_cuda_home(ctx) == old_root
    found, _ = toolkits.probe(ctx)
    assert by_path(found)[old_root].source == "CUDA_PATH"
    assert by_path(found)[old_root].used_by_torch_extensions


def test_path_wrapper_is_what_torch_extensions_use(tmp_path: Path) -> None:
    """Like /usr/local/bin/nvcc here: a script that execs the real nvcc, so the root is its parent."""
    real = nvcc_printing(tmp_path / "usr" / "local" / "cuda-13.0" / "bin" / "nvcc")
    (tmp_path / "usr" / "local" / "cuda").symlink_to("cuda-13.0")
    wrapper = script(tmp_path / "usr" / "local" / "bin" / "nvcc", f'exec {shlex.quote(str(real))} "$@"')
    ctx = ctx_for(tmp_path, {"PATH": str(wrapper.parent)})
    found, issues = toolkits.probe(ctx)
    assert issues == []
    tks = by_path(found)
    front = tks[str(tmp_path / "usr" / "local")]
    assert front.nvcc == str(wrapper)
    assert front.active and front.used_by_torch_extensions and front.source == "PATH"
    assert (front.version, front.full_version) == ("13.0", "13.0.88")
    behind = tks[str(tmp_path / "usr" / "local" / "cuda")]
    assert behind.version == "13.0" and not behind.active and not behind.used_by_torch_extensions
    assert len(found) == 2


def test_cuda_home_pointing_nowhere(tmp_path: Path) -> None:
    missing = str(tmp_path / "opt" / "cuda-12.1")
    ctx = ctx_for(tmp_path, {"CUDA_HOME": missing})
    found, issues = toolkits.probe(ctx)
    assert len(found) == 1 and issues == []
    assert found[0].path == missing and found[0].nvcc is None
    assert found[0].used_by_torch_extensions and found[0].version is None
    assert "does not exist" in (found[0].error or "")


def test_pip_and_conda_layouts(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = script(venv / "bin" / "python", "exit 0")
    site = venv / "lib" / "python3.12" / "site-packages" / "nvidia"
    nvcc_printing(site / "cu13" / "bin" / "nvcc", CPU / "nvcc-V.txt")       # cu13 wheels
    cu12 = failing_nvcc(site / "cuda_nvcc" / "bin" / "nvcc")                 # cu12 wheels
    (cu12.parent.parent / "version.json").write_text('{"cuda": {"version": "12.8.93"}}')
    conda = tmp_path / "conda-env"
    nvcc_printing(conda / "bin" / "nvcc")
    ctx = ctx_for(tmp_path, {"CONDA_PREFIX": str(conda)}, python=str(python))
    found, issues = toolkits.probe(ctx)
    assert issues == []
    tks = by_path(found)
    assert tks[str(conda)].source == "conda" and tks[str(conda)].version == "13.0"
    assert tks[str(site / "cu13")].source == "pip" and tks[str(site / "cu13")].full_version == "13.0.88"
    assert tks[str(site / "cuda_nvcc")].source == "pip" and tks[str(site / "cuda_nvcc")].version == "12.8"
    assert not any(tk.active or tk.used_by_torch_extensions for tk in found)


@pytest.mark.parametrize("body, kind", [
    ("echo 'hello, I am not nvcc'", "garbage"),
    ("kill -SEGV $$", "crashed"),
    ("echo 'nvcc fatal : something' >&2; exit 1", "error"),
    ("exec sleep 30", "timeout"),
])
def test_broken_nvcc(tmp_path: Path, body: str, kind: str) -> None:
    nvcc = script(tmp_path / "broken" / "bin" / "nvcc", body)
    ctx = ctx_for(tmp_path, {"PATH": str(nvcc.parent)}, timeout=0.5)
    found, issues = toolkits.probe(ctx)
    assert len(found) == 1
    tk = found[0]
    assert tk.active and tk.version is None and tk.error
    assert [i.kind for i in issues] == [kind]
    assert issues[0].probe == "toolkits" and issues[0].command == [str(nvcc), "-V"]


def test_one_broken_nvcc_does_not_hide_the_others(two_toolkits: Path) -> None:
    broken = script(two_toolkits / "junk" / "bin" / "nvcc", "echo '%%%'")
    ctx = ctx_for(two_toolkits, {"PATH": str(broken.parent)})
    found, issues = toolkits.probe(ctx)
    assert sorted(tk.version or "-" for tk in found) == ["-", "11.8", "12.4"]
    assert len(issues) == 1


# --------------------------------------------------------------------------- cuDNN


def test_parse_ldconfig_real_recording() -> None:
    entries = parse_ldconfig((H100 / "ldconfig.txt").read_text())
    assert len(entries) == 36  # every line of the recording is CUDA-related
    assert ("libcudnn.so.9", "/lib/x86_64-linux-gnu/libcudnn.so.9") in entries
    assert ("libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1") in entries
    assert ("libcublasLt.so.13", "/usr/local/cuda/targets/x86_64-linux/lib/libcublasLt.so.13") in entries
    assert sum(1 for name, _ in entries if name.startswith("libcudnn")) == 16


def test_parse_ldconfig_filters_and_survives_garbage() -> None:
    text = ("536 libs found in cache `/etc/ld.so.cache'\n"
            "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1\n"
            "\tlibnvrtc.so.12 (libc6,x86-64, hwcap: 0x0000000000000002) => /opt/cuda/lib64/libnvrtc.so.12\n"
            "complete nonsense => here\n\x00\x01")
    assert parse_ldconfig(text) == [("libnvrtc.so.12", "/opt/cuda/lib64/libnvrtc.so.12")]
    assert parse_ldconfig("") == []


@pytest.mark.skipif(shutil.which("ldconfig") is None and not os.path.exists("/sbin/ldconfig"),
                    reason="no ldconfig")
def test_parse_ldconfig_real_command() -> None:
    exe = shutil.which("ldconfig") or "/sbin/ldconfig"
    result = run([exe, "-p"])
    assert result.ok
    lines = [l for l in result.stdout.splitlines() if "=>" in l]
    assert lines  # this machine has libraries
    entries = parse_ldconfig(result.stdout)
    assert len(entries) < len(lines)  # libc, libz, ... are dropped
    assert all(name.lower().startswith(("libcu", "libnccl", "libnv", "libnpp")) for name, _ in entries)


def test_parse_cudnn_header() -> None:
    assert parse_cudnn_header(CUDNN_VERSION_H.format(major=9, minor=14, patch=0)) == "9.14.0"
    old_cudnn_h = "#include <stdint.h>\n#define CUDNN_MAJOR      7\n#define CUDNN_MINOR      6\n" \
                  "#define CUDNN_PATCHLEVEL 5\n#define CUDNN_VERSION (CUDNN_MAJOR * 1000)\n"
    assert parse_cudnn_header(old_cudnn_h) == "7.6.5"
    # cuDNN 8+'s cudnn.h only includes cudnn_version.h
    assert parse_cudnn_header('#include "cudnn_version.h"\n#include "cudnn_ops.h"\n') is None
    assert parse_cudnn_header("") is None


def test_version_from_filename() -> None:
    assert version_from_filename("/usr/lib/x86_64-linux-gnu/libcudnn.so.9.14.0") == "9.14.0"
    assert version_from_filename("libcudnn.so.9") is None
    assert version_from_filename("libcudnn_ops.so.9.14.0") is None


def fake_cudnn_machine(tmp_path: Path, lib_version: Optional[str] = "9.14.0",
                       header: Optional[str] = "9.14.0") -> ProbeContext:
    """The H100's ldconfig answer, with its /lib/x86_64-linux-gnu rebuilt under tmp_path."""
    libdir = tmp_path / "lib" / "x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    if lib_version:
        (libdir / f"libcudnn.so.{lib_version}").write_bytes(b"\x7fELF")
        (libdir / "libcudnn.so.9").symlink_to(f"libcudnn.so.{lib_version}")
    if header:
        major, minor, patch = header.split(".")
        inc = tmp_path / "usr" / "include" / "x86_64-linux-gnu"
        inc.mkdir(parents=True)
        (inc / f"cudnn_version_v{major}.h").write_text(CUDNN_VERSION_H.format(major=major, minor=minor, patch=patch))
        # Debian's alternatives link the generic name to the versioned header
        (tmp_path / "usr" / "include" / "cudnn_version.h").symlink_to(inc / f"cudnn_version_v{major}.h")
    bindir = tmp_path / "bin"
    script(bindir / "ldconfig", f"cat {shlex.quote(str(H100 / 'ldconfig.txt'))}")
    return ctx_for(tmp_path, {"PATH": str(bindir)})


def test_cudnn_probe_reads_version_from_symlink_target(tmp_path: Path) -> None:
    system, issues = cudnn.probe(fake_cudnn_machine(tmp_path, lib_version="9.14.0", header="9.14.0"))
    assert issues == []
    ldc = [c for c in system.system if c.source == "ldconfig"]
    assert [(c.version, c.path) for c in ldc] == [("9.14.0", "/lib/x86_64-linux-gnu/libcudnn.so.9")]
    headers = [c for c in system.system if c.source == "header"]
    assert [c.version for c in headers] == ["9.14.0"]  # the alternatives symlink collapsed
    assert system.conda == [] and system.bundled is None and system.loaded is None


def test_cudnn_probe_falls_back_to_header_of_same_major(tmp_path: Path) -> None:
    system, _ = cudnn.probe(fake_cudnn_machine(tmp_path, lib_version=None, header="9.10.2"))
    ldc = [c for c in system.system if c.source == "ldconfig"]
    assert [c.version for c in ldc] == ["9.10.2"]


def test_cudnn_probe_header_of_other_major_is_not_borrowed(tmp_path: Path) -> None:
    system, _ = cudnn.probe(fake_cudnn_machine(tmp_path, lib_version=None, header="8.9.7"))
    ldc = [c for c in system.system if c.source == "ldconfig"]
    assert [c.version for c in ldc] == [None]


def test_cudnn_in_toolkit_and_conda(tmp_path: Path) -> None:
    lib64 = tmp_path / "usr" / "local" / "cuda-11.8" / "lib64"
    failing_nvcc(lib64.parent / "bin" / "nvcc")
    (lib64.parent / "version.txt").write_text("CUDA Version 11.8.89\n")
    lib64.mkdir()
    (lib64 / "libcudnn.so.8.9.7").write_bytes(b"\x7fELF")
    (lib64 / "libcudnn.so.8").symlink_to("libcudnn.so.8.9.7")
    (lib64 / "libcudnn.so").symlink_to("libcudnn.so.8")
    conda = tmp_path / "envs" / "dl"
    (conda / "lib").mkdir(parents=True)
    (conda / "lib" / "libcudnn.so.9.1.0").write_bytes(b"\x7fELF")
    (conda / "lib" / "libcudnn.so.9").symlink_to("libcudnn.so.9.1.0")
    (conda / "include").mkdir()
    (conda / "include" / "cudnn_version.h").write_text(CUDNN_VERSION_H.format(major=9, minor=1, patch=0))
    script(tmp_path / "bin" / "ldconfig", "echo '0 libs found in cache'")
    ctx = ctx_for(tmp_path, {"PATH": str(tmp_path / "bin"), "CONDA_PREFIX": str(conda)})
    result, issues = cudnn.probe(ctx)
    assert issues == []
    assert [(c.version, c.source) for c in result.system] == [("8.9.7", "toolkit")]
    assert result.system[0].path == str(lib64 / "libcudnn.so.8")
    assert sorted((c.version, c.path) for c in result.conda) == [
        ("9.1.0", str(conda / "include" / "cudnn_version.h")),
        ("9.1.0", str(conda / "lib" / "libcudnn.so.9")),
    ]
    assert {c.source for c in result.conda} == {"conda"}


@pytest.mark.parametrize("body, kind", [("exit 1", "error"), ("exec sleep 30", "timeout")])
def test_cudnn_probe_with_broken_ldconfig(tmp_path: Path, body: str, kind: str) -> None:
    script(tmp_path / "bin" / "ldconfig", body)
    ctx = ctx_for(tmp_path, {"PATH": str(tmp_path / "bin")}, timeout=0.5)
    result, issues = cudnn.probe(ctx)
    assert result.system == []
    assert [i.kind for i in issues] == [kind] and issues[0].probe == "cudnn"


def test_cudnn_probe_without_ldconfig(tmp_path: Path) -> None:
    result, issues = cudnn.probe(ctx_for(tmp_path, {}))
    assert result.system == []
    assert [i.kind for i in issues] == ["not-found"]


def test_cudnn_probe_real_machine() -> None:
    result, issues = cudnn.probe(ProbeContext())
    assert [i for i in issues if i.kind != "not-found"] == []
    for copy in result.system + result.conda:
        assert copy.path and copy.source in ("ldconfig", "header", "toolkit", "conda")
