// Knowledge packs: the built-in packs and a spec's own, read and checked;
// each built-in pack end to end with a real program whose second input
// fails in a bundle traced with the first, is named by the report, and runs
// once the spec turns the pack on.
#include "tracepack/knowledge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "tracepack/candidates.h"
#include "tracepack/error.h"
#include "tracepack/plan.h"
#include "tracepack/spec.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;
using namespace cli_test;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(KnowledgePacks, EveryBuiltInPackReadsAndEachRuleSaysWhyWhenAndWhat) {
  std::vector<std::string> names;
  for (const KnowledgePack& pack : builtin_packs()) {
    names.push_back(pack.name);
    EXPECT_FALSE(pack.description.empty()) << pack.name;
    ASSERT_FALSE(pack.rules.empty()) << pack.name;
    for (const PackRule& rule : pack.rules) {
      EXPECT_FALSE(rule.why.empty()) << pack.name << "/" << rule.name;
      EXPECT_FALSE(rule.when.empty()) << pack.name << "/" << rule.name;
      EXPECT_FALSE(rule.add.empty()) << pack.name << "/" << rule.name;
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ca-certificates", "gconv", "git-core", "locales", "nss", "perl-encode", "python-encodings",
                                             "python-stdlib", "tzdata"}));
}

TEST(KnowledgePacks, APackFileWithMistakesNamesEachWithItsPosition) {
  std::string text =
      "name: mine\n"
      "rules:\n"
      "  - name: a\n"
      "    why: because\n"
      "    when: []\n"
      "    add: [relative/path, {elf: lib.so}, {nss: /etc/x}]\n"
      "    envv: {}\n";
  EXPECT_EQ(error_of([&] { parse_pack(text, "mine.yaml"); }),
            "mine.yaml:5:11: 'when' must list at least one glob\n"
            "mine.yaml:6:11: 'add' glob 'relative/path' must start with '/' or '${dir}/'\n"
            "mine.yaml:6:32: 'elf' must be an absolute path or start with '${dir}/', not 'lib.so'\n"
            "mine.yaml:6:42: unknown key 'nss' (expected one of: elf, nss_modules)\n"
            "mine.yaml:7:5: unknown key 'envv' (did you mean 'env'?)");
}

TEST(KnowledgePacks, ASpecNamingAnUnknownPackGetsADidYouMean) {
  std::string text = "name: x\ntests:\n  - name: t\n    run: [/bin/true]\noutput:\n  path: x.tar\npacks: [tzdta]\n";
  EXPECT_EQ(error_of([&] { parse_spec(text, "t.yaml"); }), "t.yaml:7:9: unknown pack 'tzdta' (did you mean 'tzdata'?)");
}

TEST(KnowledgePacks, AUserPackMayNotTakeABuiltInName) {
  std::string text =
      "name: x\ntests:\n  - name: t\n    run: [/bin/true]\noutput:\n  path: x.tar\n"
      "knowledge:\n  - name: tzdata\n    rules: []\n";
  EXPECT_EQ(error_of([&] { parse_spec(text, "t.yaml"); }),
            "t.yaml:8:3: knowledge pack 'tzdata' (t.yaml) has the name of a built-in pack");
}

TEST(KnowledgePacks, APackFileMustBeARegularFileAndReadable) {
  std::string head = "name: x\ntests:\n  - name: t\n    run: [/bin/true]\noutput:\n  path: x.tar\n";
  EXPECT_EQ(error_of([&] { parse_spec(head + "knowledge: [/dev/zero]\n", "t.yaml"); }),
            "t.yaml:7:13: knowledge pack '/dev/zero': /dev/zero is not a regular file");
  EXPECT_EQ(error_of([&] { parse_spec(head + "knowledge: [missing.yaml]\n", "dir/t.yaml"); }),
            "dir/t.yaml:7:13: knowledge pack 'missing.yaml': dir/missing.yaml: cannot read: No such file or directory");
}

TEST(KnowledgePacks, DirTemplatesFollowEachTriggerAndNsswitchServicesBecomeModules) {
  KnowledgePack pack = parse_pack(
      "name: p\nrules:\n  - name: r\n    why: w\n    when: [\"*/enc/__init__.py\"]\n    add: [\"${dir}/**\", \"${dir}/../dyn/*.so\"]\n",
      "p.yaml");
  std::vector<PackMatch> m = match_packs({&pack}, {"/a/enc/__init__.py", "/b/enc/__init__.py", "/c/other.py"});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].triggers, (std::vector<PathBytes>{"/a/enc/__init__.py", "/b/enc/__init__.py"}));
  std::vector<std::string> added;
  for (const PackItem& item : m[0].add) added.push_back(item.pattern);
  EXPECT_EQ(added, (std::vector<std::string>{"/a/enc/**", "/b/enc/**", "/a/dyn/*.so", "/b/dyn/*.so"}));
}

// A project whose one test is the first input; the second input is verified
// against the bundle.
struct PackProject {
  TempDir dir{KNOWLEDGE_TMP_DIR};
  PathBytes root;
  PackProject() { root = fs::canonical(dir.path()).string(); }
  void spec(const std::string& test, const std::string& extra = "") const {
    write_file(root + "/tracepack.yaml", "name: packs\ntests:\n" + test + extra + "output:\n  path: dist/b.tar\n");
  }
  RunResult build() const { return tracepack({"build", "--no-verify", "tracepack.yaml"}, {.cwd = root}); }
  RunResult verify() const { return tracepack({"verify", root + "/dist/b.tar", "--spec", "tracepack.yaml"}, {.cwd = root}); }
};

struct PackCase {
  std::string pack;
  std::string first;            // the traced test, YAML
  std::string second;           // the other input, YAML
  std::string candidate;        // the candidate's path ends with it
  std::string missing;          // verify's "missing:" line holds it
  std::vector<std::string> needs;  // programs the case runs
};

std::ostream& operator<<(std::ostream& out, const PackCase& c) { return out << c.pack; }

class BuiltInPack : public testing::TestWithParam<PackCase> {};

TEST_P(BuiltInPack, TheSecondInputFailsWithoutThePackIsNamedByTheReportAndRunsWithThePackOn) {
  const PackCase& c = GetParam();
  for (const std::string& program : c.needs)
    if (!fs::exists(program)) GTEST_SKIP() << program << " is not installed";
  PackProject p;
  write_file(p.root + "/in.txt", "hi\n");
  p.spec(c.first);
  RunResult built = p.build();
  ASSERT_TRUE(exited_with(built, 0)) << built.err;

  Json report = report_json(p.root + "/dist/b.tar");
  const Json* found = nullptr;
  for (const Json& candidate : report["candidates"])
    if (candidate["kind"] == "knowledge-pack" && candidate["path"].get<std::string>().ends_with(c.candidate)) found = &candidate;
  ASSERT_NE(found, nullptr) << report["candidates"].dump(2);
  EXPECT_NE((*found)["reason"].get<std::string>().find("the '" + c.pack + "' pack's rule '"), std::string::npos) << found->dump();
  EXPECT_NE((*found)["reason"].get<std::string>().find("(turn the pack on with `packs: [" + c.pack + "]`)"), std::string::npos);
  EXPECT_TRUE((*found)["evidence"][0].get<std::string>().starts_with("/")) << found->dump();
  EXPECT_GT((*found)["files"].get<int>(), 0);
  EXPECT_TRUE((*found)["include"].get<std::string>().starts_with("- ")) << found->dump();

  p.spec(c.second);
  RunResult failed = p.verify();
  EXPECT_TRUE(exited_with(failed, 1)) << failed.out << failed.err;
  EXPECT_NE(failed.out.find("missing: "), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find(c.missing), std::string::npos) << failed.out;

  p.spec(c.first, "packs: [" + c.pack + "]\n");
  built = p.build();
  ASSERT_TRUE(exited_with(built, 0)) << built.err;
  report = report_json(p.root + "/dist/b.tar");
  for (const Json& candidate : report["candidates"])
    EXPECT_EQ(candidate["reason"].get<std::string>().find("the '" + c.pack + "' pack"), std::string::npos) << candidate.dump(2);
  // The files the pack brought say why.
  bool explained = false;
  for (const Json& file : report["files"])
    for (const Json& reason : file["reasons"])
      if (reason.get<std::string>().find("(pack '" + c.pack + "', rule '") != std::string::npos) explained = true;
  EXPECT_TRUE(explained);

  p.spec(c.second);
  RunResult passed = p.verify();
  EXPECT_TRUE(exited_with(passed, 0)) << passed.out << passed.err;
}

const std::string kPython = "/usr/bin/python3";

INSTANTIATE_TEST_SUITE_P(
    Packs, BuiltInPack,
    testing::Values(
        PackCase{"tzdata",
                 "  - name: paris\n    run: [/bin/date, +%Z]\n    env: {TZ: Europe/Paris}\n",
                 "  - name: tokyo\n    run: [/bin/date, +%Z]\n    env: {TZ: Asia/Tokyo}\n    stdout: \"JST\\n\"\n",
                 "/usr/share/zoneinfo", "/usr/share/zoneinfo/Asia/", {"/usr/share/zoneinfo/Asia/Tokyo"}},
        PackCase{"gconv",
                 "  - name: latin9\n    run: [iconv, -f, UTF-8, -t, ISO-8859-15, in.txt]\n",
                 "  - name: ebcdic\n    run: [iconv, -f, UTF-8, -t, EBCDIC-US, in.txt]\n",
                 "/gconv", "/gconv/", {"/usr/bin/iconv"}},
        PackCase{"python-encodings",
                 "  - name: utf8\n    run: [python3, -c, \"print(bytes([104]).decode('utf-8'))\"]\n",
                 "  - name: cp1252\n    run: [python3, -c, \"print(len(bytes([233]).decode('cp1252')))\"]\n    stdout: \"1\\n\"\n",
                 "/encodings", "/encodings/", {kPython}},
        PackCase{"python-stdlib",
                 "  - name: date\n    run: [python3, -c, \"import calendar, datetime; print(datetime.date(2020, 1, 2))\"]\n",
                 "  - name: parse\n    run: [python3, -c, \"import datetime; print(datetime.datetime.strptime('2020', '%Y').year)\"]\n"
                 "    stdout: \"2020\\n\"\n",
                 "/_strptime.py", "/_strptime", {kPython}},
        PackCase{"nss",
                 "  - name: hosts\n    run: [getent, hosts, localhost]\n",
                 "  - name: services\n    run: [getent, services, https]\n",
                 "/etc/services", "/etc/services", {"/usr/bin/getent", "/etc/services"}},
        PackCase{"ca-certificates",
                 "  - name: one\n    run: [openssl, x509, -noout, -subject, -in, /etc/ssl/certs/ISRG_Root_X1.pem]\n",
                 "  - name: other\n    run: [openssl, verify, -CApath, /etc/ssl/certs, "
                 "/usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt]\n",
                 "/etc/ssl/certs", "/usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt",
                 {"/usr/bin/openssl", "/etc/ssl/certs/ISRG_Root_X1.pem", "/usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt"}},
        PackCase{"locales",
                 "  - name: ctype\n    run: [python3, -c, \"import locale; print(locale.setlocale(locale.LC_CTYPE, ''))\"]\n"
                 "    env: {LC_ALL: '', LANG: '', LC_CTYPE: C.UTF-8}\n",
                 "  - name: all\n    run: [python3, -c, \"import locale; print(locale.setlocale(locale.LC_ALL, ''))\"]\n"
                 "    env: {LC_ALL: C.UTF-8}\n    stdout: \"C.UTF-8\\n\"\n",
                 "/usr/lib/locale/C.utf8", "/usr/lib/locale/C.utf8/LC_", {kPython, "/usr/lib/locale/C.utf8/LC_TIME"}},
        PackCase{"perl-encode",
                 "  - name: utf8\n    run: [perl, -MEncode, -e, 'print length(encode(\"UTF-8\", \"x\")), \"\\n\"']\n",
                 "  - name: shiftjis\n    run: [perl, -MEncode, -e, 'print length(encode(\"shiftjis\", \"x\")), \"\\n\"']\n"
                 "    stdout: \"1\\n\"\n",
                 "/Encode", "/Encode/", {"/usr/bin/perl"}},
        PackCase{"git-core",
                 "  - name: version\n    run: [git, --version]\n",
                 "  - name: envsubst\n    run: [git, sh-i18n--envsubst, --variables, \"$HOME\"]\n    stdout: \"HOME\\n\"\n",
                 "/usr/lib/git-core", "/usr/lib/git-core/", {"/usr/bin/git", "/usr/lib/git-core/git-sh-i18n--envsubst"}}),
    [](const testing::TestParamInfo<PackCase>& param) {
      std::string name = param.param.pack;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// A spec's own pack, in a file next to it: a candidate by default; turned
// on, its files come with the rule's reason and its environment reaches an
// image's configuration.
TEST(UserPacks, ARuleInAFileNextToTheSpecIsACandidateThenIncludedWithItsEnvironment) {
  PackProject p;
  fs::create_directories(p.root + "/app/plugins");
  write_file(p.root + "/app/plugins/one.txt", "1\n");
  write_file(p.root + "/app/plugins/two.txt", "2\n");
  write_file(p.root + "/rules.yaml",
             "name: app-plugins\n"
             "description: the application's plugins\n"
             "rules:\n"
             "  - name: all\n"
             "    why: the plugin is chosen by the input\n"
             "    when: [\"**/app/plugins/one.txt\"]\n"
             "    add: [\"${dir}/*.txt\"]\n"
             "    env: {APP_PLUGINS: /app/plugins}\n");
  std::string test = "  - name: one\n    run: [cat, app/plugins/one.txt]\n";
  p.spec(test, "knowledge: [rules.yaml]\n");
  ASSERT_TRUE(exited_with(p.build(), 0));
  Json report = report_json(p.root + "/dist/b.tar");
  bool named = false;
  for (const Json& c : report["candidates"])
    if (c["kind"] == "knowledge-pack" && c["reason"].get<std::string>().starts_with("the 'app-plugins' pack")) {
      EXPECT_EQ(c["path"], p.root + "/app/plugins/*.txt");
      EXPECT_EQ(c["include"], "- " + p.root + "/app/plugins/*.txt");
      EXPECT_EQ(c["files"], 1);
      EXPECT_EQ(c["evidence"], Json::array({p.root + "/app/plugins/one.txt"}));
      EXPECT_EQ(c["reason"],
                "the 'app-plugins' pack's rule 'all' suggests it: the plugin is chosen by the input (turn the pack on with `packs: "
                "[app-plugins]`)");
      named = true;
    }
  EXPECT_TRUE(named) << report["candidates"].dump(2);

  write_file(p.root + "/tracepack.yaml",
             "name: packs\ntests:\n" + test + "knowledge: [rules.yaml]\npacks: [app-plugins]\noutput:\n  path: dist/img.tar\n  format: oci-archive\n");
  RunResult built = p.build();
  ASSERT_TRUE(exited_with(built, 0)) << built.err;
  RunResult config = run({"skopeo", "inspect", "--config", "oci-archive:" + p.root + "/dist/img.tar"});
  ASSERT_TRUE(exited_with(config, 0)) << config.err;
  EXPECT_NE(config.out.find("\"APP_PLUGINS=/app/plugins\""), std::string::npos) << config.out;
  Json manifest_report = report_json(p.root + "/dist/img.tar");
  bool two = false;
  for (const Json& f : manifest_report["files"])
    if (f["path"] == p.root + "/app/plugins/two.txt") {
      two = true;
      EXPECT_EQ(f["reasons"][0], "included by rule '" + p.root + "/app/plugins/*.txt' (pack 'app-plugins', rule 'all', as the bundle holds " +
                                     p.root + "/app/plugins/one.txt)");
    }
  EXPECT_TRUE(two);
}

// A turned-on pack's `never` globs leave files out, even traced ones.
TEST(UserPacks, APackTurnedOnLeavesItsNeverFilesOutEvenWhenTraced) {
  PackProject p;
  fs::create_directories(p.root + "/conf");
  write_file(p.root + "/conf/app.conf", "a\n");
  write_file(p.root + "/conf/app.secret", "s\n");
  std::string pack =
      "knowledge:\n"
      "  - name: conf\n"
      "    rules:\n"
      "      - name: all\n"
      "        why: the configuration goes whole, its secret never\n"
      "        when: [\"**/conf/app.conf\"]\n"
      "        add: [\"${dir}/*.conf\"]\n"
      "        never: [\"**/*.secret\"]\n";
  std::string test = "  - name: read\n    run: [cat, conf/app.conf, conf/app.secret]\n";
  p.spec(test, pack);
  ASSERT_TRUE(exited_with(p.build(), 0));
  EXPECT_TRUE(run({"tar", "-tf", p.root + "/dist/b.tar"}).out.find("conf/app.secret") != std::string::npos);
  p.spec(test, pack + "packs: [conf]\n");
  ASSERT_TRUE(exited_with(p.build(), 0));
  EXPECT_EQ(run({"tar", "-tf", p.root + "/dist/b.tar"}).out.find("conf/app.secret"), std::string::npos);
  bool said = false;
  Json report = report_json(p.root + "/dist/b.tar");
  for (const Json& x : report["excluded"])
    if (x["path"] == p.root + "/conf/app.secret")
      said = x["reason"].get<std::string>().find("(pack 'conf', rule 'all', as the bundle holds " + p.root + "/conf/app.conf)") !=
             std::string::npos;
  EXPECT_TRUE(said) << report["excluded"].dump(1);
}

}  // namespace
}  // namespace tracepack
