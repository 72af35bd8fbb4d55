// The secrets check as pure functions: name rules, content rules, which files
// are sniffed, find_secrets over a hand-made plan with a fake sniffer, the
// refusal's text, and the spec's `secrets:` key.
#include <gtest/gtest.h>

#include <unistd.h>

#include <map>

#include "tracepack/error.h"
#include "tracepack/host_specific.h"
#include "tracepack/secrets.h"

namespace tracepack {
namespace {

constexpr std::string_view kOpenSsh =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n";
constexpr std::string_view kPkcs8 = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDd1\n-----END PRIVATE KEY-----\n";
constexpr std::string_view kRsa = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n";
constexpr std::string_view kCertificate = "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----\n";
constexpr std::string_view kPublicKey = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";

TEST(SecretsByContent, PrivateKeysAreFound) {
  EXPECT_EQ(secret_kind_by_content(kOpenSsh), "OpenSSH private key");
  EXPECT_EQ(secret_kind_by_content(kPkcs8), "PEM private key (PRIVATE KEY)");
  EXPECT_EQ(secret_kind_by_content(kRsa), "PEM private key (RSA PRIVATE KEY)");
  EXPECT_EQ(secret_kind_by_content("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "PEM private key (ENCRYPTED PRIVATE KEY)");
  EXPECT_EQ(secret_kind_by_content("-----BEGIN PGP PRIVATE KEY BLOCK-----\n"), "PGP private key");
  EXPECT_EQ(secret_kind_by_content("PuTTY-User-Key-File-3: ssh-ed25519\n"), "PuTTY private key");
}

TEST(SecretsByContent, KeyAfterACertificateInTheSameFileIsFound) {
  EXPECT_EQ(secret_kind_by_content(std::string(kCertificate) + std::string(kRsa)), "PEM private key (RSA PRIVATE KEY)");
}

TEST(SecretsByContent, CertificatesPublicKeysAndTextAreNotSecrets) {
  EXPECT_EQ(secret_kind_by_content(kCertificate), "");
  EXPECT_EQ(secret_kind_by_content(kPublicKey), "");
  EXPECT_EQ(secret_kind_by_content("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host\n"), "");
  EXPECT_EQ(secret_kind_by_content("# how to make a key:\n# -----BEGIN\n PRIVATE KEY-----\n"), "");
  EXPECT_EQ(secret_kind_by_content(""), "");
}

TEST(SecretsByName, SystemAndHomeCredentialFiles) {
  EXPECT_EQ(secret_kind_by_name("/etc/shadow"), "password hashes");
  EXPECT_EQ(secret_kind_by_name("/etc/gshadow-"), "password hashes");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.ssh/id_ed25519"), "SSH key or configuration (~/.ssh)");
  EXPECT_EQ(secret_kind_by_name("/root/.ssh/known_hosts"), "SSH key or configuration (~/.ssh)");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.aws/credentials"), "AWS credentials");
  EXPECT_EQ(secret_kind_by_name("/root/.config/gcloud/application_default_credentials.json"), "Google Cloud credentials");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.config/gcloud/legacy_credentials/ann@example.com/adc.json"), "Google Cloud credentials");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.azure/msal_token_cache.json"), "Azure credentials");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.docker/config.json"), "Docker registry credentials");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.kube/config"), "Kubernetes credentials");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.netrc"), "netrc credentials");
  EXPECT_EQ(secret_kind_by_name("/srv/app/.env"), "environment file (.env)");
  EXPECT_EQ(secret_kind_by_name("/srv/app/.env.production"), "environment file (.env)");
  EXPECT_EQ(secret_kind_by_name("/etc/ssl/private/ssl-cert-snakeoil.key"), "key file in a 'private' directory");
}

TEST(SecretsByName, LookAlikesAreNotSecrets) {
  EXPECT_EQ(secret_kind_by_name("/etc/passwd"), "");
  EXPECT_EQ(secret_kind_by_name("/etc/ssh/ssh_config"), "");
  EXPECT_EQ(secret_kind_by_name("/etc/ssl/certs/ca-certificates.crt"), "");
  EXPECT_EQ(secret_kind_by_name("/etc/ssl/certs/ISRG_Root_X1.pem"), "");
  EXPECT_EQ(secret_kind_by_name("/srv/app/server.key"), "");  // content decides
  EXPECT_EQ(secret_kind_by_name("/srv/app/.env.example"), "");
  EXPECT_EQ(secret_kind_by_name("/srv/app/.environment"), "");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.config/gcloud/configurations/config_default"), "");
  EXPECT_EQ(secret_kind_by_name("/home/ann/.aws/config"), "");
  EXPECT_EQ(secret_kind_by_name("/home/.ssh"), "");
}

PlanEntry regular(const PathBytes& path, std::uint64_t size = 100) {
  PlanEntry e;
  e.path = path;
  e.size = size;
  e.mode = 0600;
  return e;
}

TEST(SecretsSniff, SmallFilesOutsideUsrAndKeyNamesInside) {
  EXPECT_TRUE(should_sniff(regular("/srv/app/id_test")));
  EXPECT_TRUE(should_sniff(regular("/usr/local/etc/app.conf")));
  EXPECT_TRUE(should_sniff(regular("/usr/lib/python3.11/test/keycert.pem")));
  EXPECT_FALSE(should_sniff(regular("/usr/lib/x86_64-linux-gnu/libc.so.6")));
  EXPECT_FALSE(should_sniff(regular("/srv/app/big.bin", kMaxSniffedFileSize + 1)));
  EXPECT_FALSE(should_sniff(regular("/srv/app/empty", 0)));
  PlanEntry dir = regular("/srv/app");
  dir.type = EntryType::directory;
  EXPECT_FALSE(should_sniff(dir));
}

// A plan of a few files, the reasons of `make_plan`, and their heads.
struct Fixture {
  BundlePlan plan;
  std::map<PathBytes, std::string> heads;
  int reads = 0;

  Fixture() {
    PlanEntry key = regular("/srv/app/server.key");
    key.reasons.push_back({.source = PlanReason::Source::traced,
                           .detail = "test 'serve', app, openat",
                           .test = "serve",
                           .process = 2,
                           .pid = 4242,
                           .syscall = "openat"});
    PlanEntry shadow = regular("/etc/shadow");
    shadow.reasons.push_back({.source = PlanReason::Source::rule, .detail = "included by rule '/etc/*' (app.yaml:7:5)", .rule = "/etc/*"});
    PlanEntry cert = regular("/etc/ssl/certs/ssl-cert-snakeoil.pem");
    PlanEntry bundle = regular("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt");
    PlanEntry library = regular("/usr/lib/libkey.so");
    plan.entries = {shadow, cert, key, bundle, library};
    heads["/srv/app/server.key"] = kPkcs8;
    heads["/etc/ssl/certs/ssl-cert-snakeoil.pem"] = kCertificate;
    heads["/usr/lib/libkey.so"] = kRsa;  // never read: /usr, not a key name
  }
  ContentSniffer sniffer() {
    return [this](const PathBytes& path) {
      ++reads;
      auto it = heads.find(path);
      return it == heads.end() ? std::string() : it->second;
    };
  }
};

TEST(FindSecrets, FlagsByNameAndByContentWithProvenance) {
  Fixture f;
  std::vector<SecretFinding> found = find_secrets(f.plan, {}, f.sniffer());
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].path, "/etc/shadow");
  EXPECT_EQ(found[0].kind, "password hashes");
  EXPECT_EQ(found[1].path, "/srv/app/server.key");
  EXPECT_EQ(found[1].kind, "PEM private key (PRIVATE KEY)");
  ASSERT_EQ(found[1].provenance.size(), 1u);
  EXPECT_EQ(found[1].provenance[0].pid, 4242);
  EXPECT_EQ(f.reads, 2) << "only the certificate and the key are sniffed";
}

TEST(FindSecrets, AllowedPathsAreSkippedOneByOne) {
  Fixture f;
  SecretsSpec allowed;
  allowed.allow.push_back({"/srv/app/server.key", {}});
  std::vector<SecretFinding> found = find_secrets(f.plan, allowed, f.sniffer());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].path, "/etc/shadow");
}

TEST(FindSecrets, RefusalListsEachFileItsProvenanceAndTheWaysOut) {
  Fixture f;
  BundleSpec spec;
  spec.file = "app.yaml";
  try {
    check_secrets(f.plan, spec, f.sniffer());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "secrets: 2 file(s) to be packed look like secrets:\n"
                 "  /etc/shadow: password hashes\n"
                 "    included by rule '/etc/*' (app.yaml:7:5)\n"
                 "  /srv/app/server.key: PEM private key (PRIVATE KEY)\n"
                 "    test 'serve', app, openat (pid 4242)\n"
                 "leave each one out with an 'exclude:' entry in app.yaml, or pack it on purpose by listing its path "
                 "under 'secrets: allow:' there");
  }
}

TEST(FindSecrets, NothingFoundIsNoError) {
  Fixture f;
  f.plan.entries.erase(f.plan.entries.begin());  // /etc/shadow
  f.heads.erase("/srv/app/server.key");
  EXPECT_NO_THROW(check_secrets(f.plan, BundleSpec{}, f.sniffer()));
}

TEST(HostSniffer, ReadsOnlyTheHeadAndCertificatesPass) {
  const PathBytes store = "/etc/ssl/certs/ca-certificates.crt";
  if (access(store.c_str(), R_OK) != 0) GTEST_SKIP() << store << " is not installed (package ca-certificates)";
  std::string head = host_sniffer()(store);
  EXPECT_EQ(head.size(), kSecretSniffBytes);
  EXPECT_TRUE(head.starts_with("-----BEGIN CERTIFICATE-----")) << head.substr(0, 64);
  EXPECT_EQ(secret_kind_by_content(head), "");
  EXPECT_EQ(host_sniffer()("/nonexistent/file"), "");
}

std::string spec_error(const std::string& secrets) {
  try {
    parse_spec("name: app\ntests: [{name: a, run: [x]}]\noutput: {path: o}\n" + secrets, "app.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SecretsSpecKey, AllowListIsRead) {
  BundleSpec spec =
      parse_spec("name: app\ntests: [{name: a, run: [x]}]\noutput: {path: o}\nsecrets:\n  allow:\n    - /srv/app/server.key\n", "app.yaml");
  ASSERT_EQ(spec.secrets.allow.size(), 1u);
  EXPECT_EQ(spec.secrets.allow[0].path, "/srv/app/server.key");
  EXPECT_EQ(spec.secrets.allow[0].where.line, 6);
  EXPECT_EQ(spec.secrets.allow[0].where.column, 7);
}

TEST(SecretsSpecKey, MisspeltKeyGetsDidYouMean) {
  EXPECT_EQ(spec_error("secrets:\n  alow: [/a]\n"), "app.yaml:5:3: unknown key 'alow' (did you mean 'allow'?)");
  EXPECT_EQ(spec_error("secret:\n  allow: [/a]\n"), "app.yaml:4:1: unknown key 'secret' (did you mean 'secrets'?)");
}

TEST(SecretsSpecKey, TypeErrorsAreAllReported) {
  EXPECT_EQ(spec_error("secrets:\n  allow: /a\n"), "app.yaml:5:10: 'allow' must be a list, not a string");
  EXPECT_EQ(spec_error("secrets: [/a]\n"), "app.yaml:4:10: 'secrets' must be a map, not a list");
  EXPECT_EQ(spec_error("secrets:\n  allow: [relative/key, {a: 1}]\n"),
            "app.yaml:5:11: 'allow' entries must be absolute paths, not 'relative/key'\n"
            "app.yaml:5:25: 'allow' entries must be strings, not a map");
}

// ---- host-specific files (a warning, not a refusal) ---------------------------

TEST(HostSpecificKind, IdentityConfigurationHomesAndLocalCas) {
  const std::vector<PathBytes> homes = {"/srv/me"};
  EXPECT_EQ(host_specific_kind("/etc/hostname", homes), "this host's name");
  EXPECT_EQ(host_specific_kind("/etc/machine-id", homes), "this machine's identity (machine-id)");
  EXPECT_EQ(host_specific_kind("/var/lib/dbus/machine-id", homes), "this machine's identity (machine-id)");
  EXPECT_EQ(host_specific_kind("/etc/ssh/ssh_known_hosts", homes), "SSH host keys known to this host");
  EXPECT_EQ(host_specific_kind("/root/.gitconfig", homes), "file in a home directory (/root)");
  EXPECT_EQ(host_specific_kind("/home/ann/.config/x", homes), "file in a home directory (/home/ann)");
  EXPECT_EQ(host_specific_kind("/srv/me/.gitconfig", homes), "file in a home directory (/srv/me)");
  EXPECT_EQ(host_specific_kind("/usr/local/share/ca-certificates/corp/ca.crt", homes), "CA certificate installed locally on this host");
  for (const char* plain : {"/etc/passwd", "/etc/localtime", "/etc/nsswitch.conf", "/root", "/home/ann", "/home", "/srv/meat/x",
                            "/rootfs/x", "/usr/share/ca-certificates/mozilla/x.crt", "/etc/hostname.d"})
    EXPECT_EQ(host_specific_kind(plain, homes), "") << plain;
}

TEST(HostSpecificKind, ExcludeLineEscapesGlobsAndQuotesForYaml) {
  EXPECT_EQ(exclude_line_for("/etc/hostname"), "- /etc/hostname");
  EXPECT_EQ(exclude_line_for("/home/ann/notes[1]*.txt"), "- '/home/ann/notes\\[1]\\*.txt'");
  EXPECT_EQ(exclude_line_for("/home/ann/it's: here"), "- '/home/ann/it''s: here'");
}

TEST(HostSpecificLines, ReviewLinesWithTheExcludeEntryAndALimit) {
  std::vector<HostSpecificFinding> findings = {{"/etc/hostname", "this host's name", "- /etc/hostname"},
                                               {"/etc/hosts", "this host's name table (host names and addresses)", "- /etc/hosts"}};
  EXPECT_EQ(
      host_specific_lines(findings, 1),
      (std::vector<std::string>{"host-specific: review /etc/hostname: this host's name", "  to leave it out: exclude: - /etc/hostname",
                                "host-specific: ... and 1 more (tracepack report lists them all)",
                                "host-specific: to pack one on purpose, list its path under 'host_specific: allow:' in the spec"}));
  EXPECT_TRUE(host_specific_lines({}).empty());
}

}  // namespace
}  // namespace tracepack
