// Exec analysis: the files the kernel opens on the tracee's behalf at execve.
//
// binfmt_script reads the first line of a "#!" file and re-executes with the
// named interpreter, which may itself be a script (the kernel allows a few
// levels); binfmt_elf then maps the PT_INTERP loader named in the final
// program's headers. None of these opens is a system call of the tracee, so a
// tracer that only watches syscalls misses the loader and every interpreter.
// Each file is read once per (device, inode, size, mtime): a test that runs
// /bin/true 500 times parses it once. ELF headers are read with elfutils'
// libelf, which handles both ELF classes and byte orders.
#include "exec_analysis.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "tracepack/posix.h"

namespace tracepack::tracer {
namespace {

// The kernel reads at most this much of a script to find its "#!" line.
constexpr std::size_t kShebangBufferSize = 256;
// binfmt_script + binfmt_elf nesting the kernel accepts.
constexpr int kMaxInterpreterDepth = 4;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::optional<PathBytes> interp_from_elf(int fd) {
  static const bool initialised = elf_version(EV_CURRENT) != EV_NONE;
  if (!initialised) return std::nullopt;
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr) return std::nullopt;
  std::optional<PathBytes> interp;
  std::size_t count = 0;
  std::size_t file_size = 0;
  const char* raw = elf_rawfile(elf, &file_size);
  if (elf_kind(elf) == ELF_K_ELF && raw != nullptr && elf_getphdrnum(elf, &count) == 0) {
    for (std::size_t i = 0; i < count && !interp; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_INTERP) continue;
      if (phdr.p_offset >= file_size || phdr.p_filesz > file_size - phdr.p_offset) break;
      std::string_view text(raw + phdr.p_offset, phdr.p_filesz);
      interp = PathBytes(text.substr(0, text.find('\0')));
    }
  }
  elf_end(elf);
  return interp;
}

}  // namespace

std::optional<Shebang> parse_shebang(std::string_view head) {
  if (!head.starts_with("#!")) return std::nullopt;
  std::string_view line = head.substr(2, head.find('\n') == std::string_view::npos ? head.npos : head.find('\n') - 2);
  std::size_t at = 0;
  while (at < line.size() && is_blank(line[at])) ++at;
  std::size_t end = at;
  while (end < line.size() && !is_blank(line[end]) && line[end] != '\0') ++end;
  if (end == at) return std::nullopt;
  Shebang shebang{PathBytes(line.substr(at, end - at)), {}};
  std::string_view rest = line.substr(end);
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && (is_blank(rest.back()) || rest.back() == '\r' || rest.back() == '\0')) rest.remove_suffix(1);
  shebang.argument = std::string(rest);
  return shebang;
}

ExecAnalyzer::FileFacts ExecAnalyzer::facts(const PathBytes& file) {
  auto key_of = [](const struct stat& st) { return Key{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec}; };
  // A stat names the file's version: a version seen before is not opened again.
  struct stat st;
  if (stat(file.c_str(), &st) != 0) return {};
  if (auto it = cache_.find(key_of(st)); it != cache_.end()) return it->second;
  UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 || fstat(fd.get(), &st) != 0) return {};
  Key key = key_of(st);  // the version read, should the file have changed since the stat
  FileFacts result;
  char head[kShebangBufferSize];
  ssize_t n = pread(fd.get(), head, sizeof head, 0);
  if (n > 0) result.shebang = parse_shebang(std::string_view(head, static_cast<std::size_t>(n)));
  if (!result.shebang) result.interp = interp_from_elf(fd.get());
  cache_.emplace(key, result);
  return result;
}

std::optional<PathBytes> ExecAnalyzer::elf_interpreter(const PathBytes& file) { return facts(file).interp; }

std::vector<ExecStep> ExecAnalyzer::analyze(PathResolver& resolver, const PathBytes& file, std::string_view cwd, Viewer viewer) {
  std::vector<ExecStep> steps;
  PathBytes current = file;
  for (int depth = 0; depth <= kMaxInterpreterDepth; ++depth) {
    FileFacts f = facts(resolver.host_path(current));
    if (f.shebang) {
      Resolution r = resolver.resolve(cwd, f.shebang->interpreter, true, viewer);
      steps.push_back(ExecStep{AccessOrigin::shebang, f.shebang->interpreter, r});
      if (r.error != 0) break;
      current = r.resolved;
      continue;
    }
    if (f.interp) {
      Resolution r = resolver.resolve(cwd, *f.interp, true, viewer);
      steps.push_back(ExecStep{AccessOrigin::elf_interp, *f.interp, std::move(r)});
    }
    break;
  }
  return steps;
}

}  // namespace tracepack::tracer
