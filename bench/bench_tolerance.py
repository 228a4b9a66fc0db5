"""Evidence for smoke's correctness tolerances: the error of *correct* products, measured.

For each dtype the smoke test checks, computes the same thing the in-target script does (a K=4096 product,
its 64x64 corner against a float64 reference, max |error| / max |reference|) on this machine's torch (CPU),
over many seeds, and prints the distribution beside the bound theory gives for the output's rounding
(half an ulp of the largest element: 2^-9 for bf16, 2^-11 for fp16, 2^-11 for tf32's inputs, 2^-24 for fp32)
and beside envcheck's tolerance. A tolerance is sound when it sits well above every measured correct product
and the theory bound, and below the error a systematic 2 % fault gives (0.02).

    bench/.venv-torch/bin/python bench/bench_tolerance.py --seeds 30
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

K, SLICE = 4096, 64
THEORY = {"fp32": 2.0 ** -24, "tf32": 2.0 ** -11, "fp16": 2.0 ** -11, "bf16": 2.0 ** -9}


def max_rel_error(torch, dtype, seed: int, fault: float = 1.0) -> float:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(SLICE, K, generator=gen).to(dtype)
    b = torch.randn(K, SLICE, generator=gen).to(dtype)
    got = (torch.matmul(a, b) * fault).to(dtype).double()
    ref = a.double() @ b.double()
    return float((got - ref).abs().max()) / float(ref.abs().max())


def main() -> None:
    import torch

    from envcheck.smoke.host import TOLERANCE

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=30)
    args = parser.parse_args()
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    print(f"torch {torch.__version__} on CPU, K={K}, {SLICE}x{SLICE} slice, {args.seeds} seeds")
    print(f"{'dtype':<6}{'median':>11}{'max':>11}{'theory':>11}{'tolerance':>11}{'2% fault':>11}  verdict")
    for name, dtype in dtypes.items():
        errors = [max_rel_error(torch, dtype, seed) for seed in range(args.seeds)]
        faulty = min(max_rel_error(torch, dtype, seed, fault=1.02) for seed in range(min(5, args.seeds)))
        tol = TOLERANCE[name]
        ok = max(errors) < tol and THEORY[name] < tol and faulty > tol
        print(f"{name:<6}{statistics.median(errors):>11.2e}{max(errors):>11.2e}{THEORY[name]:>11.2e}{tol:>11.2e}"
              f"{faulty:>11.2e}  {'sound' if ok else 'RECONSIDER'}")


if __name__ == "__main__":
    main()
