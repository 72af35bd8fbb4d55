#!/usr/bin/env python3
"""Times `tracepack pack` and `tracepack merge` on real traces.

(a) Pack throughput. A traced run of Debian's Python reads every file under
    the --roots (by default /usr/lib/python3.11 and
    /usr/lib/python3/dist-packages, about 4,500 files). `tracepack pack`
    turns that trace into a tar.zst; the baseline packs the very same entries
    (taken from the bundle's manifest) with
    `tar -cf - --no-recursion -C / -T LIST | zstd -T0 -q -o OUT`.
    Both use zstd's default level and every CPU. The two are interleaved, in
    an order that alternates between rounds, after one warm-up round of each
    (so both read from the page cache). Reported: the median wall time of
    each, the input bytes per second, and the ratio of throughputs
    tracepack / (tar + zstd): target >= 1.0. tracepack does more per file
    (lstat for the plan, sha256 for the manifest), the baseline spends a pipe.

(b) Merging. --traces runs of Python, each importing json and one other
    standard-library module (a different one per run), are traced, and
    `tracepack merge` of all of them is timed; its peak resident set is the
    VmHWM polled from /proc while it runs (ru_maxrss is no use here: the
    kernel carries the spawning harness's high-water mark across exec).

Prints a Markdown report on stdout, the load average before and after (the
numbers mean little on a busy machine), and exits 1 when a command fails.
Standard library only. Results and method: docs/performance.md, "Packing".
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from procstat import peak_rss_kib

PYTHON = "/usr/bin/python3"
DEFAULT_ROOTS = ["/usr/lib/python3.11", "/usr/lib/python3/dist-packages"]
POLL_SECONDS = 0.002

# Reads every file under the roots given as arguments, as an application that
# loads its data would.
READ_TREE = """
import os, sys
for root in sys.argv[1:]:
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(d, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, 'rb') as f:
                    while f.read(1 << 20):
                        pass
"""

# Modules a merge input imports, one per trace; a failed import is fine.
IMPORT_ONE = "import json, sys\ntry:\n    __import__(sys.argv[1])\nexcept Exception:\n    pass\n"
SKIP_MODULES = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "ensurepip", "lib2to3",
                "pydoc_data", "venv", "msilib", "winreg", "winsound", "msvcrt", "nt", "_winapi"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracepack", default="build/tracepack", help="the tracepack program")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--roots", nargs="+", default=DEFAULT_ROOTS, help="trees the traced run reads")
    parser.add_argument("--traces", type=int, default=100, help="traces merged in (b) (default 100)")
    parser.add_argument("--only", choices=["pack", "merge"], help="run one part only")
    parser.add_argument("--keep", metavar="DIR", help="write traces and bundles here and keep them")
    return parser.parse_args()


def check(argv, **kwargs):
    """Runs argv; exits with its stderr when it fails."""
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    if result.returncode != 0:
        sys.exit(f"pack_bench.py: {' '.join(argv)}: exit status {result.returncode}\n"
                 f"{result.stderr.decode(errors='replace')}")


def timed(argv, shell=False):
    """Wall seconds of one run of argv (a shell command line when shell)."""
    start = time.perf_counter()
    check(argv if not shell else ["/bin/sh", "-c", argv])
    return time.perf_counter() - start


def timed_with_peak(argv):
    """Wall seconds and polled VmHWM (KiB) of one run of argv."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    hwm = 0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        # VmHWM only grows: the last reading before exit is close to the peak.
        hwm = max(hwm, peak_rss_kib(pid) or 0)
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"pack_bench.py: {' '.join(argv)}: exit status {os.waitstatus_to_exitcode(status)}")
    return seconds, hwm


def trace(tracepack, trace_file, label, command):
    check([tracepack, "trace", "-q", "--label", label, "-o", trace_file, "--"] + command)


def bundle_entries(bundle):
    """The manifest's entries of a tar.zst bundle."""
    manifest = subprocess.run(["tar", "-xOf", bundle, ".tracepack/manifest.json"], check=True,
                              stdout=subprocess.PIPE).stdout
    return json.loads(manifest)["entries"]


def bench_pack(args, tracepack, work):
    trace_file = os.path.join(work, "tree.jsonl")
    trace(tracepack, trace_file, "read-tree", [PYTHON, "-c", READ_TREE] + args.roots)
    bundle = os.path.join(work, "tracepack.tar.zst")
    baseline = os.path.join(work, "baseline.tar.zst")
    entries_list = os.path.join(work, "entries.txt")
    pack = [tracepack, "pack", "-o", bundle, trace_file]
    check(pack)  # warm-up, and the entry list for the baseline
    entries = bundle_entries(bundle)
    with open(entries_list, "w") as f:
        f.writelines(e["path"][1:] + "\n" for e in entries)
    files = [e for e in entries if e["type"] == "regular"]
    input_bytes = sum(e["size"] for e in files)
    tar_zstd = (f"tar -cf - --no-recursion -C / -T {entries_list} | "
                f"zstd -T0 -q -f -o {baseline}")
    timed(tar_zstd, shell=True)  # warm-up
    samples = {"tracepack": [], "tar_zstd": []}
    for round_index in range(args.rounds):
        order = ["tracepack", "tar_zstd"] if round_index % 2 == 0 else ["tar_zstd", "tracepack"]
        for variant in order:
            if variant == "tracepack":
                samples[variant].append(timed(pack))
            else:
                samples[variant].append(timed(tar_zstd, shell=True))
    return {"entries": len(entries), "files": len(files), "input_bytes": input_bytes,
            "tracepack_bytes": os.path.getsize(bundle), "baseline_bytes": os.path.getsize(baseline),
            "samples": samples}


def stdlib_modules(count):
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP_MODULES)
    if len(names) < count:
        sys.exit(f"pack_bench.py: only {len(names)} standard-library modules to import, {count} asked")
    step = len(names) / count
    return [names[int(i * step)] for i in range(count)]


def bench_merge(args, tracepack, work):
    traces = []
    for i, module in enumerate(stdlib_modules(args.traces)):
        path = os.path.join(work, f"import-{i:03d}.jsonl")
        trace(tracepack, path, f"import-{module}", [PYTHON, "-c", IMPORT_ONE, module])
        traces.append(path)
    merged = os.path.join(work, "merged.jsonl")
    merge = [tracepack, "merge", "-o", merged] + traces
    timed_with_peak(merge)  # warm-up
    samples = [timed_with_peak(merge) for _ in range(args.rounds)]
    input_lines = 0
    for path in traces:
        with open(path, "rb") as f:
            input_lines += sum(1 for _ in f)
    return {"traces": len(traces), "input_bytes": sum(os.path.getsize(p) for p in traces),
            "input_lines": input_lines, "merged_bytes": os.path.getsize(merged),
            "seconds": [s for s, _ in samples], "hwm_kib": [h for _, h in samples]}


def machine():
    cpus = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return f"{cpus} CPUs ({model}), {mem_kib / 1048576:.0f} GiB, Linux {platform.release()}"


def load():
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def report_pack(r):
    tp = statistics.median(r["samples"]["tracepack"])
    tz = statistics.median(r["samples"]["tar_zstd"])
    mb = r["input_bytes"] / 1e6
    ratios = [b / a for a, b in zip(r["samples"]["tracepack"], r["samples"]["tar_zstd"])]
    ratio = tz / tp
    print(f"### (a) pack: {r['entries']:,} entries, {r['files']:,} files, {mb:.1f} MB\n")
    print("| variant | median wall time | throughput | output |")
    print("|---|---:|---:|---:|")
    print(f"| `tracepack pack -o X.tar.zst TRACE` | {tp:.2f} s | {mb / tp:.1f} MB/s | "
          f"{r['tracepack_bytes'] / 1e6:.1f} MB |")
    print(f"| `tar -cf - --no-recursion -T LIST \\| zstd -T0` | {tz:.2f} s | {mb / tz:.1f} MB/s | "
          f"{r['baseline_bytes'] / 1e6:.1f} MB |")
    verdict = "met" if ratio >= 1.0 else f"missed by {1.0 - ratio:.2f}"
    print(f"\nThroughput ratio tracepack / (tar + zstd): **{ratio:.2f}** "
          f"(per round {min(ratios):.2f}–{max(ratios):.2f}); target ≥ 1.0: {verdict}.")
    print("Per-round seconds, tracepack: " + ", ".join(f"{s:.2f}" for s in r["samples"]["tracepack"]) +
          "; tar + zstd: " + ", ".join(f"{s:.2f}" for s in r["samples"]["tar_zstd"]) + "\n")


def report_merge(r):
    print(f"### (b) merge: {r['traces']} traces, {r['input_bytes'] / 1e6:.1f} MB, "
          f"{r['input_lines']:,} lines\n")
    print("| median wall time | range | peak RSS (VmHWM), max over rounds | merged trace |")
    print("|---:|---:|---:|---:|")
    print(f"| {statistics.median(r['seconds']):.2f} s | {min(r['seconds']):.2f}–{max(r['seconds']):.2f} s | "
          f"{max(r['hwm_kib']) / 1024:.1f} MiB | {r['merged_bytes'] / 1e6:.1f} MB |\n")


def main():
    args = parse_args()
    tracepack = os.path.abspath(args.tracepack)
    for program in (tracepack, PYTHON):
        if not os.access(program, os.X_OK):
            sys.exit(f"pack_bench.py: {program}: not found")
    for program in ("tar", "zstd"):
        if shutil.which(program) is None:
            sys.exit(f"pack_bench.py: {program}: not in PATH")
    print(f"pack_bench.py, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"{machine()}; {args.rounds} rounds")
    print(f"load average before: {load()}\n")
    with tempfile.TemporaryDirectory(prefix="tracepack-pack-bench.") as tmp:
        work = args.keep or tmp
        os.makedirs(work, exist_ok=True)
        if args.only in (None, "pack"):
            report_pack(bench_pack(args, tracepack, work))
        if args.only in (None, "merge"):
            report_merge(bench_merge(args, tracepack, work))
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
