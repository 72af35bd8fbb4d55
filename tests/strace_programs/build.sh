#!/bin/sh
# Builds strace's own test programs for file and process system calls, from
# the source tarball .ci/install-deps downloads, into a cache that outlives
# the build directory (so the normal and the sanitizer runs of the suite
# share it).
#
# Usage: build.sh TARBALL
# Prints the directory holding the programs and programs.tsv (the selection,
# see select_programs.py). The cache is $TRACEPACK_STRACE_BUILD_CACHE, else
# /var/cache/tracepack when writable, else ${XDG_CACHE_HOME:-~/.cache}/tracepack;
# inside it, strace-tests-<sha256 of the tarball>. A finished build is reused
# as it is; an unfinished one (no stamp) is started again.
set -eu
tarball=$1
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${TRACEPACK_STRACE_BUILD_CACHE:-}" ]; then
  cache=$TRACEPACK_STRACE_BUILD_CACHE
elif [ -w /var/cache/tracepack ] || { [ ! -e /var/cache/tracepack ] && [ -w /var/cache ]; }; then
  cache=/var/cache/tracepack
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/tracepack
fi
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
dir=$cache/strace-tests-$sum
mkdir -p "$cache"
# One build at a time per cache; a second caller waits, then reuses it.
exec 8>"$cache/strace-tests.lock"
flock 8
if [ ! -f "$dir/stamp" ]; then
  rm -rf "$dir"
  mkdir -p "$dir/src"
  tar -xf "$tarball" -C "$dir/src" --strip-components=1
  python3 "$here/select_programs.py" "$dir/src" >"$dir/programs.tsv.new"
  cd "$dir/src"
  # The fewest options that build the tests: no m32/mx32 personalities, no
  # stack tracing libraries; the programs need nothing else.
  ./configure --enable-mpers=no --without-libunwind --without-libdw --without-libiberty \
    --disable-gcc-Werror >"$dir/configure.log" 2>&1 ||
    { tail -20 "$dir/configure.log" >&2; exit 1; }
  # libtests.a's sources include the generated syscall number headers, which
  # only the tests' `all` would make first.
  {
    make -C tests -j2 ksysent.h scno.h &&
      make -C tests -j2 libtests.a &&
      make -C tests -j2 $(cut -f1 "$dir/programs.tsv.new")
  } >"$dir/make.log" 2>&1 || { tail -20 "$dir/make.log" >&2; exit 1; }
  mv "$dir/programs.tsv.new" "$dir/programs.tsv"
  touch "$dir/stamp"
fi
echo "$dir"
