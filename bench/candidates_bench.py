#!/usr/bin/env python3
"""What candidate analysis adds to `tracepack build` on the example apps.

For each example spec, `tracepack build SPEC` runs --rounds times with the
candidate analysis (the default) and --rounds times with `--no-candidates`,
the two interleaved (with, without, with, ...) so that drift of the machine
touches both alike. Each build traces the spec's tests, packs, and verifies
the bundle, as a user's build does; the traces and the bundle go to a scratch
directory (--traces, -o), never into the source tree. Reported per app: the
median wall time of each variant and the median of the per-round ratios
(with / without). Target: at most 1.10 (docs/performance.md, "Candidate
analysis").

The apps: the README demo (fixtures/specs/demo.yaml, its cwd pointed at
DEMO_DIR, a build's fixtures/demo), the lazy-import example
(fixtures/lazy-import, skipped without numpy), the seven example
applications (fixtures/apps/*/tracepack.yaml) and fixtures/specs/image.yaml.
fixtures/images/example.yaml needs a base image built by umoci and is left
out.

Prints a Markdown table on stdout; exits 1 when a build fails. Standard
library only. Usage:
    python3 bench/candidates_bench.py --tracepack build-rel/tracepack --demo-dir build/fixtures/demo [--rounds 5]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def apps(work, demo_dir, only):
    """(name, spec path) of every example app, with the demo's spec rewritten."""
    found = []
    if demo_dir:
        demo = os.path.join(work, "demo.yaml")
        with open(os.path.join(SRC, "fixtures/specs/demo.yaml"), encoding="utf-8") as f:
            text = f.read().replace("cwd: ../../build/fixtures/demo", "cwd: " + os.path.abspath(demo_dir))
        with open(demo, "w", encoding="utf-8") as f:
            f.write(text)
        found.append(("demo", demo))
    if subprocess.run(["/usr/bin/python3", "-c", "import numpy"], capture_output=True).returncode == 0:
        found.append(("lazy-import", os.path.join(SRC, "fixtures/lazy-import/tracepack.yaml")))
    else:
        print("candidates_bench: /usr/bin/python3 has no numpy: lazy-import left out", file=sys.stderr)
    apps_dir = os.path.join(SRC, "fixtures/apps")
    for name in sorted(os.listdir(apps_dir)):
        spec = os.path.join(apps_dir, name, "tracepack.yaml")
        if os.path.isfile(spec):
            found.append((name, spec))
    found.append(("image", os.path.join(SRC, "fixtures/specs/image.yaml")))
    return [(n, s) for n, s in found if not only or n in only]


def output_name(spec):
    """The basename of the spec's output.path (it keeps the format)."""
    with open(spec, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "output:":
            for after in lines[i + 1:]:
                if after.strip().startswith("path:"):
                    return os.path.basename(after.split(":", 1)[1].strip())
    return "bundle"


def build_seconds(tracepack, spec, scratch, candidates):
    """Wall time of one `tracepack build`, from a clean scratch directory."""
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    command = [tracepack, "build", spec, "--traces", os.path.join(scratch, "traces"), "-o",
               os.path.join(scratch, "out", output_name(spec))]
    if not candidates:
        command.append("--no-candidates")
    start = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.exit("candidates_bench: failed (%d): %s\n%s" % (done.returncode, " ".join(command), done.stderr))
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracepack", required=True, help="the tracepack program (a Release build)")
    parser.add_argument("--demo-dir", help="a build's fixtures/demo (the demo_app target); the demo is left out without it")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated app names")
    args = parser.parse_args()
    tracepack = os.path.abspath(args.tracepack)
    only = set(filter(None, args.only.split(",")))
    with tempfile.TemporaryDirectory(prefix="candidates-bench.") as work:
        rows = []
        for name, spec in apps(work, args.demo_dir, only):
            scratch = os.path.join(work, name)
            build_seconds(tracepack, spec, scratch, True)  # warms the page cache; not counted
            with_c, without, ratios = [], [], []
            for _ in range(args.rounds):
                a = build_seconds(tracepack, spec, scratch, True)
                b = build_seconds(tracepack, spec, scratch, False)
                with_c.append(a)
                without.append(b)
                ratios.append(a / b)
            rows.append((name, statistics.median(without), statistics.median(with_c), statistics.median(ratios)))
            print("candidates_bench: %s done" % name, file=sys.stderr)
    print("| app | build --no-candidates (s) | build (s) | median ratio |")
    print("|---|---:|---:|---:|")
    for name, without, with_c, ratio in rows:
        print("| %s | %.2f | %.2f | %.3f |" % (name, without, with_c, ratio))
    print()
    print("%d rounds, interleaved; %d CPUs; %s" % (args.rounds, os.cpu_count(), tracepack))


if __name__ == "__main__":
    main()
