// find_secrets: the planned files that look like secrets, before packing.
//
// Two kinds of evidence, each a short list of rules:
//  - the name: files whose place says what they hold (/etc/shadow, anything
//    under a home's .ssh, cloud and registry credential files, .netrc, .env)
//    are secrets whatever their bytes. *.pem and *.key are secrets by name
//    only inside a directory named "private" (Debian's /etc/ssl/private):
//    elsewhere the same names often hold certificates or public keys, so
//    their content decides.
//  - the content: the first kSecretSniffBytes bytes of a file hold a private
//    key's armour line ("-----BEGIN ... PRIVATE KEY-----", OpenSSH's and PGP's
//    included). Certificates ("-----BEGIN CERTIFICATE-----") and public keys
//    never match. Only files that should_sniff accepts are read: small
//    regular files outside /usr, whose contents the package manager owns and
//    which would cost a read each for nothing, except *.pem and *.key there.
// Allowed paths (the spec's secrets: allow:) are skipped by exact match. The
// check runs on the plan, so each finding carries the plan's reasons.
#include "tracepack/secrets.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tracepack/error.h"
#include "tracepack/posix.h"

namespace tracepack {
namespace {

std::string_view base_name(std::string_view path) { return path.substr(path.rfind('/') + 1); }

/// The part of `path` below a home directory (/root/ or /home/NAME/), or "".
std::string_view below_home(std::string_view path) {
  if (path.starts_with("/root/")) return path.substr(6);
  if (!path.starts_with("/home/")) return {};
  std::size_t slash = path.find('/', 6);
  return slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
}

std::string kind_in_home(std::string_view rest) {
  if (rest.starts_with(".ssh/")) return "SSH key or configuration (~/.ssh)";
  if (rest == ".aws/credentials") return "AWS credentials";
  if (rest.starts_with(".config/gcloud/") && rest.substr(15).find("credentials") != std::string_view::npos)
    return "Google Cloud credentials";
  if (rest.starts_with(".azure/")) return "Azure credentials";
  if (rest == ".docker/config.json") return "Docker registry credentials";
  if (rest == ".kube/config") return "Kubernetes credentials";
  return "";
}

// ".env" and ".env.local", but not the templates projects commit on purpose.
bool is_env_file(std::string_view name) {
  if (name == ".env") return true;
  if (!name.starts_with(".env.")) return false;
  std::string_view suffix = name.substr(5);
  return suffix != "example" && suffix != "sample" && suffix != "template" && suffix != "dist";
}

bool has_key_extension(std::string_view name) { return name.ends_with(".pem") || name.ends_with(".key"); }

bool in_private_directory(std::string_view path) {
  std::string_view dir = path.substr(0, path.rfind('/'));
  return base_name(dir) == "private";
}

// The label between "-----BEGIN " and "-----" on the first armour line that
// names a private key, or "".
std::string private_key_label(std::string_view head) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  for (std::size_t at = head.find(kBegin); at != std::string_view::npos; at = head.find(kBegin, at + 1)) {
    std::size_t start = at + kBegin.size();
    std::size_t end = head.find("-----", start);
    if (end == std::string_view::npos) return "";
    std::string_view label = head.substr(start, end - start);
    if (label.find('\n') != std::string_view::npos) continue;
    if (label.ends_with("PRIVATE KEY") || label == "PGP PRIVATE KEY BLOCK") return std::string(label);
  }
  return "";
}

std::string provenance_line(const PlanReason& r) {
  if (r.source == PlanReason::Source::traced && r.pid != 0) return r.detail + " (pid " + std::to_string(r.pid) + ")";
  return r.detail;
}

bool is_allowed(const SecretsSpec& allowed, const PathBytes& path) {
  return std::any_of(allowed.allow.begin(), allowed.allow.end(), [&](const AllowedSecret& a) { return a.path == path; });
}

}  // namespace

std::string secret_kind_by_name(std::string_view path) {
  if (path == "/etc/shadow" || path == "/etc/shadow-" || path == "/etc/gshadow" || path == "/etc/gshadow-") return "password hashes";
  std::string_view name = base_name(path);
  if (std::string_view rest = below_home(path); !rest.empty())
    if (std::string kind = kind_in_home(rest); !kind.empty()) return kind;
  if (name == ".netrc" || name == "_netrc") return "netrc credentials";
  if (is_env_file(name)) return "environment file (.env)";
  if (has_key_extension(name) && in_private_directory(path)) return "key file in a 'private' directory";
  return "";
}

std::string secret_kind_by_content(std::string_view head) {
  if (head.starts_with("PuTTY-User-Key-File-")) return "PuTTY private key";
  std::string label = private_key_label(head);
  if (label.empty()) return "";
  if (label == "OPENSSH PRIVATE KEY") return "OpenSSH private key";
  if (label.starts_with("PGP ")) return "PGP private key";
  return "PEM private key (" + label + ")";
}

bool should_sniff(const PlanEntry& entry) {
  if (entry.type != EntryType::regular || entry.size == 0 || entry.size > kMaxSniffedFileSize) return false;
  bool package_owned = entry.path.starts_with("/usr/") && !entry.path.starts_with("/usr/local/");
  return !package_owned || has_key_extension(base_name(entry.path));
}

std::vector<SecretFinding> find_secrets(const BundlePlan& plan, const SecretsSpec& allowed, const ContentSniffer& sniff) {
  std::vector<SecretFinding> findings;
  for (const PlanEntry& e : plan.entries) {
    if (e.type != EntryType::regular || is_allowed(allowed, e.path)) continue;
    std::string kind = secret_kind_by_name(e.path);
    if (kind.empty() && should_sniff(e)) kind = secret_kind_by_content(sniff(e.path));
    if (!kind.empty()) findings.push_back({e.path, std::move(kind), e.reasons});
  }
  return findings;
}

std::string secrets_refusal(const std::vector<SecretFinding>& findings, const std::string& spec_file) {
  std::string spec = spec_file.empty() ? "the spec (--spec)" : spec_file;
  std::string text = "secrets: " + std::to_string(findings.size()) + " file(s) to be packed look like secrets:";
  for (const SecretFinding& f : findings) {
    text += "\n  " + encode_path(f.path) + ": " + f.kind;
    for (const PlanReason& r : f.provenance) text += "\n    " + provenance_line(r);
  }
  text += "\nleave each one out with an 'exclude:' entry in " + spec +
          ", or pack it on purpose by listing its path under 'secrets: allow:' there";
  return text;
}

void check_secrets(const BundlePlan& plan, const BundleSpec& spec, const ContentSniffer& sniff) {
  std::vector<SecretFinding> findings = find_secrets(plan, spec.secrets, sniff);
  if (!findings.empty()) throw Error(secrets_refusal(findings, spec.file));
}

ContentSniffer host_sniffer(PathBytes root) {
  return [root = std::move(root)](const PathBytes& path) -> std::string {
    PathBytes full = root == "/" ? path : root + path;
    // O_NONBLOCK: a FIFO put in place of a planned file must not hang the check.
    UniqueFd fd(::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.get() < 0) return "";
    std::string head(kSecretSniffBytes, '\0');
    std::size_t got = 0;
    while (got < head.size()) {
      ssize_t n = ::read(fd.get(), head.data() + got, head.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    head.resize(got);
    return head;
  };
}

}  // namespace tracepack
