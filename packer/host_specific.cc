// find_host_specific: planned files that are personal or belong to the host
// they were taken from, found before anything is written, reported as
// warnings (never refused: such a file can be what the application needs).
//
// Three kinds of rules:
//  - home directories: every file below /root, /home/NAME and the user's
//    $HOME (~/.gitconfig, ~/.config/..., ~/.local/lib/python3/...). The
//    project being bundled often lives in a home directory too, so files below
//    a traced run's working directory are exempt, unless that directory is a
//    home directory itself.
//  - fixed names: the host's identity and network configuration (hostname,
//    hosts, resolv.conf, machine-id, mailname), its git, pip and SSH
//    known-hosts configuration, and CA certificates installed locally
//    (/usr/local/share/ca-certificates, /etc/pki/ca-trust/source/anchors).
//    /etc/passwd, /etc/nsswitch.conf and /etc/localtime are not on the list:
//    nearly every program reads them, so a warning for them would be noise.
//  - Python's .pth files in a site-packages or dist-packages directory run
//    code at every start; one that neither a Debian package (dpkg's lists)
//    nor a Python distribution (a RECORD beside it) installed was put there
//    by hand on this host (a site CA loader, a path hack).
// A file an include: rule names, or that the spec lists under
// `host_specific: allow:`, is acknowledged and not reported.
#include "tracepack/host_specific.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "tracepack/dpkg.h"
#include "tracepack/path_resolution.h"

namespace tracepack {
namespace {

struct NamedFile {
  std::string_view path;
  std::string_view why;
};

constexpr NamedFile kHostFiles[] = {
    {"/etc/hostname", "this host's name"},
    {"/etc/hosts", "this host's name table (host names and addresses)"},
    {"/etc/resolv.conf", "this host's DNS resolver configuration"},
    {"/etc/machine-id", "this machine's identity (machine-id)"},
    {"/var/lib/dbus/machine-id", "this machine's identity (machine-id)"},
    {"/etc/mailname", "this host's mail name"},
    {"/etc/gitconfig", "this host's git configuration"},
    {"/etc/pip.conf", "this host's pip configuration"},
    {"/etc/ssh/ssh_known_hosts", "SSH host keys known to this host"},
};

constexpr std::string_view kLocalCaDirectories[] = {"/usr/local/share/ca-certificates/", "/etc/pki/ca-trust/source/anchors/"};

bool below(std::string_view path, std::string_view dir) {
  return dir != "/" && path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

std::string_view base_name(std::string_view path) { return path.substr(path.rfind('/') + 1); }

/// The home directory `path` lies below, or "".
std::string_view home_of(std::string_view path, const std::vector<PathBytes>& homes) {
  if (below(path, "/root")) return path.substr(0, 5);
  if (path.starts_with("/home/")) {
    std::size_t slash = path.find('/', 6);
    if (slash != std::string_view::npos && slash > 6) return path.substr(0, slash);
  }
  for (const PathBytes& home : homes)
    if (below(path, home)) return path.substr(0, home.size());
  return {};
}

bool is_home(std::string_view dir, const std::vector<PathBytes>& homes) {
  return dir == "/root" || (parent_of(dir) == "/home" && dir.size() > 6) || std::find(homes.begin(), homes.end(), dir) != homes.end();
}

bool in_project(std::string_view path, const BundlePlan& plan, const std::vector<PathBytes>& homes) {
  return std::any_of(plan.runs.begin(), plan.runs.end(),
                     [&](const RunInfo& run) { return below(path, run.cwd) && !is_home(run.cwd, homes); });
}

bool is_site_pth(std::string_view path) {
  std::string_view dir = base_name(parent_of(path));
  return path.ends_with(".pth") && (dir == "site-packages" || dir == "dist-packages");
}

// Whether a *.dist-info/RECORD in the .pth's directory lists it (RECORD's
// first CSV field is the path relative to that directory).
bool recorded_by_distribution(const PathBytes& pth, const PathBytes& root) {
  PathBytes site = PathBytes(parent_of(pth));
  PathBytes host_site = (root == "/" ? "" : root) + site;
  std::string name(base_name(pth));
  DIR* d = opendir(host_site.c_str());
  if (d == nullptr) return false;
  bool found = false;
  while (const dirent* e = readdir(d)) {
    std::string_view dist_info = e->d_name;
    if (found || !dist_info.ends_with(".dist-info")) continue;
    std::ifstream record(host_site + "/" + std::string(dist_info) + "/RECORD");
    for (std::string row; !found && std::getline(record, row);) {
      std::string field = row.substr(0, row.find(','));
      if (field.size() >= 2 && field.front() == '"' && field.back() == '"') field = field.substr(1, field.size() - 2);
      found = field == name;
    }
  }
  closedir(d);
  return found;
}

bool installed_by_dpkg(const PlanEntry& entry, const HostSpecificOptions& options) {
  BundlePlan one;
  one.entries.push_back(entry);
  std::vector<PackageUsage> usage = package_usage(one, options.dpkg_admin_dir, options.root);
  return !usage.empty() && usage.back().files_used == 0;  // the last element counts files of no package
}

std::string pth_kind(const PlanEntry& e, const HostSpecificOptions& options) {
  if (e.type != EntryType::regular || !is_site_pth(e.path)) return "";
  if (recorded_by_distribution(e.path, options.root) || installed_by_dpkg(e, options)) return "";
  return "Python .pth file that no package installed (runs at every interpreter start)";
}

bool acknowledged(const PlanEntry& e, const HostSpecificSpec& allowed) {
  if (std::any_of(allowed.allow.begin(), allowed.allow.end(), [&](const AllowedHostFile& a) { return a.path == e.path; })) return true;
  return std::any_of(e.reasons.begin(), e.reasons.end(), [](const PlanReason& r) { return r.source == PlanReason::Source::rule; });
}

}  // namespace

std::vector<PathBytes> environment_homes() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home != '/') return {};
  PathBytes path = home;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") return {};
  return {path};
}

namespace {

// What host_specific_kind found, and whether it is a home directory's file
// (which the project's own files are not, wherever the project lies).
struct HostKind {
  std::string why;
  bool in_home = false;
};

HostKind classify_host_file(std::string_view path, const std::vector<PathBytes>& homes) {
  for (const NamedFile& f : kHostFiles)
    if (path == f.path) return {.why = std::string(f.why)};
  for (std::string_view dir : kLocalCaDirectories)
    if (path.starts_with(dir)) return {.why = "CA certificate installed locally on this host"};
  if (std::string_view home = home_of(path, homes); !home.empty())
    return {.why = "file in a home directory (" + encode_path(home) + ")", .in_home = true};
  return {};
}

}  // namespace

std::string host_specific_kind(std::string_view path, const std::vector<PathBytes>& homes) { return classify_host_file(path, homes).why; }

std::string exclude_line_for(std::string_view path) { return glob_list_item(path); }

std::vector<HostSpecificFinding> find_host_specific(const BundlePlan& plan, const HostSpecificSpec& allowed,
                                                    const HostSpecificOptions& options) {
  std::vector<HostSpecificFinding> findings;
  for (const PlanEntry& e : plan.entries) {
    if (e.type == EntryType::directory || acknowledged(e, allowed)) continue;
    HostKind kind = classify_host_file(e.path, options.homes);
    std::string why = kind.in_home && in_project(e.path, plan, options.homes) ? "" : std::move(kind.why);
    if (why.empty()) why = pth_kind(e, options);
    if (!why.empty()) findings.push_back({.path = e.path, .why = std::move(why), .exclude_line = exclude_line_for(e.path)});
  }
  return findings;
}

std::vector<std::string> host_specific_lines(const std::vector<HostSpecificFinding>& findings, std::size_t max_files) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < findings.size() && i < max_files; ++i) {
    lines.push_back("host-specific: review " + encode_path(findings[i].path) + ": " + findings[i].why);
    lines.push_back("  to leave it out: exclude: " + findings[i].exclude_line);
  }
  if (findings.size() > max_files)
    lines.push_back("host-specific: ... and " + std::to_string(findings.size() - max_files) + " more (tracepack report lists them all)");
  if (!findings.empty()) lines.push_back("host-specific: to pack one on purpose, list its path under 'host_specific: allow:' in the spec");
  return lines;
}

}  // namespace tracepack
