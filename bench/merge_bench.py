#!/usr/bin/env python3
"""Time and peak memory of `tracepack merge` and `tracepack pack` on large traces.

A project with thousands of test cases has one trace per test: they are
merged (`tracepack merge`) and packed (`tracepack pack`). This script writes
such traces itself, following docs/trace-format.md (the tracer folds repeats
of an access by one process into one record and a count, and so do these
files), and measures each command's wall time and peak resident set.

(a) merge: --traces traces (default 100), one per test case. Each test runs 4
    processes and touches --files-per-test distinct files (default 300): 5 of
    6 from a pool shared by all tests (the standard library, the package under
    test), each test's window over the pool shifted a little, the rest its own
    files. Every file is looked up (stat) and read, a few times each.
(b) pack: one trace of --processes processes (default 10,000), each making
    --accesses accesses (default 100, so 1,000,000 in all) over 5 of --paths
    real files (default 1,000) that the script creates in a project directory,
    packed with `tracepack pack --spec SPEC -f dir`.
(c) scaling: (a) and (b) again with 10x the accesses and the same distinct
    paths (repeat counts 10x, then 10x the processes or tests), and with 10x
    the distinct paths. Memory that follows distinct paths stays flat in the
    first rows and grows in the last.

Peak memory is ru_maxrss of the tracepack process tree as GNU time reports it
(/usr/bin/time -f %M): time forks and execs tracepack, so the only floor is
time's own few hundred KiB (the "floor" line measures it with `tracepack
--version`). A Python harness cannot get this number itself: a spawned child
inherits the harness's high-water mark across exec (see bench/memory.py).
Wall times are single runs, noisy on a shared machine; memory is not.

Standard library only. See bench/README.md and docs/performance.md,
"Merging and packing large traces".
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIME = "/usr/bin/time"
O_RDONLY_CLOEXEC = 0o2000000
HEADER = ('{{"format":"tracepack-trace","version":1,"tracepack":"0.1.0","label":"{label}",'
          '"kernel":"6.1.0","arch":"x86_64","argv":["./run-test","{label}"],"cwd":"{cwd}",'
          '"start_time":"2026-12-01T10:00:00.000000Z","env_names":["HOME","LANG","PATH"]}}\n')
END = '{"t":"end","end":2.5,"exit_code":0,"signal":0,"timed_out":false}\n'


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracepack", default=os.path.join(REPO_DIR, "build", "tracepack"),
                   help="tracepack binary (default: build/tracepack; use a Release build)")
    p.add_argument("--traces", type=int, default=100, help="(a) traces merged (default 100)")
    p.add_argument("--files-per-test", type=int, default=300, help="(a) distinct files per test (default 300)")
    p.add_argument("--processes", type=int, default=10000, help="(b) processes (default 10000)")
    p.add_argument("--accesses", type=int, default=100, help="(b) accesses per process (default 100)")
    p.add_argument("--paths", type=int, default=1000, help="(b) distinct files (default 1000)")
    p.add_argument("--only", choices=["merge", "pack"], help="run one part only")
    p.add_argument("--no-scaling", action="store_true", help="skip (c)")
    p.add_argument("--work", metavar="DIR", help="work in DIR (emptied first, then left) instead of a "
                   "temporary directory: outputs then compare between two builds by their sha256")
    return p.parse_args()


class TraceFile:
    """Writes one trace in the tracer's order: process, exec, accesses, repeats, exit."""

    def __init__(self, path, label, cwd):
        self.f = open(path, "w", buffering=1 << 20)
        self.f.write(HEADER.format(label=label, cwd=cwd))
        self.cwd = cwd
        self.next_access = 1
        self.records = 0
        self.accesses = 0

    def process(self, pid_id, parent, program, accesses):
        """accesses: (kind, syscall, flags, path, count) of one process, each distinct."""
        w = self.f.write
        pid = 1000 + pid_id
        w(f'{{"t":"process","id":{pid_id},"pid":{pid},"parent":{parent},"start":0.001}}\n')
        w(f'{{"t":"exec","process":{pid_id},"time":0.002,"path":"{program}","exe":"{program}",'
          f'"argv":["{program}"],"cwd":"{self.cwd}","interpreters":[]}}\n')
        repeats = []
        for kind, syscall, flags, path, count in accesses:
            flag = f',"flags":{flags}' if flags else ""
            w(f'{{"t":"access","id":{self.next_access},"process":{pid_id},"tid":{pid},'
              f'"syscall":"{syscall}","kind":"{kind}","path":"{path}","resolved":"{path}"'
              f'{flag},"observed":true,"type":"regular"}}\n')
            if count > 1:
                repeats.append((self.next_access, count))
            self.next_access += 1
            self.accesses += count
        for access, count in repeats:
            w(f'{{"t":"repeat","access":{access},"count":{count}}}\n')
        w(f'{{"t":"exit","process":{pid_id},"end":2.0,"exit_code":0}}\n')
        self.records += len(accesses)

    def close(self):
        self.f.write(END)
        self.f.close()


def stat_and_read(path, count):
    """A file looked up and then read, `count` accesses in all."""
    half = max(count // 2, 1)
    return [("stat", "newfstatat", 0, path, half), ("read", "openat", O_RDONLY_CLOEXEC, path, max(count - half, 1))]


def write_merge_inputs(directory, traces, files_per_test, repeat):
    """(a)'s traces; returns their paths, the access records, accesses and distinct paths written."""
    shared = files_per_test * 5 // 6
    pool = shared * 2
    files, records, accesses, distinct = [], 0, 0, set()
    for t in range(traces):
        label = f"tests/test_{t:05}.py::test_case"
        path = os.path.join(directory, f"test_{t:05}.jsonl")
        trace = TraceFile(path, label, "/home/ci/project")
        names = [f"/usr/lib/python3.11/pkg_{(t * 3 + k) % pool:05}/module.py" for k in range(shared)]
        names += [f"/home/ci/project/tests/data/test_{t:05}/file_{k:04}.txt" for k in range(files_per_test - shared)]
        distinct.update(names)
        for p in range(4):  # a test runner and three workers, each with a quarter of the files
            mine = names[p::4]
            accesses_of = [a for i, n in enumerate(mine) for a in stat_and_read(n, repeat * (2 + (i + t) % 5))]
            trace.process(p + 1, 0 if p == 0 else 1, "/usr/bin/python3.11", accesses_of)
        trace.close()
        files.append(path)
        records += trace.records
        accesses += trace.accesses
    return files, records, accesses, len(distinct)


def make_project(directory, paths):
    """The spec and `paths` small files of (b), in a project directory; returns the spec."""
    data = os.path.join(directory, "data")
    for d in range((paths + 99) // 100):
        os.makedirs(os.path.join(data, f"d{d:03}"), exist_ok=True)
    for i in range(paths):
        with open(os.path.join(data, f"d{i // 100:03}", f"f{i:05}.txt"), "w") as f:
            f.write(f"file {i}\n" * 8)
    spec = os.path.join(directory, "spec.yaml")
    with open(spec, "w") as f:
        f.write("name: many-processes\ntests:\n  - name: workers\n    run: [./run-workers]\n"
                "output:\n  path: bundle\n  format: dir\n")
    return spec


def write_pack_input(path, project, processes, accesses, paths):
    """(b)'s trace: 5 files per process, each looked up and read; returns (records, accesses)."""
    trace = TraceFile(path, "many processes", project)
    per_record = max(accesses // 10, 1)
    for i in range(processes):
        names = [f"{project}/data/d{n // 100:03}/f{n:05}.txt" for n in ((i * 5 + j) % paths for j in range(5))]
        trace.process(i + 1, 0 if i == 0 else 1, "/usr/bin/worker",
                      [a for n in names for a in stat_and_read(n, 2 * per_record)])
    trace.close()
    return trace.records, trace.accesses


def measure(argv):
    """Runs argv under GNU time; returns (seconds, peak KiB)."""
    # Modification times clamped, so that a bundle's manifest depends on its inputs only.
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    with tempfile.NamedTemporaryFile("r") as out:
        result = subprocess.run([TIME, "-f", "%e %M", "-o", out.name] + argv, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if result.returncode != 0:
            sys.exit(f"merge_bench.py: {' '.join(argv)}: exit status {result.returncode}\n"
                     f"{result.stderr.decode(errors='replace')}")
        seconds, kib = out.read().split()[-2:]
    return float(seconds), int(kib)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:16]


def run_merge(tracepack, work, name, traces, files_per_test, repeat):
    directory = os.path.join(work, name)
    os.makedirs(directory, exist_ok=True)
    inputs, records, accesses, distinct = write_merge_inputs(directory, traces, files_per_test, repeat)
    output = os.path.join(work, name + ".merged.jsonl")
    seconds, kib = measure([tracepack, "merge", "-o", output] + inputs)
    size = sum(os.path.getsize(f) for f in inputs) / 1e6
    shutil.rmtree(directory)
    digest = sha256_of(output)
    os.unlink(output)
    return {"what": f"merge {traces:,} traces", "records": records, "accesses": accesses,
            "paths": distinct, "input_mb": size, "seconds": seconds, "kib": kib,
            "output": digest}


def run_pack(tracepack, work, name, processes, accesses, paths):
    project = os.path.join(work, name)
    os.makedirs(project, exist_ok=True)
    spec = make_project(project, paths)
    trace = os.path.join(work, name + ".jsonl")
    records, total = write_pack_input(trace, project, processes, accesses, paths)
    output = os.path.join(work, name + ".bundle")
    seconds, kib = measure([tracepack, "pack", "--spec", spec, "-f", "dir", "-o", output, trace])
    manifest = sha256_of(os.path.join(output, ".tracepack", "manifest.json"))
    size = os.path.getsize(trace) / 1e6
    shutil.rmtree(output)
    shutil.rmtree(project)
    os.unlink(trace)
    return {"what": f"pack {processes:,} processes", "records": records, "accesses": total,
            "paths": paths, "input_mb": size, "seconds": seconds, "kib": kib, "output": manifest}


def table(title, rows, base):
    print(f"\n{title}\n")
    print("| run | access records | accesses | distinct paths | input | wall time | peak RSS | RSS ÷ first row | output sha256 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        size = f"{r['input_mb']:.1f} MB"
        print(f"| {r['what']} | {r['records']:,} | {r['accesses']:,} | {r['paths']:,} | {size} | "
              f"{r['seconds']:.2f} s | {r['kib'] / 1024:.1f} MiB | ×{r['kib'] / base['kib']:.2f} | {r['output']} |")


def main():
    args = parse_args()
    if not os.access(TIME, os.X_OK):
        sys.exit(f"merge_bench.py: {TIME} (GNU time) is needed to read the peak memory")
    tracepack = os.path.abspath(args.tracepack)
    _, floor = measure([tracepack, "--version"])
    print(f"tracepack: {tracepack}; floor (`tracepack --version`): {floor / 1024:.1f} MiB; "
          f"load average {os.getloadavg()[0]:.2f}")
    # Under /tmp is fine: the spec's directory is the project, so its files are packed.
    with tempfile.TemporaryDirectory(prefix="tracepack-merge-bench.") as temporary:
        work = temporary
        if args.work:
            work = os.path.abspath(args.work)
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
        if args.only != "pack":
            n, f = args.traces, args.files_per_test
            rows = [run_merge(tracepack, work, "merge", n, f, 1)]
            if not args.no_scaling:
                rows.append(run_merge(tracepack, work, "merge-repeats", n, f, 10))
                rows.append(run_merge(tracepack, work, "merge-tests", n * 10, f, 1))
                rows.append(run_merge(tracepack, work, "merge-files", n, f * 10, 1))
            table("(a) merge: traces of 4 processes each; rows 2-4: 10x the repeats, 10x the tests, "
                  "10x the files per test", rows, rows[0])
        if args.only != "merge":
            p, a, d = args.processes, args.accesses, args.paths
            rows = [run_pack(tracepack, work, "pack", p, a, d)]
            if not args.no_scaling:
                rows.append(run_pack(tracepack, work, "pack-repeats", p, a * 10, d))
                rows.append(run_pack(tracepack, work, "pack-processes", p * 10, a, d))
                rows.append(run_pack(tracepack, work, "pack-paths", p, a, d * 10))
            table("(b) pack -f dir: rows 2-4: 10x the repeats, 10x the processes, 10x the distinct paths",
                  rows, rows[0])
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
