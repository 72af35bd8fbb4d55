#!/usr/bin/env python3
"""Times `tracepack build --from IMAGE`: a minimal image out of a fat one.

The base image is assembled from this machine's Debian packages (no network):
Python and what it needs, then the largest installed packages until the root
holds --size-mb MB, each with its dpkg status paragraph and file list, so
that the image has a real dpkg database. `umoci` turns the root into an OCI
image layout with one gzip layer (`umoci insert`), and a second layer that
deletes a file (`umoci insert --whiteout`); its config sets Env, WorkingDir
and Cmd. Making the image is not timed.

Timed, --rounds times: `tracepack build SPEC -f oci -o OUT` where the spec
says `from: IMAGE` and its one test runs Python on a small script that
imports json, sqlite3 and decimal. That is the whole path: the layers
unpacked into a scratch root, the test traced in a sandbox of it, the plan
made from the image's root, the image written, and the test run again in a
sandbox holding only the result (verify). Reported: the median wall time,
the time to unpack (tracepack's own "ready in" line), and the sizes before
and after. Target: well under a minute for several hundred MB.

Prints a Markdown report on stdout; exits 1 when a command fails. Standard
library only. Results and method: docs/performance.md, "Images as input".
"""

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CORE_PACKAGES = [
    "base-files", "libc6", "libgcc-s1", "dash", "coreutils", "libselinux1", "libpcre2-8-0", "libacl1", "libattr1",
    "libgmp10", "libcap2", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libexpat1", "zlib1g",
    "libssl3", "libffi8", "libbz2-1.0", "liblzma5", "libsqlite3-0", "libmpdec3", "libncursesw6", "libtinfo6",
    "libreadline8", "libuuid1", "libcrypt1", "libdb5.3", "libnsl2", "libtirpc3", "media-types", "tzdata", "python3-minimal",
    "python3",
]

APP = """import json, sqlite3, decimal
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.execute("insert into t values (?)", (str(decimal.Decimal("1.25") * 2),))
print(json.dumps({"total": db.execute("select x from t").fetchone()[0]}))
"""


def run(argv, **kwargs):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    if result.returncode != 0:
        sys.stderr.write(f"image_bench: {' '.join(argv)}: exit {result.returncode}\n{result.stderr}")
        sys.exit(1)
    return result


def installed_sizes():
    out = run(["dpkg-query", "-W", "-f", "${Package}:${Architecture}\t${Installed-Size}\t${db:Status-Abbrev}\n"]).stdout
    sizes = {}
    for line in out.splitlines():
        name, size, status = line.split("\t")
        if status.strip() == "ii" and size.isdigit():
            sizes[name] = int(size) * 1024
    return sizes


def package_files(package):
    out = subprocess.run(["dpkg", "-L", package], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return [p for p in out.splitlines() if p.startswith("/")]


def copy_path(path, root):
    """Copies the host file `path` (not following a final symlink) into `root`, at its canonical directory."""
    if not os.path.lexists(path):
        return 0
    parent = os.path.realpath(os.path.dirname(path))
    target = os.path.join(root, parent.lstrip("/"), os.path.basename(path))
    if os.path.lexists(target):
        return 0
    if os.path.isdir(path) and not os.path.islink(path):
        os.makedirs(target, exist_ok=True)
        return 0
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(path, target, follow_symlinks=False)
    return 0 if os.path.islink(path) else os.lstat(path).st_size


def status_paragraphs(packages):
    text = open("/var/lib/dpkg/status", encoding="utf-8", errors="replace").read()
    wanted = {p.split(":")[0] for p in packages}
    keep = []
    for paragraph in text.split("\n\n"):
        match = re.search(r"^Package: (\S+)", paragraph, re.M)
        if match and match.group(1) in wanted:
            keep.append(paragraph.strip("\n"))
    return "\n\n".join(keep) + "\n"


def make_root(root, size_mb):
    sizes = installed_sizes()
    chosen = [p for p in sizes if p.split(":")[0] in CORE_PACKAGES]
    total = sum(sizes[p] for p in chosen)
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        if total >= size_mb * 1_000_000:
            break
        if name not in chosen:
            chosen.append(name)
            total += size
    for link, target in [("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")]:
        os.makedirs(os.path.join(root, target), exist_ok=True)
        os.symlink(target, os.path.join(root, link))
    copied = 0
    for package in chosen:
        for path in package_files(package):
            copied += copy_path(path, root)
    info = os.path.join(root, "var/lib/dpkg/info")
    os.makedirs(info, exist_ok=True)
    for package in chosen:
        for suffix in (".list", ".md5sums"):
            for name in (package + suffix, package.split(":")[0] + suffix):
                if os.path.exists("/var/lib/dpkg/info/" + name):
                    shutil.copy2("/var/lib/dpkg/info/" + name, info)
    with open(os.path.join(root, "var/lib/dpkg/status"), "w") as f:
        f.write(status_paragraphs(chosen))
    for path in ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf"]:
        copy_path(path, root)
    os.makedirs(os.path.join(root, "etc/ld.so.conf.d"), exist_ok=True)
    os.makedirs(os.path.join(root, "app"), exist_ok=True)
    with open(os.path.join(root, "app/app.py"), "w") as f:
        f.write(APP)
    os.makedirs(os.path.join(root, "tmp"), mode=0o1777, exist_ok=True)
    return chosen, copied


def make_image(work, size_mb):
    root = os.path.join(work, "rootfs")
    os.makedirs(root)
    packages, copied = make_root(root, size_mb)
    layout = os.path.join(work, "image")
    run(["umoci", "init", "--layout", layout])
    run(["umoci", "new", "--image", layout + ":bench"])
    run(["umoci", "insert", "--image", layout + ":bench", root, "/"])
    run(["umoci", "insert", "--image", layout + ":bench", "--whiteout", "/usr/share/doc"])
    run(["umoci", "config", "--image", layout + ":bench", "--config.env", "PATH=/usr/bin:/bin", "--config.env",
         "PYTHONDONTWRITEBYTECODE=1", "--config.workingdir", "/app", "--config.cmd", "/usr/bin/python3",
         "--config.cmd", "/app/app.py"])
    shutil.rmtree(root)
    return layout + ":bench", len(packages), copied


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracepack", required=True, help="the tracepack program of the build to measure")
    parser.add_argument("--size-mb", type=int, default=500, help="how big the base image's root is (default 500)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", help="directory to work in (default: a new one under /var/tmp, removed at the end)")
    args = parser.parse_args()
    tracepack = os.path.abspath(args.tracepack)
    work = args.work or tempfile.mkdtemp(prefix="tracepack-image-bench.", dir="/var/tmp")
    try:
        started = time.monotonic()
        image, packages, copied = make_image(work, args.size_mb)
        made = time.monotonic() - started
        spec = os.path.join(work, "tracepack.yaml")
        with open(spec, "w") as f:
            f.write("name: bench\nfrom: image:bench\ntests:\n  - name: app\n    stdout: \"{\\\"total\\\": \\\"2.50\\\"}\\n\"\n"
                    "output:\n  path: out\n  format: oci\nimage:\n  tag: bench:min\n")
        walls, readies, lines = [], [], []
        for _ in range(args.rounds):
            out = os.path.join(work, "out")
            shutil.rmtree(out, ignore_errors=True)
            started = time.monotonic()
            result = run([tracepack, "build", spec, "-o", out])
            walls.append(time.monotonic() - started)
            ready = re.search(r"ready in ([0-9.]+) s", result.stderr)
            readies.append(float(ready.group(1)) if ready else float("nan"))
            lines = [l for l in result.stderr.splitlines() if "base image" in l or "packed" in l or "from " in l]
        print("# tracepack build --from: a minimal image from a fat one\n")
        print(f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, kernel {platform.release()}")
        print(f"- base image: {packages} Debian packages copied from this host, {copied / 1e6:.0f} MB of regular files, "
              f"one gzip layer and one whiteout layer (made in {made:.0f} s, not timed)")
        print(f"- rounds: {args.rounds}\n")
        print("| step | median | all rounds |")
        print("|---|---|---|")
        print(f"| whole build (unpack, trace, plan, write oci, verify) | {median(walls):.1f} s | "
              + ", ".join(f"{w:.1f}" for w in walls) + " |")
        print(f"| of which unpacking the base image | {median(readies):.1f} s | " + ", ".join(f"{r:.1f}" for r in readies) + " |")
        print("\nLast round's summary lines:\n")
        for line in lines:
            print("    " + line)
        return 0
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
