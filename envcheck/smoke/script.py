"""Runs INSIDE the target interpreter for `envcheck smoke`: real GPU work, timed with CUDA events.

Standard library plus the target's own torch; prints one JSON object after a marker line and never
raises. It only measures (milliseconds, errors, sizes); the host computes rates and judges them, and
words why nothing ran ("skip": {"why": "cpu-only" | "no-torch" | "no-cuda" | "no-device", ...}).
Argument: a JSON config {"devices": [0, 1] | null, "multi": bool, "plan": {KEY: {"sizes": {"bf16": 8192, ...},
"iters": {"bf16": 20, ...}}}, "bandwidth_mib": 256, "allreduce_mib": 1024}. A GPU takes the plan of its index
("0"), else of its name as torch gives it ("name:NVIDIA H100 80GB HBM3"), else "*"; a plan may give one "n" for
every dtype instead of "sizes" (4096 when it gives neither).
"""

import json
import sys
import time
import traceback

MARKER = "@@ENVCHECK-SMOKE-JSON@@"
DTYPES = ("fp32", "tf32", "fp16", "bf16")
#: the rows and columns of each product checked against a float64 reference
CHECK_SLICE = 64


def error_text(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def timed_ms(torch, fn, iters, device):
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize(device)
    return start.elapsed_time(end)


def matmul(torch, device, dtype_name, n, iters):
    dtype = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype_name]
    torch.backends.cuda.matmul.allow_tf32 = dtype_name == "tf32"
    gen = torch.Generator(device=device).manual_seed(1234)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    out = {}
    c = torch.empty(n, n, device=device, dtype=dtype)
    for _ in range(3):  # warm-up: cuBLAS picks its kernel, clocks ramp
        torch.matmul(a, b, out=c)
    torch.cuda.synchronize(device)
    out["ms"] = timed_ms(torch, lambda: torch.matmul(a, b, out=c), iters, device)
    out["n"], out["iters"] = n, iters
    k = min(CHECK_SLICE, n)
    ref = a[:k].double() @ b[:, :k].double()
    got = c[:k, :k].double()
    scale = float(ref.abs().max().item()) or 1.0
    out["max_rel_error"] = float((got - ref).abs().max().item()) / scale
    out["finite"] = bool(torch.isfinite(c[:k, :k]).all().item())
    torch.backends.cuda.matmul.allow_tf32 = False
    return out


def bandwidth(torch, device, mib):
    nbytes = mib * 1024 * 1024
    host = torch.empty(nbytes, dtype=torch.uint8, pin_memory=True)
    dev = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dev2 = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dev.copy_(host, non_blocking=True)
    torch.cuda.synchronize(device)
    res = {"bytes": nbytes}
    res["h2d_ms"] = timed_ms(torch, lambda: dev.copy_(host, non_blocking=True), 5, device) / 5
    res["d2h_ms"] = timed_ms(torch, lambda: host.copy_(dev, non_blocking=True), 5, device) / 5
    res["d2d_ms"] = timed_ms(torch, lambda: dev2.copy_(dev), 5, device) / 5
    return res


def plan_of(plans, index, name):
    return plans.get(str(index)) or plans.get("name:%s" % name) or plans.get("*") or {}


def size_of(plan, dtype):
    sizes = plan.get("sizes") or {}
    return int(sizes.get(dtype) or plan.get("n") or 4096)


def one_device(torch, index, plans, bandwidth_mib):
    d = {"index": index}
    try:
        t0 = time.perf_counter()
        torch.zeros(1, device=index)
        torch.cuda.synchronize(index)
        d["init_s"] = time.perf_counter() - t0
        props = torch.cuda.get_device_properties(index)
        d["name"], d["capability"] = props.name, "%d.%d" % (props.major, props.minor)
        d["memory_total"] = props.total_memory
        d["multi_processor_count"] = props.multi_processor_count
        free, total = torch.cuda.mem_get_info(index)
        d["memory_free"] = free
        plan = plan_of(plans, index, props.name)
        probe = torch.full((64, 1024, 1024), 7, dtype=torch.uint8, device=index)  # 64 MiB
        d["alloc_ok"] = bool((probe == 7).all().item())
        del probe
        d["matmul"] = {}
        for name in DTYPES:
            iters = plan.get("iters", {}).get(name)
            if not iters:
                continue
            if name == "bf16" and props.major < 8:
                continue
            try:
                d["matmul"][name] = matmul(torch, index, name, size_of(plan, name), iters)
            except Exception as exc:
                d["matmul"][name] = {"error": error_text(exc)}
        if bandwidth_mib:
            try:
                d["bandwidth"] = bandwidth(torch, index, bandwidth_mib)
            except Exception as exc:
                d["bandwidth"] = {"error": error_text(exc)}
    except Exception as exc:
        d["error"] = error_text(exc)
    return d


def multi_gpu(torch, devices, allreduce_mib=64):
    res = {"peer": {}}
    for i in devices:
        for j in devices:
            if i != j:
                res["peer"]["%d-%d" % (i, j)] = bool(torch.cuda.can_device_access_peer(i, j))
    try:
        import torch.cuda.nccl as nccl
        count = int(allreduce_mib) * 1024 * 1024 // 4  # fp32 elements per GPU
        tensors = [torch.ones(count, device=i) for i in devices]
        nccl.all_reduce(tensors)  # warm-up, and NCCL communicator set-up
        for i in devices:
            torch.cuda.synchronize(i)
        t0 = time.perf_counter()
        for _ in range(5):
            nccl.all_reduce(tensors)
        for i in devices:
            torch.cuda.synchronize(i)
        res["allreduce_s"] = (time.perf_counter() - t0) / 5
        res["allreduce_bytes"] = count * 4
        res["allreduce_ok"] = bool((tensors[0][:16] == float(len(devices)) ** 6).all().item())
    except Exception as exc:
        res["allreduce_error"] = error_text(exc)
    return res


def run(cfg):
    out = {"ok": True, "skip": None, "devices": []}
    t0 = time.perf_counter()
    try:
        import torch
    except BaseException as exc:
        out["skip"] = {"why": "no-torch", "error": error_text(exc)}
        return out
    out["import_s"] = time.perf_counter() - t0
    out["torch"] = torch.__version__
    if not getattr(torch.version, "cuda", None):
        out["skip"] = {"why": "cpu-only", "version": torch.__version__}
        return out
    try:
        available = torch.cuda.is_available()
    except Exception as exc:
        available = False
        out["cuda_error"] = error_text(exc)
    if not available:
        out["skip"] = {"why": "no-cuda"}
        return out
    count = torch.cuda.device_count()
    devices = cfg.get("devices")
    devices = [i for i in (devices if devices is not None else range(count)) if 0 <= i < count]
    if not devices:
        out["skip"] = {"why": "no-device", "count": count}
        return out
    plans = cfg.get("plan") or {}
    for i in devices:
        out["devices"].append(one_device(torch, i, plans, cfg.get("bandwidth_mib", 256)))
    if cfg.get("multi", True) and len(devices) > 1:
        out["multi"] = multi_gpu(torch, devices, cfg.get("allreduce_mib", 64))
    out["total_s"] = time.perf_counter() - t0
    return out


def main(argv):
    try:
        cfg = json.loads(argv[1]) if len(argv) > 1 else {}
        out = run(cfg)
    except BaseException as exc:
        out = {"ok": False, "error": error_text(exc), "trace": traceback.format_exc()[-2000:]}
    sys.stdout.write("\n" + MARKER + "\n" + json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
