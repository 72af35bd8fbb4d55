// find_missing: from a failed run inside a bundle to the files the bundle lacks.
//
// A failed lookup in the sandboxed trace names a path resolved up to the
// component that failed (the rest appended unresolved). Walking its prefixes
// against the bundle finds the first one the bundle does not have: that is
// the entry to add. It is reported only when the host has it and the run
// the bundle was packed from used it, or something below it, successfully:
// most failed lookups (the dynamic loader's search path, Python's import
// path, configuration files that are optional) fail on the host too, and
// are no fault of the bundle. Paths under the pseudo file systems a bundle
// never holds (/proc, /sys, /dev, /run: see pseudo_root) are not reported.
// Paths under /tmp and /var/tmp are: the default rule left them out, and an
// include: line packs them. Those directories themselves, and /var above
// one, are never missing: the sandbox makes them when the bundle lacks them.
//
// Some programs never look a file up by name: Python's import system lists
// each directory of its path once and opens only what the listing shows. A
// bundle that lacks such a file fails with no failed lookup to show for it.
// So when the first pass finds nothing, a second one names the regular files
// the test's original run read or executed (before any write to them, so no
// output of the run) that the bundle lacks and the host has, with the
// process of the original run that used them.
#include "tracepack/verify_diagnosis.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

namespace tracepack {
namespace {

// Every path a trace used successfully, and every symlink on the way; not
// the run's outputs (created or written first): that the run in the bundle
// looks one up in vain before making it (gcc's output file) is no fault of
// the bundle.
std::set<PathBytes> used_paths(const std::vector<Trace>& traces) {
  std::set<PathBytes> used;
  for (const Trace& trace : traces) {
    std::map<PathBytes, const FileAccess*> outputs = outputs_of(trace);
    for (const FileAccess& a : trace.accesses) {
      if (a.error != 0) continue;
      if (!a.resolved.empty() && !outputs.contains(a.resolved)) used.insert(a.resolved);
      for (const Symlink& link : a.links) used.insert(link.path);
    }
  }
  return used;
}

bool used_at_or_below(const std::set<PathBytes>& used, const PathBytes& path) {
  auto it = used.lower_bound(path);
  return it != used.end() && (*it == path || (it->starts_with(path) && (*it)[path.size()] == '/'));
}

// The directories the sandbox makes in its root when the bundle lacks them
// (besides /dev and /proc, which are pseudo file systems).
constexpr std::string_view kMadeBySandbox[] = {"/tmp", "/var", "/var/tmp"};

// The first prefix of `path` (absolute) that `bundle` lacks, or "".
PathBytes first_absent(const PathBytes& path, const FileSystemView& bundle) {
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t slash = path.find('/', at + 1);
    if (slash == PathBytes::npos) slash = path.size();
    PathBytes prefix = path.substr(0, slash);
    bool made = std::find(std::begin(kMadeBySandbox), std::end(kMadeBySandbox), prefix) != std::end(kMadeBySandbox);
    if (!made && !bundle.info(prefix)) return prefix;
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

void describe_process(MissingFile& m, const Process* p) {
  if (p == nullptr) return;
  m.pid = p->pid;
  m.command = command_of(*p);
  if (!p->test.empty()) m.test = p->test;
}

std::map<std::uint64_t, const Process*> index_processes(const Trace& trace) {
  std::map<std::uint64_t, const Process*> processes;
  for (const Process& p : trace.processes) processes.emplace(p.id, &p);
  return processes;
}

const Process* find_process(const std::map<std::uint64_t, const Process*>& processes, std::uint64_t id) {
  auto it = processes.find(id);
  return it == processes.end() ? nullptr : it->second;
}

// First pass: the failed lookups of the run in the bundle.
std::map<PathBytes, MissingFile> failed_lookups(const Trace& sandboxed, const std::vector<Trace>& original, const FileSystemView& bundle,
                                                const FileSystemView& host) {
  std::set<PathBytes> used = used_paths(original);
  std::map<std::uint64_t, const Process*> processes = index_processes(sandboxed);
  std::map<PathBytes, MissingFile> missing;
  for (const FileAccess& a : sandboxed.accesses) {
    if (!is_lookup_failure(a.error) || a.resolved.empty() || a.resolved.front() != '/') continue;
    PathBytes absent = first_absent(a.resolved, bundle);
    if (absent.empty() || missing.contains(absent) || !pseudo_root(absent).empty()) continue;
    std::optional<FileInfo> on_host = host.info(absent);
    if (!on_host || (!original.empty() && !used_at_or_below(used, absent))) continue;
    MissingFile m{.path = absent, .directory = on_host->type == EntryType::directory, .test = sandboxed.run.label, .syscall = a.syscall};
    describe_process(m, find_process(processes, a.process));
    missing.emplace(absent, std::move(m));
  }
  return missing;
}

// Whether an access creates or changes the file: after one, the run's own
// writing explains what it reads.
bool writes(const FileAccess& a) {
  switch (a.kind) {
    case AccessKind::write:
    case AccessKind::create:
    case AccessKind::mkdir:
    case AccessKind::remove:
    case AccessKind::rename:
    case AccessKind::link:
    case AccessKind::symlink:
      return true;
    case AccessKind::read:
    case AccessKind::exec:
    case AccessKind::stat:
    case AccessKind::readlink:
    case AccessKind::list:
    case AccessKind::chdir:
    case AccessKind::attr:
    case AccessKind::watch:
    case AccessKind::other:
      return false;
  }
  return false;
}

// Second pass: what the original run of the same test read or executed
// before writing it, that the bundle lacks and the host has.
std::map<PathBytes, MissingFile> unread_inputs(const Trace& sandboxed, const std::vector<Trace>& original, const FileSystemView& bundle,
                                               const FileSystemView& host) {
  std::map<PathBytes, MissingFile> missing;
  for (const Trace& trace : original) {
    if (trace.run.label != sandboxed.run.label) continue;
    std::map<std::uint64_t, const Process*> processes = index_processes(trace);
    std::set<PathBytes> written;
    for (const FileAccess& a : trace.accesses) {
      if (a.resolved.empty() || a.resolved.front() != '/' || written.contains(a.resolved)) continue;
      if (writes(a)) written.insert(a.resolved);
      bool input = a.kind == AccessKind::read || a.kind == AccessKind::exec;
      if (!input || a.error != 0 || a.type != FileType::regular || missing.contains(a.resolved) || !pseudo_root(a.resolved).empty())
        continue;
      std::optional<FileInfo> on_host = host.info(a.resolved);
      if (bundle.info(a.resolved) || !on_host || on_host->type != EntryType::regular) continue;
      MissingFile m{.path = a.resolved, .test = sandboxed.run.label, .syscall = a.syscall, .looked_up = false};
      describe_process(m, find_process(processes, a.process));
      missing.emplace(a.resolved, std::move(m));
    }
  }
  return missing;
}

// Whether a path (it starts with '/', so never with a YAML indicator) would
// not read back as itself from a plain YAML scalar.
bool needs_quotes(const PathBytes& path) {
  if (path.find(": ") != PathBytes::npos || path.find(" #") != PathBytes::npos || path.back() == ' ' || path.back() == ':') return true;
  return std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

}  // namespace

std::vector<MissingFile> find_missing(const Trace& sandboxed, const std::vector<Trace>& original, const FileSystemView& bundle,
                                      const FileSystemView& host) {
  std::map<PathBytes, MissingFile> missing = failed_lookups(sandboxed, original, bundle, host);
  if (missing.empty()) missing = unread_inputs(sandboxed, original, bundle, host);
  std::vector<MissingFile> out;
  for (auto& [path, m] : missing) out.push_back(std::move(m));
  return out;
}

std::string include_lines(const std::vector<MissingFile>& missing) {
  std::string text = "include:\n";
  std::set<PathBytes> written;
  for (const MissingFile& m : missing) {
    PathBytes pattern = m.directory ? m.path + "/**" : m.path;
    if (!written.insert(pattern).second) continue;
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
