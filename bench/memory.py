#!/usr/bin/env python3
"""Measures how the tracer's memory grows with the size of a run.

Runs bench/many_processes twice under `tracepack trace`: with 10,000
processes (each making 100 file accesses, ~1,000,000 in all, over 1,000
distinct paths) and with ten times fewer processes (same paths). For each it
reports the tracer's peak resident set (VmHWM of the tracer process, polled
from /proc while it runs, and the ru_maxrss that wait4 returns, which also
covers the tracees) and the size of the trace. A tracer whose memory follows
distinct paths rather than accesses shows about the same peak for both runs;
the trace itself grows with the number of processes, since accesses are
recorded per process.

Standard library only. See bench/README.md.
"""

import argparse
import os
import sys
import tempfile
import time

from procstat import peak_rss_kib

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLL_SECONDS = 0.02


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracepack", default=os.path.join(REPO_DIR, "build", "tracepack"),
                   help="tracepack binary (default: build/tracepack)")
    p.add_argument("--bench-bin", help="directory holding many_processes "
                   "(default: bench/ beside the tracepack binary or its parent)")
    p.add_argument("--processes", type=int, default=10000, help="large run (default 10000)")
    p.add_argument("--accesses", type=int, default=100, help="per process (default 100)")
    p.add_argument("--paths", type=int, default=1000, help="distinct paths (default 1000)")
    p.add_argument("--keep", metavar="DIR", help="keep the traces in DIR")
    return p.parse_args()


def find_program(args):
    base = os.path.dirname(os.path.abspath(args.tracepack))
    dirs = [args.bench_bin] if args.bench_bin else [os.path.join(base, "bench"),
                                                     os.path.join(base, "..", "bench")]
    for d in dirs:
        path = os.path.normpath(os.path.join(d, "many_processes"))
        if os.access(path, os.X_OK):
            return path
    sys.exit("memory.py: many_processes not built (see --bench-bin)")


def run(argv):
    """Runs argv (stdout discarded); returns exit code, seconds, VmHWM KiB, ru_maxrss KiB."""
    actions = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    hwm = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        # VmHWM only grows, so the last reading before exit is close to the peak.
        hwm = max(hwm, peak_rss_kib(pid) or 0)
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), seconds, hwm, usage.ru_maxrss


def measure(args, program, processes, trace):
    workload = [program, str(processes), str(args.accesses), str(args.paths)]
    code, plain_s, _, plain_rss = run(workload)
    if code != 0:
        sys.exit(f"memory.py: {' '.join(workload)}: exit status {code}")
    tracer = [os.path.abspath(args.tracepack), "trace", "-q", "-o", trace, "--"]
    code, traced_s, hwm, tree_rss = run(tracer + workload)
    if code != 0:
        sys.exit(f"memory.py: traced run exited with status {code}")
    with open(trace, "rb") as f:
        records = sum(1 for _ in f)
    return {"processes": processes, "accesses": processes * args.accesses,
            "untraced_s": plain_s, "untraced_maxrss": plain_rss, "traced_s": traced_s,
            "tracer_hwm": hwm, "tree_maxrss": tree_rss,
            "trace_bytes": os.path.getsize(trace), "trace_records": records}


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def report(args, rows):
    print(f"many_processes: {args.accesses} accesses per process over {args.paths} "
          "distinct paths\n")
    print("| processes | accesses | untraced | traced | tracer peak RSS (VmHWM) | "
          "ru_maxrss, tracer + tracees | untraced ru_maxrss | trace size | trace lines |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['processes']:,} | {r['accesses']:,} | {r['untraced_s']:.1f} s | "
              f"{r['traced_s']:.1f} s | {mib(r['tracer_hwm'])} | {mib(r['tree_maxrss'])} | "
              f"{mib(r['untraced_maxrss'])} | {r['trace_bytes'] / 1e6:.1f} MB | "
              f"{r['trace_records']:,} |")
    small, large = rows
    print(f"\n{large['processes'] // small['processes']}× the processes and accesses: "
          f"tracer peak RSS ×{large['tracer_hwm'] / max(small['tracer_hwm'], 1):.2f}, "
          f"trace size ×{large['trace_bytes'] / max(small['trace_bytes'], 1):.2f}")
    print("\nru_maxrss has a floor: the kernel carries a process's high-water mark"
          " across exec, so it starts at this harness's own RSS (the spawned child"
          " begins as a copy of it). VmHWM, read from /proc, is the tracer's own.")


def main():
    args = parse_args()
    program = find_program(args)
    with tempfile.TemporaryDirectory(prefix="tracepack-memory.") as tmp:
        out = args.keep or tmp
        os.makedirs(out, exist_ok=True)
        rows = [measure(args, program, n, os.path.join(out, f"many-{n}.jsonl"))
                for n in (max(args.processes // 10, 1), args.processes)]
    report(args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
