// The secrets check: files a plan would pack that look like secrets (private
// keys, password hashes, credentials), found before anything is written.
// The rules are listed for users in docs/spec-format.md (`secrets:`).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tracepack/plan.h"
#include "tracepack/spec.h"

namespace tracepack {

/// How many leading bytes of a file the content rules look at.
inline constexpr std::size_t kSecretSniffBytes = 4096;

/// Regular files larger than this are never sniffed (a key file is small).
inline constexpr std::uint64_t kMaxSniffedFileSize = 1024 * 1024;

/// Returns up to kSecretSniffBytes leading bytes of the file at an absolute
/// path, "" when it cannot be read.
using ContentSniffer = std::function<std::string(const PathBytes&)>;

/// A planned file that looks like a secret.
struct SecretFinding {
  PathBytes path;
  std::string kind;                    ///< what it looks like: "OpenSSH private key", "password hashes"...
  std::vector<PlanReason> provenance;  ///< the plan entry's reasons: why it would be packed
};

/// What a path's name alone says: a description of the secret ("SSH file")
/// or "" when the name is not evidence. Pure.
std::string secret_kind_by_name(std::string_view path);

/// What a file's leading bytes say: "OpenSSH private key", "PEM private key"
/// (any "-----BEGIN ... PRIVATE KEY-----" line), "PGP private key", or "".
/// Certificates and public keys are not secrets. Pure.
std::string secret_kind_by_content(std::string_view head);

/// Whether the content of `entry` is looked at (see docs/spec-format.md):
/// regular files up to kMaxSniffedFileSize, outside /usr (but /usr/local is
/// looked at) unless named *.pem or *.key. Pure.
bool should_sniff(const PlanEntry& entry);

/// Every regular entry of `plan` that looks like a secret and is not in
/// `allowed`, in path order. Reads file contents only through `sniff`, only
/// for entries should_sniff accepts. Pure apart from `sniff`.
std::vector<SecretFinding> find_secrets(const BundlePlan& plan, const SecretsSpec& allowed, const ContentSniffer& sniff);

/// The refusal for `findings` (not empty): one line per file with what it looks
/// like, its provenance below it, then the two ways out. `spec_file` names the
/// spec in the advice ("" when there is none).
std::string secrets_refusal(const std::vector<SecretFinding>& findings, const std::string& spec_file);

/// find_secrets, then throws Error(secrets_refusal(...)) if anything was found.
void check_secrets(const BundlePlan& plan, const BundleSpec& spec, const ContentSniffer& sniff);

/// A ContentSniffer reading files under `root` ("/" by default), never
/// following a final symlink, never reading more than kSecretSniffBytes.
ContentSniffer host_sniffer(PathBytes root = "/");

}  // namespace tracepack
