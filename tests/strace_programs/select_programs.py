#!/usr/bin/env python3
"""Prints the strace test programs that tests/strace_programs runs.

Usage: select_programs.py STRACE_SOURCE_DIR

One line per program, tab-separated: its name, the system calls it is traced
for (comma-separated) and the redirections its test gives it (may be empty).
The rule (also in strace_programs_test.cc's header) reads strace's own files:

  - the programs of tests/pure_executables.list,
  - less the -Xabbrev, -Xraw and -Xverbose variants (the same calls as their
    base program; only the way strace prints constants differs),
  - whose traced system calls all belong to strace's %file or %process class
    on x86_64 (TF or TP in src/linux/x86_64/syscallent.h and
    src/linux/generic/syscallent-common.h). A program's traced calls are the
    -e trace= list of its tests/gen_tests.in line, or else its name without a
    -y, -yy or -P suffix;
  - plus fsync-y (a file whose name holds every control byte, printed by -y).
"""
import re
import sys

EXTRA = {"fsync-y": ["fsync"]}


def file_and_process_calls(src):
    calls = set()
    for name in ("src/linux/x86_64/syscallent.h", "src/linux/generic/syscallent-common.h"):
        with open(f"{src}/{name}") as f:
            for line in f:
                m = re.match(r'\[.*\]\s*=\s*\{\s*\d+,\s*([^,]*),.*"([^"]+)"', line)
                if m and re.search(r"\b(TF|TP)\b", m.group(1)):
                    calls.add(m.group(2))
    return calls


def gen_tests_options(src):
    options = {}
    with open(f"{src}/tests/gen_tests.in") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, rest = line.replace("\t", " ").partition(" ")
                options[name] = rest.strip()
    return options


def main():
    src = sys.argv[1]
    calls = file_and_process_calls(src)
    options = gen_tests_options(src)
    with open(f"{src}/tests/pure_executables.list") as f:
        programs = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    for program in programs + sorted(EXTRA):
        if re.search(r"-X(abbrev|raw|verbose)$", program):
            continue
        opts = options.get(program, "")
        m = re.search(r"(?:-e ?trace=|--trace=)(\S+)", opts)
        traced = m.group(1).split(",") if m else [re.sub(r"(-y|-yy|-P)$", "", program)]
        if program in EXTRA:
            traced = EXTRA[program]
        elif not all(c in calls for c in traced):
            continue
        redirections = " ".join(re.findall(r"(?:\d*>>?|<)\S+", opts))
        print(f"{program}\t{','.join(traced)}\t{redirections}")


if __name__ == "__main__":
    main()
