// SBOMs of a bundle. The packages come from the same places the report's do:
// dpkg's info/*.list files say which package installed each bundled file
// (package_files, dpkg.cc), its status file gives the package's paragraph
// (version, architecture), and Python's *.dist-info/RECORD files give the
// distributions (distribution_usage, report.cc). A Debian package's licence is
// taken from /usr/share/doc/NAME/copyright only when that file is
// machine-readable (DEP-5, a "Format:" header) and every "License:" of its
// "Files:" paragraphs is a short name with a known SPDX identifier; then the
// expression is their conjunction. Otherwise no licence is claimed.
//
// The documents are rendered from plain data, packages and files in sorted
// order, with no clock and no random source: the time is SOURCE_DATE_EPOCH's
// (or the default the bundle uses), and the identifiers a format requires
// (CycloneDX's serialNumber, SPDX's documentNamespace) are derived from a
// SHA-256 of the rest of the document, so the same inputs give the same bytes.
#include "tracepack/sbom.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_set>

#include "sha256.h"
#include "tracepack/clock.h"
#include "tracepack/dpkg.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"
#include "tracepack/report.h"
#include "tracepack/spelling.h"

namespace tracepack {
namespace {

using Json = nlohmann::ordered_json;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

PathBytes prefix_of(const PathBytes& root) { return root == "/" ? "" : root; }

// ---- dpkg ------------------------------------------------------------------

/// The paragraphs of dpkg's status file, keyed by "Package" and "Package:Architecture".
std::map<std::string, std::string> status_paragraphs(const std::string& status_file) {
  std::map<std::string, std::string> out;
  std::ifstream in(status_file);
  std::string paragraph, package, arch;
  auto flush = [&] {
    if (!package.empty()) {
      out.emplace(package, paragraph);
      out[package + ":" + arch] = paragraph;
    }
    paragraph.clear();
    package.clear();
    arch.clear();
  };
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line.starts_with("Package: ")) package = line.substr(9);
    if (line.starts_with("Architecture: ")) arch = line.substr(14);
    paragraph += line + "\n";
  }
  flush();
  return out;
}

/// The first line of field `name` of a deb822 paragraph, "" if absent.
std::string field_of(const std::string& paragraph, std::string_view name) {
  std::istringstream in(paragraph);
  std::string prefix = std::string(name) + ":";
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) {
      std::string value = line.substr(prefix.size());
      std::size_t start = value.find_first_not_of(" \t");
      return start == std::string::npos ? "" : value.substr(start);
    }
  return "";
}

/// Debian's short licence names (copyright-format 1.0) and SPDX's identifiers.
std::string spdx_license_id(std::string name) {
  static const std::map<std::string, std::string> kIds = {
      {"GPL-1", "GPL-1.0-only"},          {"GPL-1+", "GPL-1.0-or-later"},     {"GPL-2", "GPL-2.0-only"},
      {"GPL-2+", "GPL-2.0-or-later"},     {"GPL-3", "GPL-3.0-only"},          {"GPL-3+", "GPL-3.0-or-later"},
      {"LGPL-2", "LGPL-2.0-only"},        {"LGPL-2+", "LGPL-2.0-or-later"},   {"LGPL-2.1", "LGPL-2.1-only"},
      {"LGPL-2.1+", "LGPL-2.1-or-later"}, {"LGPL-3", "LGPL-3.0-only"},        {"LGPL-3+", "LGPL-3.0-or-later"},
      {"AGPL-3", "AGPL-3.0-only"},        {"AGPL-3+", "AGPL-3.0-or-later"},   {"GFDL-1.3", "GFDL-1.3-only"},
      {"GFDL-1.3+", "GFDL-1.3-or-later"}, {"Apache-2.0", "Apache-2.0"},       {"Apache-2", "Apache-2.0"},
      {"MIT", "MIT"},                     {"Expat", "MIT"},                   {"BSD-2-clause", "BSD-2-Clause"},
      {"BSD-3-clause", "BSD-3-Clause"},   {"BSD-4-clause", "BSD-4-Clause"},   {"ISC", "ISC"},
      {"Zlib", "Zlib"},                   {"MPL-2.0", "MPL-2.0"},             {"Artistic", "Artistic-1.0-Perl"},
      {"PSF-2", "PSF-2.0"},               {"Python-2.0", "Python-2.0"},       {"CC0-1.0", "CC0-1.0"},
      {"OpenSSL", "OpenSSL"},             {"curl", "curl"},                   {"X11", "X11"},
      {"BSL-1.0", "BSL-1.0"},             {"Unicode-DFS-2016", "Unicode-DFS-2016"}};
  for (char& c : name)
    if (c == '_') c = '-';
  auto it = kIds.find(name);
  if (it != kIds.end()) return it->second;
  // The DEP-5 names are case-insensitive ("bsd-3-clause").
  for (const auto& [debian, spdx] : kIds)
    if (debian.size() == name.size() && std::equal(debian.begin(), debian.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return spdx;
  return "";
}

/// "GPL-2+ or Artistic" as an SPDX expression; "" unless every name is known
/// and only "or" joins them ("with" exceptions and "and" are left out).
std::string license_expression(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> ids;
  std::string word;
  bool expect_name = true;
  while (in >> word) {
    if (expect_name) {
      std::string id = spdx_license_id(word);
      if (id.empty()) return "";
      ids.push_back(id);
    } else if (word != "or") {
      return "";
    }
    expect_name = !expect_name;
  }
  if (ids.empty() || expect_name) return "";
  if (ids.size() == 1) return ids.front();
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "(" : " OR ") + id;
  return out + ")";
}

/// The licence a machine-readable /usr/share/doc/NAME/copyright declares, or "".
std::string declared_license(const PathBytes& root, const std::string& package) {
  std::ifstream in(prefix_of(root) + "/usr/share/doc/" + package + "/copyright");
  std::string line;
  if (!std::getline(in, line) || !line.starts_with("Format:")) return "";
  std::set<std::string> expressions;
  bool in_files = false;
  while (std::getline(in, line)) {
    if (line.empty()) in_files = false;
    if (line.starts_with("Files:")) in_files = true;
    if (!in_files || !line.starts_with("License:")) continue;
    std::string expression = license_expression(line.substr(8));
    if (expression.empty()) return "";
    expressions.insert(expression);
  }
  std::string out;
  for (const std::string& e : expressions) out += (out.empty() ? "" : " AND ") + e;
  return out;
}

std::vector<SbomPackage> deb_packages(const BundlePlan& plan, const PathBytes& root) {
  std::string admin_dir = prefix_of(root) + "/var/lib/dpkg";
  std::map<std::string, std::string> status = status_paragraphs(admin_dir + "/status");
  std::vector<SbomPackage> out;
  for (PackageFiles& p : package_files(plan, admin_dir, root)) {
    SbomPackage s;
    s.ecosystem = "deb";
    s.name = p.package;
    auto it = status.find(p.architecture.empty() ? p.package : p.package + ":" + p.architecture);
    if (it != status.end()) s.status = it->second;
    s.version = field_of(s.status, "Version");
    s.architecture = field_of(s.status, "Architecture");
    if (s.architecture.empty()) s.architecture = p.architecture;
    s.license = declared_license(root, p.package);
    s.files = std::move(p.files);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<SbomPackage> python_packages(const BundlePlan& plan, const PathBytes& root,
                                         const std::unordered_set<PathBytes>& owned) {
  std::vector<ReportFile> files;
  for (const PlanEntry& e : plan.entries)
    if (e.type == EntryType::regular && !owned.contains(e.path)) files.push_back({.path = e.path, .size = e.size});
  std::vector<SbomPackage> out;
  for (DistributionUsage& d : distribution_usage(files, root)) {
    SbomPackage s{.ecosystem = "pypi", .name = d.name, .version = d.version, .files = std::move(d.files)};
    std::sort(s.files.begin(), s.files.end());
    s.files.erase(std::unique(s.files.begin(), s.files.end()), s.files.end());
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const SbomPackage& a, const SbomPackage& b) {
    return a.name != b.name ? a.name < b.name : a.version < b.version;
  });
  return out;
}

std::string md5_of_file(const PathBytes& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) throw_system_error(encode_path(path) + ": cannot open");
  Md5 md5;
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(encode_path(path) + ": cannot read");
    if (n == 0) break;
    md5.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return md5.hex();
}

// ---- rendering ---------------------------------------------------------------

std::string sha256_of(const std::string& text) {
  Sha256 sha;
  sha.update(text.data(), text.size());
  return sha.hex();
}

/// A UUID (RFC 4122 layout, version 5 and variant bits set) from the first
/// bytes of a SHA-256: derived from the content, never random.
std::string uuid_from(const std::string& hex) {
  std::string h = hex.substr(0, 32);
  h[12] = '5';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

std::string dump(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

/// The owner of each file that has one.
std::map<PathBytes, const SbomPackage*> owners_of(const SbomRequest& request) {
  std::map<PathBytes, const SbomPackage*> owners;
  for (const SbomPackage& p : request.packages)
    for (const PathBytes& f : p.files) owners.emplace(f, &p);
  return owners;
}

Json cyclonedx_file(const SbomFile& f, bool owned) {
  Json j = {{"type", "file"},
            {"bom-ref", "file:" + encode_path(f.path)},
            {"name", encode_path(f.path)},
            {"hashes", Json::array({{{"alg", "SHA-256"}, {"content", f.sha256}}})}};
  if (!owned) j["properties"] = Json::array({{{"name", "tracepack:package"}, {"value", "none"}}});
  return j;
}

Json cyclonedx_metadata(const SbomRequest& request, const std::string& bundle_name, std::int64_t epoch) {
  Json properties = Json::array();
  for (const std::string& t : request.traces) properties.push_back({{"name", "tracepack:input:trace"}, {"value", t}});
  if (!request.spec.empty()) properties.push_back({{"name", "tracepack:input:spec"}, {"value", request.spec}});
  Json tool = {{"type", "application"}, {"name", "tracepack"}, {"version", TRACEPACK_VERSION}};
  Json j = {{"timestamp", utc_timestamp(epoch)},
            {"tools", {{"components", Json::array({tool})}}},
            {"component", {{"type", "application"}, {"bom-ref", "bundle"}, {"name", bundle_name.empty() ? "bundle" : bundle_name}}}};
  if (!properties.empty()) j["properties"] = std::move(properties);
  return j;
}

std::string render_cyclonedx(const SbomRequest& request, const std::string& bundle_name, const std::vector<SbomFile>& files,
                             std::int64_t epoch) {
  std::map<PathBytes, const SbomPackage*> owners = owners_of(request);
  std::map<const SbomPackage*, Json> nested;
  Json components = Json::array();
  Json dependencies = Json::array();
  Json top_files = Json::array();
  for (const SbomFile& f : files) {
    auto it = owners.find(f.path);
    if (it == owners.end())
      top_files.push_back(cyclonedx_file(f, false));
    else
      nested[it->second].push_back(cyclonedx_file(f, true));
  }
  Json bundle_deps = Json::array();
  for (const SbomPackage& p : request.packages) {
    std::string purl = package_url(p);
    Json c = {{"type", "library"}, {"bom-ref", purl}, {"name", p.name}, {"version", p.version}};
    if (!p.license.empty()) c["licenses"] = Json::array({{{"expression", p.license}}});
    c["purl"] = purl;
    if (!p.architecture.empty()) c["properties"] = Json::array({{{"name", "tracepack:architecture"}, {"value", p.architecture}}});
    if (nested.contains(&p)) c["components"] = std::move(nested[&p]);
    components.push_back(std::move(c));
    bundle_deps.push_back(purl);
  }
  for (Json& f : top_files) components.push_back(std::move(f));
  dependencies.push_back({{"ref", "bundle"}, {"dependsOn", std::move(bundle_deps)}});
  Json body = {{"metadata", cyclonedx_metadata(request, bundle_name, epoch)},
               {"components", std::move(components)},
               {"dependencies", std::move(dependencies)}};
  Json doc = {{"$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json"},
              {"bomFormat", "CycloneDX"},
              {"specVersion", "1.5"},
              {"serialNumber", "urn:uuid:" + uuid_from(sha256_of(dump(body)))},
              {"version", 1}};
  for (auto& [key, value] : body.items()) doc[key] = std::move(value);
  return dump(doc);
}

/// `name` with what is not a letter, digit, '.' or '-' made '-' (SPDX identifiers allow no more).
std::string spdx_safe(std::string_view name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '-';
  return out;
}

std::string spdx_id(std::string_view kind, std::size_t index, std::string_view name) {
  return "SPDXRef-" + std::string(kind) + "-" + std::to_string(index) + "-" + spdx_safe(name);
}

Json spdx_relationship(const std::string& from, std::string_view type, const std::string& to) {
  return {{"spdxElementId", from}, {"relationshipType", type}, {"relatedSpdxElement", to}};
}

std::string render_spdx(const SbomRequest& request, const std::string& bundle_name, const std::vector<SbomFile>& files,
                        std::int64_t epoch) {
  std::string name = bundle_name.empty() ? "bundle" : bundle_name;
  const std::string bundle_id = "SPDXRef-Bundle";
  Json packages = Json::array({{{"SPDXID", bundle_id},
                                {"name", name},
                                {"downloadLocation", "NOASSERTION"},
                                {"filesAnalyzed", false},
                                {"licenseConcluded", "NOASSERTION"},
                                {"licenseDeclared", "NOASSERTION"},
                                {"copyrightText", "NOASSERTION"},
                                {"primaryPackagePurpose", "CONTAINER"}}});
  Json relationships = Json::array({spdx_relationship("SPDXRef-DOCUMENT", "DESCRIBES", bundle_id)});
  std::map<const SbomPackage*, std::string> ids;
  for (std::size_t i = 0; i < request.packages.size(); ++i) {
    const SbomPackage& p = request.packages[i];
    std::string id = spdx_id(p.ecosystem == "deb" ? "Package-deb" : "Package-pypi", i + 1, p.name);
    ids[&p] = id;
    packages.push_back({{"SPDXID", id},
                        {"name", p.name},
                        {"versionInfo", p.version},
                        {"downloadLocation", "NOASSERTION"},
                        {"filesAnalyzed", false},
                        {"licenseConcluded", "NOASSERTION"},
                        {"licenseDeclared", p.license.empty() ? "NOASSERTION" : p.license},
                        {"copyrightText", "NOASSERTION"},
                        {"externalRefs", Json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                                       {"referenceType", "purl"},
                                                       {"referenceLocator", package_url(p)}}})},
                        {"primaryPackagePurpose", "LIBRARY"}});
    relationships.push_back(spdx_relationship(bundle_id, "CONTAINS", id));
  }
  std::map<PathBytes, const SbomPackage*> owners = owners_of(request);
  Json spdx_files = Json::array();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const SbomFile& f = files[i];
    std::string id = "SPDXRef-File-" + std::to_string(i + 1);
    auto owner = owners.find(f.path);
    Json j = {{"SPDXID", id},
              {"fileName", "." + encode_path(f.path)},
              {"checksums", Json::array({{{"algorithm", "SHA256"}, {"checksumValue", f.sha256}}})},
              {"licenseConcluded", "NOASSERTION"},
              {"copyrightText", "NOASSERTION"}};
    if (owner == owners.end()) j["comment"] = "belongs to no package";
    spdx_files.push_back(std::move(j));
    relationships.push_back(spdx_relationship(owner == owners.end() ? bundle_id : ids[owner->second], "CONTAINS", id));
  }
  std::string inputs;
  for (const std::string& t : request.traces) inputs += (inputs.empty() ? "" : ", ") + std::string("trace ") + t;
  if (!request.spec.empty()) inputs += (inputs.empty() ? "" : ", ") + std::string("spec ") + request.spec;
  Json creation = {{"created", utc_timestamp(epoch)}, {"creators", Json::array({std::string("Tool: tracepack-") + TRACEPACK_VERSION})}};
  if (!inputs.empty()) creation["comment"] = "inputs: " + inputs;
  Json body = {{"creationInfo", std::move(creation)},
               {"packages", std::move(packages)},
               {"files", std::move(spdx_files)},
               {"relationships", std::move(relationships)}};
  std::string digest = sha256_of(dump(body));
  Json doc = {{"spdxVersion", "SPDX-2.3"},
              {"dataLicense", "CC0-1.0"},
              {"SPDXID", "SPDXRef-DOCUMENT"},
              {"name", name},
              {"documentNamespace", "https://tracepack.invalid/spdx/" + spdx_safe(name) + "-" + digest}};
  for (auto& [key, value] : body.items()) doc[key] = std::move(value);
  return dump(doc);
}

PlanEntry generated_entry(const PathBytes& path, EntryType type, std::uint64_t size, std::int64_t mtime, PlanReason reason) {
  PlanEntry e;
  e.path = path;
  e.type = type;
  e.mode = type == EntryType::directory ? 0755 : 0644;
  e.size = size;
  e.mtime = mtime;
  e.reasons.push_back(std::move(reason));
  return e;
}

}  // namespace

std::string sbom_format_problem(std::string_view name) {
  if (std::find(std::begin(kSbomFormats), std::end(kSbomFormats), name) != std::end(kSbomFormats)) return "";
  std::string_view suggestion = closest_spelling(name, kSbomFormats);
  if (!suggestion.empty()) return "unknown SBOM format " + quoted(name) + " (did you mean " + quoted(suggestion) + "?)";
  return "unknown SBOM format " + quoted(name) + " (expected one of: cyclonedx, spdx)";
}

std::string sbom_bundle_path(std::string_view format) {
  return format == "spdx" ? ".tracepack/sbom.spdx.json" : ".tracepack/sbom.cdx.json";
}

std::string sbom_output_path(const std::string& output, std::string_view format) {
  std::string base = output;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + (format == "spdx" ? ".spdx.json" : ".cdx.json");
}

std::string package_url(const SbomPackage& p) {
  // purl: the name and version are percent-encoded where they hold other than
  // letters, digits and ".-_~" ("1:2.3+dfsg" → "1%3A2.3%2Bdfsg"); pypi names are lower case.
  auto encode = [](std::string_view s, bool lower) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~') {
        out += lower ? static_cast<char>(std::tolower(c)) : static_cast<char>(c);
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        out += {'%', kHex[c >> 4], kHex[c & 15]};
      }
    }
    return out;
  };
  if (p.ecosystem == "pypi") {
    std::string name = encode(p.name, true);
    std::replace(name.begin(), name.end(), '_', '-');
    return "pkg:pypi/" + name + (p.version.empty() ? "" : "@" + encode(p.version, false));
  }
  std::string purl = "pkg:deb/debian/" + encode(p.name, false) + (p.version.empty() ? "" : "@" + encode(p.version, false));
  return p.architecture.empty() ? purl : purl + "?arch=" + encode(p.architecture, false);
}

std::vector<SbomPackage> find_sbom_packages(const BundlePlan& plan, const PathBytes& root) {
  std::vector<SbomPackage> out = deb_packages(plan, root);
  std::unordered_set<PathBytes> owned;
  for (const SbomPackage& p : out) owned.insert(p.files.begin(), p.files.end());
  for (SbomPackage& p : python_packages(plan, root, owned)) out.push_back(std::move(p));
  return out;
}

std::map<PathBytes, std::string> dpkg_status_files(const std::vector<SbomPackage>& packages, const PathBytes& root) {
  std::map<PathBytes, std::string> out;
  for (const SbomPackage& p : packages) {
    if (p.ecosystem != "deb" || p.status.empty()) continue;
    // Two architectures of one package (libc6:amd64, libc6:i386): the second is NAME:ARCH.
    PathBytes path = std::string(kDpkgStatusDir) + "/" + p.name;
    if (out.contains(path)) path += ":" + p.architecture;
    out[path] = p.status;
    std::string sums;
    for (const PathBytes& f : p.files) sums += md5_of_file(prefix_of(root) + f) + "  " + f.substr(1) + "\n";
    out[path + ".md5sums"] = sums;
  }
  return out;
}

void add_generated_files(BundlePlan& plan, std::map<PathBytes, std::string>& files, std::int64_t mtime) {
  std::map<PathBytes, const PlanEntry*> planned;
  for (const PlanEntry& e : plan.entries) planned.emplace(e.path, &e);
  std::vector<PlanEntry> added;
  for (auto it = files.begin(); it != files.end();) {
    const PathBytes& path = it->first;
    bool blocked = planned.contains(path);
    for (std::size_t slash = path.find('/', 1); slash != PathBytes::npos && !blocked; slash = path.find('/', slash + 1)) {
      auto dir = planned.find(path.substr(0, slash));
      blocked = dir != planned.end() && dir->second->type != EntryType::directory;
    }
    if (blocked) {
      it = files.erase(it);
      continue;
    }
    std::string reason = "dpkg metadata of the bundled packages, for scanners (sbom:)";
    for (std::size_t slash = path.find('/', 1); slash != PathBytes::npos; slash = path.find('/', slash + 1)) {
      PathBytes dir = path.substr(0, slash);
      if (planned.contains(dir) || std::any_of(added.begin(), added.end(), [&](const PlanEntry& e) { return e.path == dir; }))
        continue;
      added.push_back(generated_entry(dir, EntryType::directory, 0, mtime, {PlanReason::Source::parent, "parent of " + path}));
    }
    added.push_back(generated_entry(path, EntryType::regular, it->second.size(), mtime, {PlanReason::Source::rule, reason}));
    ++it;
  }
  for (PlanEntry& e : added) {
    if (e.type == EntryType::directory) files.emplace(e.path, "");
    plan.entries.push_back(std::move(e));
  }
}

std::string render_sbom(std::string_view format, const SbomRequest& request, const std::string& bundle_name,
                        const std::vector<SbomFile>& files, std::int64_t source_date_epoch) {
  if (format == "cyclonedx") return render_cyclonedx(request, bundle_name, files, source_date_epoch);
  if (format == "spdx") return render_spdx(request, bundle_name, files, source_date_epoch);
  throw Error("sbom: " + sbom_format_problem(format));
}

}  // namespace tracepack
