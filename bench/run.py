#!/usr/bin/env python3
"""Times `tracepack trace` against strace on fixed workloads.

Every workload runs untraced (unpinned), under `tracepack trace`, under
`strace -f --seccomp-bpf` and under the same strace pinned to CPU 0 with
taskset. The variants are interleaved: each round runs every workload once
per variant, so slow drifts of the machine (other jobs, frequency changes)
hit all variants alike. Only ratios measured in one run are comparable:
absolute times differ several-fold between otherwise similar machines.

Wall time is measured around the spawn and wait of each command; CPU time is
the user + system time of the command and all its descendants (tracer
included), from the rusage os.wait4 returns.

Prints a Markdown report on stdout; --json FILE also writes the raw samples.
Exits 1 when a traced run's exit status differs from the untraced one's.
Standard library only. See bench/README.md.
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

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)

PYTHON_IMPORTS = ("import json, email, http.client, xml.dom.minidom, sqlite3, "
                  "asyncio, decimal, unittest")
SHELL_LOOP = "for i in $(seq 500); do /bin/true; done"
# Two worker threads each spinning ~0.6 s: shows what running the tracees on
# one CPU costs a program that could use two.
NODE_WORKERS = (
    "const { Worker } = require('worker_threads');"
    "const body = 'const w = require(\"worker_threads\"); let x = 0;"
    " for (let i = 0; i < 1e8; i++) x = (x * 31 + i) % 1000003;"
    " w.parentPort.postMessage(x);';"
    "let left = 2;"
    "for (let k = 0; k < 2; k++) new Worker(body, { eval: true })"
    ".on('message', () => { if (--left === 0) process.exit(0); });")

STRACE = ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=%file,%process",
          "-o", "/dev/null"]

# Targets for the tracepack variant: the median over the rounds of the
# per-round ratio traced ÷ untraced (wall time); for start-up, the median of
# the per-round time added per execution.
RATIO_TARGETS = {"a": 1.05, "b": 1.10, "c": 1.02, "d": 1.05}
STARTUP_TARGET_MS = 2.0
MIN_UNTRACED_SECONDS = 0.3


class Workload:
    """One command, run `repeat` times in a row per measurement."""

    def __init__(self, key, title, argv, repeat=1, per_exec=False, target=None):
        self.key = key
        self.title = title
        self.argv = argv
        self.repeat = repeat
        self.per_exec = per_exec  # report added time per execution (start-up)
        self.target = target      # the wall-time ratio goal, or None


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracepack", default=os.path.join(REPO_DIR, "build", "tracepack"),
                   help="tracepack binary (default: build/tracepack)")
    p.add_argument("--bench-bin", help="directory holding syscall_storm "
                   "(default: bench/ beside the tracepack binary or its parent)")
    p.add_argument("--only", help="comma-separated workload keys, e.g. a,b,z")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    p.add_argument("--storm-calls", type=int,
                   help="system calls for (c) (default: syscall_storm's own default)")
    p.add_argument("--python", help="python3 for (a) (default: /usr/bin/python3 if present)")
    p.add_argument("--with-no-pin", action="store_true",
                   help="also time `tracepack trace --no-pin`")
    p.add_argument("--json", metavar="FILE", help="also write raw samples and medians here")
    args = p.parse_args()
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def find_bench_bin(args):
    if args.bench_bin:
        return args.bench_bin
    base = os.path.dirname(os.path.abspath(args.tracepack))
    for candidate in (os.path.join(base, "bench"), os.path.join(base, "..", "bench")):
        if os.path.exists(os.path.join(candidate, "syscall_storm")):
            return os.path.normpath(candidate)
    return os.path.join(base, "bench")


def make_workloads(args, tmp):
    python = args.python or ("/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                             else shutil.which("python3") or "python3")
    storm = [os.path.join(find_bench_bin(args), "syscall_storm")]
    if args.storm_calls:
        storm.append(str(args.storm_calls))
    gcc_in = os.path.join(BENCH_DIR, "gcc_input.c")
    workloads = [
        Workload("a", "python imports ×5", [python, "-c", PYTHON_IMPORTS], 5, target=RATIO_TARGETS["a"]),
        Workload("b", "`/bin/true` ×500 from sh", ["sh", "-c", SHELL_LOOP], target=RATIO_TARGETS["b"]),
        Workload("c", "syscall storm", storm, target=RATIO_TARGETS["c"]),
        Workload("d", "`gcc -O2 -c` ×4", ["gcc", "-O2", "-c", gcc_in, "-o",
                                          os.path.join(tmp, "x.o")], 4, target=RATIO_TARGETS["d"]),
        Workload("z", "`/bin/true` start-up, per run", ["/bin/true"], 20, per_exec=True),
    ]
    if shutil.which("node"):
        workloads.append(Workload("n", "node, 2 worker threads", ["node", "-e", NODE_WORKERS]))
    else:
        print("note: node not found; skipping workload (n)", file=sys.stderr)
    if args.only:
        keys = set(args.only.split(","))
        unknown = keys - {w.key for w in workloads} - {"n"}
        if unknown:
            sys.exit(f"run.py: --only: unknown workload {', '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w.key in keys]
    for w in workloads:
        if os.sep in w.argv[0] and not os.access(w.argv[0], os.X_OK):
            sys.exit(f"run.py: ({w.key}): {w.argv[0]}: not built (see --bench-bin)")
    return workloads


def make_variants(args):
    """(name, argv prefix) pairs; the untraced one comes first."""
    variants = [("untraced", [])]
    tracepack = [os.path.abspath(args.tracepack), "trace", "-q", "-o", "/dev/null"]
    variants.append(("tracepack", tracepack + ["--"]))
    if args.with_no_pin:
        variants.append(("tracepack --no-pin", tracepack + ["--no-pin", "--"]))
    if shutil.which("strace"):
        variants.append(("strace", STRACE))
        if shutil.which("taskset"):
            variants.append(("pinned strace", ["taskset", "-c", "0"] + STRACE))
        else:
            print("note: taskset not found; skipping pinned strace", file=sys.stderr)
    else:
        print("note: strace not found; skipping the strace variants", file=sys.stderr)
    return variants


def run_once(argv, stderr_path):
    """Runs argv with stdout discarded; returns (wall s, cpu s, exit code)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
    ]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def measure(workload, prefix, stderr_path):
    """One sample: the workload's command `repeat` times in a row."""
    open(stderr_path, "w").close()
    wall = cpu = 0.0
    codes = []
    for _ in range(workload.repeat):
        w, c, code = run_once(prefix + workload.argv, stderr_path)
        wall += w
        cpu += c
        codes.append(code)
    return wall, cpu, codes


def check_status(results, workload, variant, codes, stderr_path):
    expected = results[workload.key]["untraced"]["codes"][-1]
    if codes == expected:
        return None
    with open(stderr_path, errors="replace") as f:
        tail = f.read()[-600:]
    problem = (f"({workload.key}) {variant}: exit status {codes}, untraced {expected}"
               + (f"; stderr ends with:\n{tail}" if tail else ""))
    print(f"run.py: {problem}", file=sys.stderr)
    return problem


def run_rounds(args, workloads, variants, tmp):
    stderr_path = os.path.join(tmp, "stderr.txt")
    results = {w.key: {name: {"wall": [], "cpu": [], "codes": []} for name, _ in variants}
               for w in workloads}
    for w in workloads:  # warm the page cache; not counted
        measure(w, [], stderr_path)
    problems = []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        for w in workloads:
            # The untraced run goes first so every traced run has a status
            # to compare with; the traced ones rotate from round to round.
            traced = variants[1:]
            shift = r % len(traced) if traced else 0
            for name, prefix in variants[:1] + traced[shift:] + traced[:shift]:
                wall, cpu, codes = measure(w, prefix, stderr_path)
                sample = results[w.key][name]
                sample["wall"].append(wall)
                sample["cpu"].append(cpu)
                sample["codes"].append(codes)
                if name != "untraced":
                    problem = check_status(results, w, name, codes, stderr_path)
                    if problem:
                        problems.append(problem)
    return results, problems


def summarise(workloads, variants, results):
    """Medians, and per-round ratios to the untraced run of the same round."""
    summary = {}
    for w in workloads:
        base = results[w.key]["untraced"]
        rows = {}
        for name, _ in variants:
            s = results[w.key][name]
            row = {"wall": statistics.median(s["wall"]), "cpu": statistics.median(s["cpu"])}
            if name != "untraced":
                # Paired: each round's traced run against that round's untraced run.
                ratios = [t / u for t, u in zip(s["wall"], base["wall"])]
                added = [(t - u) / w.repeat * 1000 for t, u in zip(s["wall"], base["wall"])]
                row["wall_ratio"] = statistics.median(ratios)
                row["cpu_ratio"] = statistics.median([t / u for t, u in zip(s["cpu"], base["cpu"])])
                row["wall_ratio_range"] = [min(ratios), max(ratios)]
                row["added_ms_per_exec"] = statistics.median(added)
            rows[name] = row
        summary[w.key] = rows
    return summary


def verdict(workload, rows):
    """Whether tracepack met its goal on this workload, in words."""
    tp = rows.get("tracepack")
    if tp is None:
        return ""
    if workload.per_exec:
        added = tp["added_ms_per_exec"]
        return f"{'met' if added <= STARTUP_TARGET_MS else 'missed'} (≤ +{STARTUP_TARGET_MS:g} ms)"
    if not workload.target:
        return "no target"
    pinned = rows.get("pinned strace")
    ok = tp["wall_ratio"] <= workload.target
    text = f"≤{workload.target:.2f}×: {'met' if ok else 'missed by ' + format(tp['wall_ratio'] - workload.target, '.2f')}"
    if pinned:
        beats = tp["wall_ratio"] < pinned["wall_ratio"]
        text += f"; vs pinned strace: {'faster' if beats else 'not faster'}"
    return text


def wall_cell(workload, row):
    if workload.per_exec:
        return f"{row['added_ms_per_exec']:+.2f} ms"
    lo, hi = row["wall_ratio_range"]
    return f"{row['wall_ratio']:.2f}× ({lo:.2f}–{hi:.2f})"


def print_tables(workloads, variants, summary):
    traced = [name for name, _ in variants[1:]]
    print("Wall time: median of the per-round ratios traced ÷ untraced (their range);"
          " for (z), median of the per-round time added per execution.\n")
    print("| workload | untraced | " + " | ".join(traced) + " | tracepack target |")
    print("|---|---:|" + "---:|" * len(traced) + "---|")
    for w in workloads:
        rows = summary[w.key]
        untraced = rows["untraced"]["wall"] / (w.repeat if w.per_exec else 1)
        cells = [wall_cell(w, rows[name]) for name in traced]
        print(f"| ({w.key}) {w.title} | {untraced:.3f} s | " + " | ".join(cells)
              + f" | {verdict(w, rows)} |")
    print("\nCPU time (user + system, tracer included): median of the per-round ratios traced ÷ untraced.\n")
    print("| workload | untraced | " + " | ".join(traced) + " |")
    print("|---|---:|" + "---:|" * len(traced))
    for w in workloads:
        rows = summary[w.key]
        cells = [f"{rows[name]['cpu_ratio']:.2f}×" for name in traced]
        print(f"| ({w.key}) {w.title} | {rows['untraced']['cpu']:.3f} s | "
              + " | ".join(cells) + " |")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if out.returncode == 0 and lines else "version unknown"
    except (OSError, subprocess.SubprocessError):
        return "not available"


def machine_info(args):
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "cpu": cpu_model(),
        "tracepack": tool_version([args.tracepack, "--version"]),
        "strace": tool_version(["strace", "-V"]),
        "rounds": args.rounds,
        "command": " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
    }


def print_header(info):
    print("# tracepack trace benchmark\n")
    print(f"- date: {info['date']}")
    print(f"- machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}")
    print(f"- tracepack: {info['tracepack']}; strace: {info['strace']}")
    print(f"- {info['rounds']} interleaved rounds; command: `{info['command']}`\n")


def print_notes(workloads, summary, problems):
    short = [w.key for w in workloads if not w.per_exec
             and summary[w.key]["untraced"]["wall"] < MIN_UNTRACED_SECONDS]
    if short:
        print(f"\nNote: untraced run shorter than {MIN_UNTRACED_SECONDS} s for "
              f"{', '.join(short)}: those ratios are noisy; lengthen the workload.")
    if problems:
        print(f"\n**{len(problems)} traced run(s) exited differently from the untraced run:**\n")
        for problem in problems:
            print(f"- {problem.splitlines()[0]}")


def main():
    args = parse_args()
    if not os.access(args.tracepack, os.X_OK):
        sys.exit(f"run.py: {args.tracepack}: not an executable (use --tracepack)")
    with tempfile.TemporaryDirectory(prefix="tracepack-bench.") as tmp:
        workloads = make_workloads(args, tmp)
        variants = make_variants(args)
        info = machine_info(args)
        results, problems = run_rounds(args, workloads, variants, tmp)
    summary = summarise(workloads, variants, results)
    print_header(info)
    print_tables(workloads, variants, summary)
    print_notes(workloads, summary, problems)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "samples": results, "summary": summary,
                       "problems": problems}, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
