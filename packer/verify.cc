// find_missing: from a failed run inside a bundle to the files the bundle lacks.
//
// A failed lookup in the sandboxed trace names a path resolved up to the
// component that failed (the rest appended unresolved). Walking its prefixes
// against the bundle finds the first one the bundle does not have: that is
// the entry to add. It is reported only when the host has it and the run
// the bundle was packed from used it, or something below it, successfully:
// most failed lookups (the dynamic loader's search path, Python's import
// path, configuration files that are optional) fail on the host too, and
// are no fault of the bundle.
#include "tracepack/verify.h"

#include <algorithm>
#include <map>
#include <set>

namespace tracepack {
namespace {

// Every path a trace used successfully, and every symlink on the way.
std::set<PathBytes> used_paths(const std::vector<Trace>& traces) {
  std::set<PathBytes> used;
  for (const Trace& trace : traces)
    for (const FileAccess& a : trace.accesses) {
      if (a.error != 0) continue;
      if (!a.resolved.empty()) used.insert(a.resolved);
      for (const Symlink& link : a.links) used.insert(link.path);
    }
  return used;
}

bool used_at_or_below(const std::set<PathBytes>& used, const PathBytes& path) {
  auto it = used.lower_bound(path);
  return it != used.end() && (*it == path || (it->starts_with(path) && (*it)[path.size()] == '/'));
}

// The first prefix of `path` (absolute) that `bundle` lacks, or "".
PathBytes first_absent(const PathBytes& path, const FileSystemView& bundle) {
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t slash = path.find('/', at + 1);
    if (slash == PathBytes::npos) slash = path.size();
    PathBytes prefix = path.substr(0, slash);
    if (!bundle.info(prefix)) return prefix;
    at = slash;
  }
  return {};
}

std::string command_of(const Process& p) {
  if (p.execs.empty()) return "";
  std::string line;
  for (const PathBytes& arg : p.execs.back().argv) line += (line.empty() ? "" : " ") + encode_path(arg);
  return line;
}

bool is_lookup_failure(int error) { return error == ENOENT || error == ENOTDIR; }

// Whether a path (it starts with '/', so never with a YAML indicator) would
// not read back as itself from a plain YAML scalar.
bool needs_quotes(const PathBytes& path) {
  if (path.find(": ") != PathBytes::npos || path.find(" #") != PathBytes::npos || path.back() == ' ' ||
      path.back() == ':')
    return true;
  return std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

}  // namespace

std::vector<MissingFile> find_missing(const Trace& sandboxed, const std::vector<Trace>& original,
                                      const FileSystemView& bundle, const FileSystemView& host) {
  std::set<PathBytes> used = used_paths(original);
  std::map<std::uint64_t, const Process*> processes;
  for (const Process& p : sandboxed.processes) processes.emplace(p.id, &p);
  std::map<PathBytes, MissingFile> missing;
  for (const FileAccess& a : sandboxed.accesses) {
    if (!is_lookup_failure(a.error) || a.resolved.empty() || a.resolved.front() != '/') continue;
    PathBytes absent = first_absent(a.resolved, bundle);
    if (absent.empty() || missing.contains(absent)) continue;
    std::optional<FileInfo> on_host = host.info(absent);
    if (!on_host || (!original.empty() && !used_at_or_below(used, absent))) continue;
    MissingFile m{absent, on_host->type == EntryType::directory, sandboxed.run.label, 0, "", a.syscall};
    if (auto it = processes.find(a.process); it != processes.end()) {
      m.pid = it->second->pid;
      m.command = command_of(*it->second);
      if (!it->second->test.empty()) m.test = it->second->test;
    }
    missing.emplace(absent, std::move(m));
  }
  std::vector<MissingFile> out;
  for (auto& [path, m] : missing) out.push_back(std::move(m));
  return out;
}

std::string include_lines(const std::vector<MissingFile>& missing) {
  std::string text = "include:\n";
  for (const MissingFile& m : missing) {
    PathBytes pattern = m.directory ? m.path + "/**" : m.path;
    if (needs_quotes(pattern)) {
      PathBytes quoted;
      for (char c : pattern) quoted += c == '\'' ? std::string("''") : std::string(1, c);
      pattern = "'" + quoted + "'";
    }
    text += "  - " + pattern + "\n";
  }
  return text;
}

}  // namespace tracepack
