// libFuzzer target: arbitrary bytes as a bundle archive handed to
// extract_bundle (libarchive underneath): a hostile archive may fail, but
// must never write outside the destination.
//
// The scratch directory holds the archive, the destination "bundle", a
// sentinel file and an empty directory "outside" (the targets a "../x" name
// or a symlink to "../outside" would reach). After every input the harness
// checks that the scratch directory holds exactly those four, that the
// sentinel is unchanged and that "outside" is still empty, aborting
// otherwise; then it empties the destination.
#include <dirent.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "fuzz_util.h"
#include "tracepack/bundle_extract.h"
#include "tracepack/error.h"

namespace {

constexpr std::string_view kSentinel = "written by the harness, never by an extraction\n";

std::set<std::string> entries_of(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) tracepack::fuzz::die("cannot list " + dir);
  while (dirent* e = readdir(d))
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") names.insert(e->d_name);
  closedir(d);
  return names;
}

std::string read_all(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Scratch {
  tracepack::fuzz::ScratchDir dir{"extract"};

  Scratch() {
    tracepack::fuzz::write_file(dir / "sentinel", kSentinel);
    if (mkdir((dir / "outside").c_str(), 0755) != 0 || mkdir((dir / "bundle").c_str(), 0755) != 0)
      tracepack::fuzz::die("cannot set up " + dir.path());
  }

  void check_nothing_escaped() const {
    const std::set<std::string> expected = {"archive", "bundle", "outside", "sentinel"};
    if (entries_of(dir.path()) != expected) tracepack::fuzz::die("extraction wrote beside its destination");
    if (!entries_of(dir / "outside").empty()) tracepack::fuzz::die("extraction wrote through a symlink");
    if (read_all(dir / "sentinel") != kSentinel) tracepack::fuzz::die("extraction changed the sentinel");
    struct stat st;
    if (lstat((dir / "bundle").c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) tracepack::fuzz::die("extraction replaced its destination");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Scratch scratch;
  tracepack::fuzz::write_file(scratch.dir / "archive", data, size);
  try {
    tracepack::extract_bundle(scratch.dir / "archive", scratch.dir / "bundle");
  } catch (const tracepack::Error&) {
  }
  scratch.check_nothing_escaped();
  tracepack::fuzz::remove_tree(scratch.dir / "bundle", true);
  // A member named "." may have changed the destination's own mode.
  chmod((scratch.dir / "bundle").c_str(), 0755);
  return 0;
}
