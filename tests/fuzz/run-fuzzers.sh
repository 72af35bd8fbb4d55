#!/bin/sh
# Runs every libFuzzer target of a TRACEPACK_FUZZ build for SECONDS each
# (default 20), one after the other:
#   tests/fuzz/run-fuzzers.sh [SECONDS] [BUILD_DIR]
# BUILD_DIR (default build-fuzz) was configured with -DTRACEPACK_FUZZ=ON and
# built with `cmake --build BUILD_DIR --target fuzzers`. FUZZ_TARGETS="a b"
# runs only those targets.
#
# For each target: first the saved findings in tests/fuzz/regressions/TARGET/
# are replayed, then the target fuzzes BUILD_DIR/fuzz-corpus/TARGET/, seeded
# from fixtures/ (the seeds are copied or generated there; nothing is written
# into the source tree). Findings (crash-*, leak-*, timeout-*, oom-*) go to
# BUILD_DIR/fuzz-artifacts/TARGET/. Exits 1 when any target found something,
# naming the target and the input.
set -eu
seconds=${1:-20}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${2:-build-fuzz}" && pwd)
targets=${FUZZ_TARGETS:-"fuzz_trace_reader fuzz_spec_reader fuzz_manifest_reader fuzz_oci_index fuzz_elf_reader fuzz_bundle_extract"}

work=$build/fuzz-work.$$
rm -rf "$work"
mkdir -p "$work/tmp"
# The targets' own scratch directories go here, and are removed even when a
# target crashed before removing its own.
export TMPDIR="$work/tmp"
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# --- seeds -----------------------------------------------------------------

seed_trace_reader() {
  for t in "$src"/fixtures/traces/*.jsonl; do
    name=$(basename "$t" .jsonl)
    cp "$t" "$1/$name"
    head -n 1 "$t" > "$1/$name-header"
    sed '$d' "$t" > "$1/$name-truncated"
  done
}

seed_spec_reader() {
  for s in "$src"/fixtures/specs/*.yaml; do cp "$s" "$1/$(basename "$s")"; done
  for s in "$src"/fixtures/apps/*/tracepack.yaml; do cp "$s" "$1/app-$(basename "$(dirname "$s")").yaml"; done
}

seed_manifest_reader() {
  for m in "$src"/fixtures/manifests/*.json; do cp "$m" "$1/$(basename "$m")"; done
}

# A small tree from the fixtures: files, a subdirectory, a symlink, a hard link.
make_tree() {
  mkdir -p "$1/app/data" "$1/.tracepack"
  cp "$src/fixtures/demo/greeting.txt" "$1/app/data/greeting.txt"
  cp "$src/fixtures/demo/greet" "$1/app/greet"
  ln -s data/greeting.txt "$1/app/hello"
  ln "$1/app/greet" "$1/app/greet2"
  cp "$src/fixtures/manifests/new.json" "$1/.tracepack/manifest.json"
}

# Archives that try to leave the destination: "..", an absolute name, a
# write through a symlink to ../outside, a device node, a hard link out.
make_hostile_archives() {
  python3 - "$1" <<'EOF'
import io, sys, tarfile
out = sys.argv[1]
def tar(name, members):
    with tarfile.open(f"{out}/{name}", "w", format=tarfile.PAX_FORMAT) as t:
        for info, data in members:
            info.mtime = 0
            t.addfile(info, io.BytesIO(data) if data is not None else None)
def reg(name, data=b"x\n"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def sym(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; return (i, None)
def hard(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE; i.linkname = target; return (i, None)
def dev(name):
    i = tarfile.TarInfo(name); i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; return (i, None)
tar("dotdot.tar", [reg("../outside/x")])
tar("absolute.tar", [reg("/outside/x")])
tar("through-symlink.tar", [sym("link", "../outside"), reg("link/x")])
tar("through-absolute-symlink.tar", [sym("link", "/"), reg("link/x")])
tar("hardlink-out.tar", [hard("x", "../sentinel")])
tar("device.tar", [dev("null")])
EOF
}

seed_bundle_extract() {
  make_tree "$work/tree"
  (cd "$work/tree" && tar --format=pax -cf "$1/bundle.tar" app .tracepack)
  gzip -9 -c "$1/bundle.tar" > "$1/bundle.tar.gz"
  zstd -q -c "$1/bundle.tar" > "$1/bundle.tar.zst"
  xz -c "$1/bundle.tar" > "$1/bundle.tar.xz"
  (cd "$work/tree" && bsdtar --format zip -cf "$1/bundle.zip" app .tracepack)
  (cd "$work/tree" && find app .tracepack | cpio -o -H newc --quiet > "$1/bundle.cpio")
  make_hostile_archives "$1"
  rm -rf "$work/tree"
}

# index.json, the manifest blob and the layer blob, cut by "--8<--" lines
# (see fuzz_oci_index.cc for the fixed digests).
seed_oci_index() {
  a=$(printf 'a%.0s' $(seq 64)); b=$(printf 'b%.0s' $(seq 64))
  make_tree "$work/tree"
  (cd "$work/tree" && tar --format=pax -cf "$work/layer.tar" app .tracepack)
  {
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":1}]}\n--8<--\n' "$a"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":1}]}\n--8<--\n' "$a" "$b"
    cat "$work/layer.tar"
  } > "$1/image"
  rm -rf "$work/tree" "$work/layer.tar"
}

# Small ELF files built from fixtures/elf (the closure's own test fixtures),
# and a few system ones.
seed_elf_reader() {
  e=$src/fixtures/elf
  cc -shared -fPIC -o "$1/libb.so" "$e/libb.c"
  cc -shared -fPIC -Wl,-soname,liba.so -Wl,-rpath,'$ORIGIN/lib' -o "$1/liba.so" "$e/liba.c" -L"$1" -lb
  cc -Wl,--enable-new-dtags -Wl,-rpath,'$ORIGIN' -o "$1/main" "$e/main.c" -L"$1" -la
  cc -o "$1/plain" "$e/plain.c"
  cc -m32 -o "$1/plain32" "$e/plain.c" 2>/dev/null || true
  for f in /bin/true /usr/lib/x86_64-linux-gnu/libdl.so.2; do
    [ -f "$f" ] && cp "$f" "$1/system-$(basename "$f")"
  done
}

# --- running ---------------------------------------------------------------

failed=""
for target in $targets; do
  bin=$build/fuzz/$target
  if [ ! -x "$bin" ]; then
    echo "run-fuzzers: $target: not built in $build (cmake --build $build --target fuzzers)" >&2
    failed="$failed $target"
    continue
  fi
  regressions=$src/tests/fuzz/regressions/$target
  artifacts=$build/fuzz-artifacts/$target
  corpus=$build/fuzz-corpus/$target
  mkdir -p "$artifacts" "$corpus" "$work/seeds"
  log=$work/$target.log
  before=$(ls "$artifacts")

  if [ -d "$regressions" ] && [ -n "$(ls "$regressions")" ]; then
    echo "run-fuzzers: $target: replaying $(ls "$regressions" | wc -l) saved findings"
    if ! "$bin" -rss_limit_mb=2048 -timeout=25 "$regressions"/* > "$log" 2>&1; then
      tail -n 40 "$log" >&2
      echo "run-fuzzers: $target: a saved finding in $regressions fails again" >&2
      failed="$failed $target"
      continue
    fi
  fi

  rm -rf "$work/seeds" && mkdir -p "$work/seeds"
  "seed_${target#fuzz_}" "$work/seeds"
  cp "$work/seeds"/* "$corpus"/
  echo "run-fuzzers: $target: $(ls "$corpus" | wc -l) inputs in $corpus, fuzzing for ${seconds}s"
  status=0
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" > "$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|Done [0-9]+ runs)' "$log" | sed "s/^/run-fuzzers: $target: /" || true
  found=""
  for f in $(ls "$artifacts"); do
    echo "$before" | grep -qxF "$f" || found="$found $artifacts/$f"
  done
  if [ "$status" -ne 0 ] || [ -n "$found" ]; then
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|    #[0-9] )' "$log" | head -n 20 >&2 || true
    echo "run-fuzzers: $target: FOUND a problem (exit $status):${found:- no artifact}" >&2
    failed="$failed $target"
  fi
done

if [ -n "$failed" ]; then
  echo "run-fuzzers: failed:$failed" >&2
  exit 1
fi
echo "run-fuzzers: no findings"
