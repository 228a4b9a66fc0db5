"""Every analyze detector, parser and error signature costs time linear in its input (issue 16).

Each is fed hostile text at 1x and at 8x the size (long lines of a repeated token, and many repeated
lines: an 8,000-row Markdown table once took 30 s, a 12 KB line of library names 44 s) and the cost
ratio must stay far below the 64x of a quadratic. CPU time (``process_time``), best of 3, so that other
work on the machine does not count; a floor absorbs the clock's noise on tiny times.
"""

from __future__ import annotations

import time
from typing import Callable, List

import pytest

from envcheck.analyze import detect
from envcheck.analyze.detect import Block
from envcheck.analyze.merge import Merger
from envcheck.analyze.signatures import load_catalogue, scan

#: linear is ~8x; quadratic ~64x. Past 8x because a pattern with a bounded reach (the macOS one reads up to 3,000
#: characters ahead) does less per attempt near the end of the small input: 16-22x seen on a loaded machine
RATIO = 24
#: tokens that almost match something: library names, paths, table rows, version lists, runs of one character
UNITS = [
    "libcudart.so.", "libcudart.so libcublas.so libcudnn.so libnccl.so ", "libcudnn", "x.so", "x.so: ", "_ZN3c10",
    "torchaudio/", "torchvision/", "flash_attn/x", "vllm_", "/x", "a/", " ", "\t", "1", "1.", "2.1.1, ", "-", ":", "(",
    "| pkg1 | 1.2 |", "|  1    3   0   0  |", "+--+", "NCCL error in: ", "NVRM: Xid (PCI:0000:", "Process 1 has 1 MiB ",
    "Python platform: macOS-14.0-x86_64\n", "Could not find a version that satisfies the requirement torch==2.1.0 "
    "(from versions: ", "Driver Version: 5", "but you have torch 1.", "sm_80 ", "compute_80,", "GPU0 ", "A" * 7,
    "Could not run 'torchvision::nms' with arguments from the 'CUDA' backend ", "system not yet initialized ",
    "PackagesNotFoundError: ", "UnsatisfiableError: ", "undefined symbol: ", "cannot open shared object file ",
]
#: lines that almost start a block: rows of tables, key-value lines, runs of list rows, assignments, commands
LINE_UNITS = [
    "| pkg1 | 1.2 |", "|  1    3   0   0  |", "+--+", "Driver Version: 5", "but you have torch 1.", "a: b ", "key ... ",
    "Requirement already satisfied: torch in /x (from y) (", "- GPU: NVIDIA x ", "export CUDA_HOME=$A", "\tlibx.so",
    "pip install torch==1 ", "    pytorch-1 | b ", "channels:", "  - x", "PyTorch version ", "GPU 0,", "1.", " ",
    "libcudart.so libcublas.so ",
]
SIGNATURES = load_catalogue()


def _cost(func: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        func()
        best = min(best, time.process_time() - start)
    return best


def _long(prefix: str, unit: str, times: int) -> str:
    return prefix + unit * max(1, 4000 * times // len(unit)) + "\n"


def _many(prefix: str, unit: str, times: int) -> str:
    row = unit.strip("\n") + "\n"
    return prefix + row * max(50 * times, 4000 * times // len(row))  # past every bounded quantifier at 1x


def _assert_linear(name: str, run: Callable[[int], object], floor: float) -> None:
    run(1)
    t1 = _cost(lambda: run(1))
    t8 = _cost(lambda: run(8))
    assert t8 < max(t1 * RATIO, floor), (name, t1, t8)


@pytest.mark.parametrize("sig", SIGNATURES, ids=[s.id for s in SIGNATURES])
def test_every_signature_is_linear(sig):
    prefix = (sig.hint or "") + " "  # past the cheap pre-filter, into the regex
    for unit in UNITS:
        for shape in (_long, _many):
            _assert_linear(f"{sig.id} {shape.__name__} {unit[:30]!r}",
                           lambda k: scan(shape(prefix, unit, k), "hostile", [sig]), 0.004)


def _lines(unit: str, times: int, shape: str) -> List[str]:
    if shape == "long":
        return [unit * max(1, 100 * times // len(unit))] * 6
    return [unit.strip("\n")] * (50 * times)


DETECTOR_KINDS = [kind for kind, _fn, _gate in detect.DETECTORS]


@pytest.mark.parametrize("kind", DETECTOR_KINDS)
def test_every_detector_is_linear(kind, monkeypatch):
    """Each detector alone in the loop, so that a rescan cannot hide behind another detector claiming the lines."""
    monkeypatch.setattr(detect, "DETECTORS", tuple(d for d in detect.DETECTORS if d[0] == kind))
    for unit in LINE_UNITS:
        for shape in ("long", "many"):
            _assert_linear(f"{kind} {shape} {unit[:30]!r}", lambda k: detect.detect(_lines(unit, k, shape)), 0.01)


PARSED_KINDS = [k for k in detect.KINDS if k != "log"]


@pytest.mark.parametrize("kind", PARSED_KINDS)
def test_every_parser_is_linear(kind):
    """Each block kind's parser (through the merger, as analyze runs it) on hostile lines it was handed."""
    def run(unit: str, k: int, shape: str) -> None:
        lines = _lines(unit, k, shape)
        Merger().apply_block(Block(kind, "hostile", 0, len(lines), lines))

    for unit in LINE_UNITS:
        for shape in ("long", "many"):
            _assert_linear(f"{kind} {shape} {unit[:30]!r}", lambda k: run(unit, k, shape), 0.01)


def test_a_markdown_table_of_8000_rows_is_read_in_well_under_a_second():
    text = "| Package | Version |\n| --- | --- |\n" + "".join(f"| pkg{i} | 1.{i} |\n" for i in range(8000))
    lines = detect.clean_lines(detect.split_lines(text))
    start = time.process_time()
    blocks = detect.detect(lines)
    assert time.process_time() - start < 1.0  # was 30 s: the nvidia-smi detector reread the rest of the table per row
    assert [b.kind for b in blocks] == ["log"]
