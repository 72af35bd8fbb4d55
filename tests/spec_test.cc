// load_spec / parse_spec: what a tracepack.yaml reads as, and every message a
// wrong one gets, byte for byte.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "tracepack/error.h"
#include "tracepack/spec.h"

namespace tracepack {
namespace {

const std::string kSpecDir = std::string(FIXTURE_SRC_DIR) + "/specs";

/// The message parse_spec throws for `text`, or "(no error)".
std::string spec_error(std::string_view text) {
  try {
    parse_spec(text, "tracepack.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string load_error(const std::string& file) {
  try {
    load_spec(file);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A valid spec's first lines; tests append a test case's keys or more top-level keys.
constexpr std::string_view kHead =
    "name: demo\n"
    "output:\n"
    "  path: dist/demo.tar.zst\n"
    "tests:\n"
    "  - name: greet\n";  // line 5; test keys start on line 6, column 5

std::string with_test(std::string_view keys) { return std::string(kHead) + std::string(keys); }

// ---- what a spec reads as --------------------------------------------------

TEST(SpecParse, ReadsEveryKey) {
  BundleSpec spec = parse_spec(
      "name: my-app_1.0\n"
      "tests:\n"
      "  - name: greet\n"
      "    run: [./greet, --loud, '']\n"
      "    cwd: build/fixtures/demo\n"
      "    env: {LANG: C.UTF-8, DEBUG: 1, EMPTY: ''}\n"
      "    timeout: 2.5\n"
      "    exit: 3\n"
      "    stdout: \"hello\\n\"\n"
      "  - name: sort\n"
      "    shell: echo hi | sort\n"
      "include:\n"
      "  - /usr/lib/python3.11/encodings/**\n"
      "  - elf: /usr/bin/gcc\n"
      "exclude:\n"
      "  - \"**/__pycache__/**\"\n"
      "output:\n"
      "  path: dist/demo.tar.zst\n"
      "  format: tar.zst\n"
      "  compression: 19\n"
      "  reproducible: false\n",
      "specs/app.yaml");
  EXPECT_EQ(spec.file, "specs/app.yaml");
  EXPECT_EQ(spec.name, "my-app_1.0");
  ASSERT_EQ(spec.tests.size(), 2u);
  const TestCase& greet = spec.tests[0];
  EXPECT_EQ(greet.name, "greet");
  EXPECT_EQ(greet.argv, (std::vector<std::string>{"./greet", "--loud", ""}));
  EXPECT_EQ(greet.shell, "");
  EXPECT_EQ(greet.cwd, "build/fixtures/demo");
  EXPECT_EQ(greet.env, (std::map<std::string, std::string>{{"DEBUG", "1"}, {"EMPTY", ""}, {"LANG", "C.UTF-8"}}));
  EXPECT_EQ(greet.timeout, 2.5);
  EXPECT_EQ(greet.exit, 3);
  EXPECT_EQ(greet.stdout_text, "hello\n");
  EXPECT_EQ(greet.where.file, "specs/app.yaml");
  EXPECT_EQ(greet.where.line, 3);
  EXPECT_EQ(greet.where.column, 5);
  const TestCase& sort = spec.tests[1];
  EXPECT_EQ(sort.name, "sort");
  EXPECT_TRUE(sort.argv.empty());
  EXPECT_EQ(sort.shell, "echo hi | sort");
  ASSERT_EQ(spec.include.size(), 2u);
  EXPECT_EQ(spec.include[0].kind, IncludeRule::Kind::glob);
  EXPECT_EQ(spec.include[0].pattern, "/usr/lib/python3.11/encodings/**");
  EXPECT_EQ(spec.include[0].where.line, 13);
  EXPECT_EQ(spec.include[0].where.column, 5);
  EXPECT_EQ(spec.include[1].kind, IncludeRule::Kind::elf);
  EXPECT_EQ(spec.include[1].pattern, "/usr/bin/gcc");
  EXPECT_EQ(spec.include[1].where.line, 14);
  EXPECT_EQ(spec.include[1].where.column, 5);
  ASSERT_EQ(spec.exclude.size(), 1u);
  EXPECT_EQ(spec.exclude[0].pattern, "**/__pycache__/**");
  EXPECT_EQ(spec.exclude[0].where.file, "specs/app.yaml");
  EXPECT_EQ(spec.exclude[0].where.line, 16);
  EXPECT_EQ(spec.exclude[0].where.column, 5);
  EXPECT_EQ(spec.output.path, "dist/demo.tar.zst");
  EXPECT_EQ(spec.output.format, "tar.zst");
  EXPECT_EQ(spec.output.compression_level, 19);
  EXPECT_FALSE(spec.output.reproducible);
  EXPECT_EQ(spec.output.where.line, 18);
}

TEST(SpecParse, Defaults) {
  BundleSpec spec = parse_spec(with_test("    run: [./greet]\n"), "tracepack.yaml");
  const TestCase& test = spec.tests.at(0);
  EXPECT_EQ(test.cwd, "");
  EXPECT_TRUE(test.env.empty());
  EXPECT_EQ(test.timeout, 0);
  EXPECT_EQ(test.exit, 0);
  EXPECT_FALSE(test.stdout_text.has_value());
  EXPECT_TRUE(spec.include.empty());
  EXPECT_TRUE(spec.exclude.empty());
  EXPECT_EQ(spec.output.format, "");
  EXPECT_EQ(spec.output.compression_level, -1);
  EXPECT_TRUE(spec.output.reproducible);
}

TEST(SpecParse, EmptyOptionalListsAndMapsAreEmpty) {
  BundleSpec spec = parse_spec(with_test("    run: [./greet]\n"
                                         "    env:\n"
                                         "include:\n"
                                         "exclude: []\n"),
                               "tracepack.yaml");
  EXPECT_TRUE(spec.tests.at(0).env.empty());
  EXPECT_TRUE(spec.include.empty());
  EXPECT_TRUE(spec.exclude.empty());
}

TEST(SpecParse, StringFieldsTakeAnyScalarAsWritten) {
  BundleSpec spec = parse_spec(
      "name: 2024\n"
      "tests:\n"
      "  - name: 1.50\n"
      "    run: [true, 0x1F, ~user]\n"
      "    stdout: 42\n"
      "output: {path: out}\n",
      "tracepack.yaml");
  EXPECT_EQ(spec.name, "2024");
  EXPECT_EQ(spec.tests.at(0).name, "1.50");
  EXPECT_EQ(spec.tests.at(0).argv, (std::vector<std::string>{"true", "0x1F", "~user"}));
  EXPECT_EQ(spec.tests.at(0).stdout_text, "42");
}

TEST(SpecParse, EmptyStdoutIsExpectedEmptyOutput) {
  BundleSpec spec = parse_spec(with_test("    run: [./greet]\n    stdout: ''\n"), "tracepack.yaml");
  EXPECT_EQ(spec.tests.at(0).stdout_text, "");
}

TEST(SpecParse, NumbersAndBooleans) {
  BundleSpec spec = parse_spec(
      "name: demo\n"
      "tests: [{name: a, run: [a], timeout: 1e2, exit: +255}]\n"
      "output: {path: out, compression: 0, reproducible: True}\n",
      "tracepack.yaml");
  EXPECT_EQ(spec.tests.at(0).timeout, 100);
  EXPECT_EQ(spec.tests.at(0).exit, 255);
  EXPECT_EQ(spec.output.compression_level, 0);
  EXPECT_TRUE(spec.output.reproducible);
}

TEST(SpecParse, EveryBundleFormat) {
  for (std::string_view format : kBundleFormats) {
    BundleSpec spec = parse_spec("name: demo\ntests: [{name: a, run: [a]}]\noutput: {path: out, format: " + std::string(format) + "}\n",
                                 "tracepack.yaml");
    EXPECT_EQ(spec.output.format, format);
  }
}

TEST(SpecParse, AliasesAreFollowed) {
  BundleSpec spec = parse_spec(with_test("    run: [./greet]\n"
                                         "    env: &env {LANG: C}\n"
                                         "  - name: other\n"
                                         "    run: [./other]\n"
                                         "    env: *env\n"),
                               "tracepack.yaml");
  EXPECT_EQ(spec.tests.at(1).env.at("LANG"), "C");
}

// ---- the example specs -----------------------------------------------------

TEST(SpecLoad, DemoExample) {
  BundleSpec spec = load_spec(kSpecDir + "/demo.yaml");
  EXPECT_EQ(spec.name, "demo");
  ASSERT_EQ(spec.tests.size(), 1u);
  EXPECT_EQ(spec.tests[0].name, "greet");
  EXPECT_EQ(spec.tests[0].argv, (std::vector<std::string>{"./greet"}));
  EXPECT_EQ(spec.tests[0].cwd, "../../build/fixtures/demo");
  EXPECT_EQ(spec.tests[0].timeout, 60);
  ASSERT_TRUE(spec.tests[0].stdout_text.has_value());
  EXPECT_TRUE(spec.tests[0].stdout_text->starts_with("*****"));
  EXPECT_TRUE(spec.tests[0].stdout_text->ends_with("\"total\": \"83.75\"}\n"));
  ASSERT_EQ(spec.include.size(), 1u);
  EXPECT_EQ(spec.include[0].pattern, "/usr/lib/python3.11/encodings/**");
  EXPECT_EQ(spec.include[0].where.file, kSpecDir + "/demo.yaml");
  EXPECT_EQ(spec.output.path, "../../build/dist/demo.tar.zst");
  EXPECT_EQ(spec.output.compression_level, 19);
}

TEST(SpecLoad, PythonExample) {
  BundleSpec spec = load_spec(kSpecDir + "/python.yaml");
  EXPECT_EQ(spec.name, "report-tool");
  ASSERT_EQ(spec.tests.size(), 3u);
  EXPECT_EQ(spec.tests[0].argv, (std::vector<std::string>{"python3", "-m", "json.tool", "--help"}));
  EXPECT_EQ(spec.tests[1].shell, "echo '{\"b\": 2, \"a\": 1}' | python3 -m json.tool --sort-keys\n");
  EXPECT_EQ(spec.tests[1].stdout_text, "{\n    \"a\": 1,\n    \"b\": 2\n}\n");
  EXPECT_EQ(spec.tests[2].exit, 1);
  EXPECT_EQ(spec.tests[2].env.at("PYTHONDONTWRITEBYTECODE"), "1");
  ASSERT_EQ(spec.include.size(), 2u);
  EXPECT_EQ(spec.include[1].kind, IncludeRule::Kind::elf);
  EXPECT_EQ(spec.include[1].pattern, "/usr/bin/python3.11");
  EXPECT_EQ(spec.exclude.size(), 3u);
  EXPECT_EQ(spec.output.format, "dir");
}

TEST(SpecLoad, BrokenExampleReportsEveryProblemInFileOrder) {
  const std::string f = kSpecDir + "/broken.yaml";
  EXPECT_EQ(load_error(f),
            f + ":2:7: invalid name 'broken app' (use only letters, digits, '.', '_' and '-')\n" + f +
                ":5:10: 'run' must be a list, not a string (use 'shell' for a command line)\n" + f +
                ":6:5: unknown key 'timout' (did you mean 'timeout'?)\n" + f + ":7:11: duplicate test name 'first' (first at line 4)\n" +
                f + ":9:5: test 'first' has both 'run' and 'shell' (give exactly one)\n" + f +
                ":10:11: 'exit' must be at most 255, not 256\n" + f +
                ":11:5: test 'third' has neither 'run' nor 'shell' (give exactly one)\n" + f +
                ":12:14: 'timeout' must be a number, not a string\n" + f + ":14:5: invalid glob '/usr/lib/[abc': unclosed '['\n" + f +
                ":15:10: 'elf' must not be empty\n" + f + ":16:1: unknown key 'exclud' (did you mean 'exclude'?)\n" + f +
                ":20:11: unknown output format 'tar.bz3' (expected one of: dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, oci, "
                "oci-archive, docker-archive)\n" +
                f + ":21:17: 'reproducible' must be true or false, not a string");
}

TEST(SpecLoad, MissingFile) {
  EXPECT_EQ(load_error(kSpecDir + "/no-such.yaml"), kSpecDir + "/no-such.yaml: cannot read: No such file or directory");
}

TEST(SpecLoad, Directory) { EXPECT_EQ(load_error(kSpecDir), kSpecDir + ": cannot read: Is a directory"); }

// ---- the whole file --------------------------------------------------------

TEST(SpecErrors, InvalidYaml) {
  EXPECT_EQ(spec_error("name: [demo\ntests: 1\n"), "tracepack.yaml:2:6: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(spec_error("name: a: b\n"), "tracepack.yaml:1:8: invalid YAML: illegal map value");
}

TEST(SpecErrors, EmptyFile) {
  const std::string message = "tracepack.yaml:1:1: empty spec (expected a map with 'name', 'tests' and 'output')";
  EXPECT_EQ(spec_error(""), message);
  EXPECT_EQ(spec_error("# nothing yet\n\n"), message);
  EXPECT_EQ(spec_error("~\n"), message);
}

TEST(SpecErrors, TopLevelNotAMap) {
  EXPECT_EQ(spec_error("- name: demo\n"), "tracepack.yaml:1:1: a spec must be a map, not a list");
  EXPECT_EQ(spec_error("# comment\ndemo\n"), "tracepack.yaml:2:1: a spec must be a map, not a string");
}

TEST(SpecErrors, MoreThanOneDocument) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n---\nname: second\n")), "tracepack.yaml:8:1: a spec must be a single YAML document");
}

TEST(SpecErrors, MissingRequiredTopLevelKeys) {
  EXPECT_EQ(spec_error("include: []\n"),
            "tracepack.yaml:1:1: missing required key 'name'\n"
            "tracepack.yaml:1:1: missing required key 'tests'\n"
            "tracepack.yaml:1:1: missing required key 'output'");
}

TEST(SpecErrors, UnknownKeyWithSuggestion) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\nexclud: []\n")), "tracepack.yaml:7:1: unknown key 'exclud' (did you mean 'exclude'?)");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    Env: {}\n")), "tracepack.yaml:7:5: unknown key 'Env' (did you mean 'env'?)");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    stdot: ''\n")), "tracepack.yaml:7:5: unknown key 'stdot' (did you mean 'stdout'?)");
  EXPECT_EQ(spec_error("name: demo\ntests: [{name: a, run: [a]}]\noutput: {path: out, formt: tar}\n"),
            "tracepack.yaml:3:21: unknown key 'formt' (did you mean 'format'?)");
  EXPECT_EQ(spec_error(with_test("    run: [a]\ninclude:\n  - elv: /bin/sh\n")),
            "tracepack.yaml:8:5: unknown key 'elv' (did you mean 'elf'?)\n"
            "tracepack.yaml:8:5: missing required key 'elf'");
}

TEST(SpecReview, IgnoreIsAListOfGlobs) {
  EXPECT_EQ(parse_spec(with_test("    run: [a]\nreview:\n  ignore:\n    - /usr/lib/python3.11/distutils\n    - \"**/tests\"\n"),
                       "tracepack.yaml")
                .review.ignore,
            (std::vector<std::string>{"/usr/lib/python3.11/distutils", "**/tests"}));
  EXPECT_EQ(spec_error(with_test("    run: [a]\nreview:\n  ignore: [\"/a/[b\"]\n  accept: []\n")),
            "tracepack.yaml:8:12: invalid glob '/a/[b': unclosed '['\n"
            "tracepack.yaml:9:3: unknown key 'accept' (expected one of: ignore)");
}

TEST(SpecErrors, UnknownKeyWithoutSuggestion) {
  EXPECT_EQ(
      spec_error(with_test("    run: [a]\nversion: 2\n")),
      "tracepack.yaml:7:1: unknown key 'version' (expected one of: name, from, tests, include, exclude, output, secrets, host_specific, image, sbom, review, packs, knowledge)");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    environment: {}\n")),
            "tracepack.yaml:7:5: unknown key 'environment' (expected one of: name, run, shell, cwd, env, timeout, exit, "
            "stdout)");
  EXPECT_EQ(spec_error("name: demo\ntests: [{name: a, run: [a]}]\noutput: {path: out, level: 3}\n"),
            "tracepack.yaml:3:21: unknown key 'level' (expected one of: path, format, compression, reproducible)");
}

TEST(SpecErrors, KeyNotAString) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n? [x, y]\n: z\n")), "tracepack.yaml:7:3: a key must be a string, not a list");
}

TEST(SpecErrors, DuplicateKey) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\nname: again\n")), "tracepack.yaml:7:1: duplicate key 'name' (first at line 1)");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    env: {A: 1, B: 2, A: 3}\n")),
            "tracepack.yaml:7:23: duplicate key 'A' (first at line 7)");
}

TEST(SpecErrors, WrongTypesSayWhatWasFound) {
  EXPECT_EQ(spec_error("name: [demo]\ntests: {a: 1}\noutput: dist/demo.tar\n"),
            "tracepack.yaml:1:7: 'name' must be a string, not a list\n"
            "tracepack.yaml:2:8: 'tests' must be a list, not a map\n"
            "tracepack.yaml:3:9: 'output' must be a map, not a string");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    timeout: true\n    exit: ''\n    env: [A=1]\n    cwd: {}\n")),
            "tracepack.yaml:7:14: 'timeout' must be a number, not a boolean\n"
            "tracepack.yaml:8:11: 'exit' must be an integer, not a string\n"
            "tracepack.yaml:9:10: 'env' must be a map, not a list\n"
            "tracepack.yaml:10:10: 'cwd' must be a string, not a map");
  EXPECT_EQ(spec_error("name: demo\ntests: [{name: a, run: [a]}]\noutput: {path: out, reproducible: 1}\n"),
            "tracepack.yaml:3:35: 'reproducible' must be true or false, not a number");
}

TEST(SpecErrors, EmptyValueIsReportedAtItsKey) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    timeout:\n    stdout:\n")),
            "tracepack.yaml:7:5: 'timeout' must be a number, not an empty value\n"
            "tracepack.yaml:8:5: 'stdout' must be a string, not an empty value");
}

TEST(SpecErrors, QuotedNumberIsAString) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    timeout: \"30\"\n")), "tracepack.yaml:7:14: 'timeout' must be a number, not a string");
}

// ---- name and tests --------------------------------------------------------

TEST(SpecErrors, InvalidBundleName) {
  EXPECT_EQ(spec_error("name: my app\ntests: [{name: a, run: [a]}]\noutput: {path: out}\n"),
            "tracepack.yaml:1:7: invalid name 'my app' (use only letters, digits, '.', '_' and '-')");
  EXPECT_EQ(spec_error("name: ''\ntests: [{name: a, run: [a]}]\noutput: {path: out}\n"), "tracepack.yaml:1:7: 'name' must not be empty");
}

TEST(SpecErrors, NoTests) {
  EXPECT_EQ(spec_error("name: demo\ntests: []\noutput: {path: out}\n"), "tracepack.yaml:2:8: 'tests' must list at least one test case");
  EXPECT_EQ(spec_error("name: demo\ntests:\noutput: {path: out}\n"), "tracepack.yaml:2:1: 'tests' must list at least one test case");
}

TEST(SpecErrors, TestCaseNotAMap) {
  EXPECT_EQ(spec_error("name: demo\ntests:\n  - ./greet\noutput: {path: out}\n"),
            "tracepack.yaml:3:5: 'tests' entries must be maps, not a string");
}

TEST(SpecErrors, TestCaseWithoutName) {
  EXPECT_EQ(spec_error("name: demo\ntests:\n  - run: [a]\n  - shell: b\n    name: ''\noutput: {path: out}\n"),
            "tracepack.yaml:3:5: missing required key 'name'\n"
            "tracepack.yaml:5:11: 'name' must not be empty");
}

TEST(SpecErrors, DuplicateTestNames) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n  - run: [b]\n    name: greet\n  - {name: greet, shell: c}\n")),
            "tracepack.yaml:8:11: duplicate test name 'greet' (first at line 5)\n"
            "tracepack.yaml:9:12: duplicate test name 'greet' (first at line 5)");
}

TEST(SpecErrors, RunAndShellBothOrNeither) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    shell: b\n")),
            "tracepack.yaml:7:5: test 'greet' has both 'run' and 'shell' (give exactly one)");
  EXPECT_EQ(spec_error(with_test("    shell: b\n    run: [a]\n")),
            "tracepack.yaml:7:5: test 'greet' has both 'run' and 'shell' (give exactly one)");
  EXPECT_EQ(spec_error(with_test("    cwd: x\n")), "tracepack.yaml:5:5: test 'greet' has neither 'run' nor 'shell' (give exactly one)");
  EXPECT_EQ(spec_error("name: demo\ntests:\n  - cwd: x\noutput: {path: out}\n"),
            "tracepack.yaml:3:5: missing required key 'name'\n"
            "tracepack.yaml:3:5: test case has neither 'run' nor 'shell' (give exactly one)");
}

TEST(SpecFrom, NamesTheImageAndLetsATestRunItsEntrypoint) {
  BundleSpec spec = parse_spec(
      "name: demo\nfrom: images/base:1.0\noutput: {path: out}\ntests:\n  - name: entry\n  - {name: ls, run: [ls]}\n", "tracepack.yaml");
  ASSERT_TRUE(spec.from.has_value());
  EXPECT_EQ(spec.from->reference, "images/base:1.0");
  EXPECT_EQ(spec.from->where.line, 2);
  EXPECT_EQ(spec.from->where.column, 7);
  ASSERT_EQ(spec.tests.size(), 2u);
  EXPECT_TRUE(spec.tests[0].argv.empty());
  EXPECT_TRUE(spec.tests[0].shell.empty());
  EXPECT_EQ(spec.tests[1].argv, std::vector<std::string>{"ls"});
}

TEST(SpecFrom, AbsentMeansTheHost) { EXPECT_FALSE(parse_spec(with_test("    run: [a]\n"), "tracepack.yaml").from.has_value()); }

TEST(SpecFrom, MustBeANonEmptyString) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\nfrom: ''\n")), "tracepack.yaml:7:7: 'from' must not be empty");
  EXPECT_EQ(spec_error(with_test("    run: [a]\nfrom: [a, b]\n")), "tracepack.yaml:7:7: 'from' must be a string, not a list");
  EXPECT_EQ(spec_error(with_test("    run: [a]\nfrm: x\n")), "tracepack.yaml:7:1: unknown key 'frm' (did you mean 'from'?)");
}

TEST(SpecFrom, BothRunAndShellStillRefused) {
  EXPECT_EQ(spec_error("name: demo\nfrom: img\noutput: {path: out}\ntests:\n  - {name: t, run: [a], shell: b}\n"),
            "tracepack.yaml:5:25: test 't' has both 'run' and 'shell' (give exactly one)");
}

TEST(SpecErrors, RunMustBeANonEmptyListOfStrings) {
  EXPECT_EQ(spec_error(with_test("    run: ./greet --loud\n")),
            "tracepack.yaml:6:10: 'run' must be a list, not a string (use 'shell' for a command line)");
  EXPECT_EQ(spec_error(with_test("    run: []\n")), "tracepack.yaml:6:10: 'run' must list at least one argument");
  EXPECT_EQ(spec_error(with_test("    run:\n")), "tracepack.yaml:6:5: 'run' must list at least one argument");
  EXPECT_EQ(spec_error(with_test("    run: {a: b}\n")), "tracepack.yaml:6:10: 'run' must be a list, not a map");
  EXPECT_EQ(spec_error(with_test("    run: [./greet, [x], {y: 1}]\n")),
            "tracepack.yaml:6:20: 'run' entries must be strings, not a list\n"
            "tracepack.yaml:6:25: 'run' entries must be strings, not a map");
  EXPECT_EQ(spec_error(with_test("    run: ['', x]\n")), "tracepack.yaml:6:11: 'run' must not start with an empty string");
}

TEST(SpecErrors, ShellMustNotBeEmpty) {
  EXPECT_EQ(spec_error(with_test("    shell: ''\n")), "tracepack.yaml:6:12: 'shell' must not be empty");
  EXPECT_EQ(spec_error(with_test("    shell: [a]\n")), "tracepack.yaml:6:12: 'shell' must be a string, not a list");
}

TEST(SpecErrors, Env) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    env:\n      A=B: x\n      '': y\n      OK: [1]\n      ALSO: {}\n      NUL:\n")),
            "tracepack.yaml:8:7: invalid environment variable name 'A=B'\n"
            "tracepack.yaml:9:7: invalid environment variable name ''\n"
            "tracepack.yaml:10:11: 'env' values must be strings, not a list\n"
            "tracepack.yaml:11:13: 'env' values must be strings, not a map\n"
            "tracepack.yaml:12:7: 'env' values must be strings, not an empty value");
}

TEST(SpecErrors, Timeout) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    timeout: 0\n")), "tracepack.yaml:7:14: 'timeout' must be greater than 0, not 0");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    timeout: -1.5\n")), "tracepack.yaml:7:14: 'timeout' must be greater than 0, not -1.5");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    timeout: 30s\n")), "tracepack.yaml:7:14: 'timeout' must be a number, not a string");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    timeout: .inf\n")), "tracepack.yaml:7:14: 'timeout' must be a number, not a string");
}

TEST(SpecErrors, Exit) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    exit: 256\n")), "tracepack.yaml:7:11: 'exit' must be at most 255, not 256");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    exit: -1\n")), "tracepack.yaml:7:11: 'exit' must be at least 0, not -1");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    exit: 1.5\n")), "tracepack.yaml:7:11: 'exit' must be an integer, not 1.5");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    exit: 99999999999999999999\n")),
            "tracepack.yaml:7:11: 'exit' must be at most 255, not 99999999999999999999");
  EXPECT_EQ(spec_error(with_test("    run: [a]\n    exit: fail\n")), "tracepack.yaml:7:11: 'exit' must be an integer, not a string");
}

// ---- include and exclude ---------------------------------------------------

TEST(SpecErrors, BadGlobs) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\ninclude:\n  - /usr/lib/[abc\n  - ''\nexclude:\n  - '[[:alpah:]]'\n  - ../x\n")),
            "tracepack.yaml:8:5: invalid glob '/usr/lib/[abc': unclosed '['\n"
            "tracepack.yaml:9:5: invalid glob '': empty pattern\n"
            "tracepack.yaml:11:5: invalid glob '[[:alpah:]]': unknown character class 'alpah'\n"
            "tracepack.yaml:12:5: invalid glob '../x': '..' components never match (paths are absolute and normalized)");
}

TEST(SpecErrors, NulInGlob) {
  std::string text = with_test("    run: [a]\nexclude: [\"/a\\0b\"]\n");
  EXPECT_EQ(spec_error(text), "tracepack.yaml:7:11: invalid glob '/a\\0b': NUL byte in pattern");
}

TEST(SpecErrors, IncludeEntries) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\ninclude:\n  - [a, b]\n  - {}\n  - elf: [x]\n  - elf:\n  - {elf: /bin/sh, glob: x}\n")),
            "tracepack.yaml:8:5: 'include' entries must be globs or 'elf:' maps, not a list\n"
            "tracepack.yaml:9:5: missing required key 'elf'\n"
            "tracepack.yaml:10:10: 'elf' must be a string, not a list\n"
            "tracepack.yaml:11:5: 'elf' must be a string, not an empty value\n"
            "tracepack.yaml:12:20: unknown key 'glob' (expected one of: elf)");
  EXPECT_EQ(spec_error(with_test("    run: [a]\ninclude: /usr/**\n")), "tracepack.yaml:7:10: 'include' must be a list, not a string");
}

TEST(SpecErrors, IncludeGlobsAndElfPathsAreAbsolute) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\ninclude:\n  - \"**/plugins/*.so\"\n  - elf: bin/greet\nexclude: ['*.pyc']\n")),
            "tracepack.yaml:8:5: include glob '**/plugins/*.so' must start with '/' (only exclude globs match at any depth)\n"
            "tracepack.yaml:9:10: 'elf' must be an absolute path, not 'bin/greet'");
}

TEST(SpecErrors, IncludeAndElfInKernelPseudoFileSystemsAreRefused) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\n"
                                 "include:\n"
                                 "  - /proc/kmsg\n"
                                 "  - /sys/class/**\n"
                                 "  - elf: /proc/self/exe\n"
                                 "  - /dev\n"
                                 "  - /usr/share/**\n"
                                 "  - /procfs/x\n"
                                 "  - /run/app/**\n"
                                 "exclude: [/proc/**]\n")),
            "tracepack.yaml:8:5: include '/proc/kmsg' lies in /proc, a kernel pseudo file system: its files are made by the kernel "
            "when read and are never packed\n"
            "tracepack.yaml:9:5: include '/sys/class/**' lies in /sys, a kernel pseudo file system: its files are made by the kernel "
            "when read and are never packed\n"
            "tracepack.yaml:10:10: 'elf' '/proc/self/exe' lies in /proc, a kernel pseudo file system: its files are made by the "
            "kernel when read and are never packed\n"
            "tracepack.yaml:11:5: include '/dev' lies in /dev, a kernel pseudo file system: its files are made by the kernel when "
            "read and are never packed");
}

TEST(SpecParse, HostSpecificAllowList) {
  BundleSpec spec =
      parse_spec(with_test("    run: [a]\nhost_specific:\n  allow:\n    - /etc/hostname\n    - /root/.gitconfig\n"), "tracepack.yaml");
  ASSERT_EQ(spec.host_specific.allow.size(), 2u);
  EXPECT_EQ(spec.host_specific.allow[0].path, "/etc/hostname");
  EXPECT_EQ(spec.host_specific.allow[1].where.line, 10);
  EXPECT_EQ(spec_error(with_test("    run: [a]\nhost_specific:\n  allow: [etc/hosts]\n  alow: []\n")),
            "tracepack.yaml:8:11: 'allow' entries must be absolute paths, not 'etc/hosts'\n"
            "tracepack.yaml:9:3: unknown key 'alow' (did you mean 'allow'?)");
}

TEST(SpecKernelPseudoRoot, WholeComponentsOnly) {
  EXPECT_EQ(kernel_pseudo_root("/proc"), "/proc");
  EXPECT_EQ(kernel_pseudo_root("/proc/kmsg"), "/proc");
  EXPECT_EQ(kernel_pseudo_root("/dev/shm/x"), "/dev");
  EXPECT_EQ(kernel_pseudo_root("/sys/**"), "/sys");
  EXPECT_EQ(kernel_pseudo_root("/proc*"), "");
  EXPECT_EQ(kernel_pseudo_root("/devices"), "");
  EXPECT_EQ(kernel_pseudo_root("/run/x"), "");
  EXPECT_EQ(kernel_pseudo_root("/usr/proc"), "");
}

TEST(SpecErrors, ExcludeEntries) {
  EXPECT_EQ(spec_error(with_test("    run: [a]\nexclude:\n  - {elf: /bin/sh}\n")),
            "tracepack.yaml:8:5: 'exclude' entries must be strings, not a map");
}

// ---- output ----------------------------------------------------------------

TEST(SpecErrors, OutputPath) {
  const std::string tests = "name: demo\ntests: [{name: a, run: [a]}]\n";
  EXPECT_EQ(spec_error(tests + "output:\n  format: tar\n"), "tracepack.yaml:4:3: missing required key 'path'");
  EXPECT_EQ(spec_error(tests + "output: {path: ''}\n"), "tracepack.yaml:3:16: 'path' must not be empty");
  EXPECT_EQ(spec_error(tests + "output:\n"), "tracepack.yaml:3:1: 'output' must be a map, not an empty value");
}

TEST(SpecErrors, OutputFormat) {
  const std::string tests = "name: demo\ntests: [{name: a, run: [a]}]\n";
  EXPECT_EQ(spec_error(tests + "output: {path: out, format: tar.bz3}\n"),
            "tracepack.yaml:3:29: unknown output format 'tar.bz3' (expected one of: dir, tar, tar.gz, tar.zst, tar.xz, zip, "
            "cpio, oci, oci-archive, docker-archive)");
  EXPECT_EQ(spec_error(tests + "output: {path: out, format: TAR}\n"),
            "tracepack.yaml:3:29: unknown output format 'TAR' (expected one of: dir, tar, tar.gz, tar.zst, tar.xz, zip, cpio, "
            "oci, oci-archive, docker-archive)");
}

TEST(SpecErrors, OutputCompression) {
  const std::string tests = "name: demo\ntests: [{name: a, run: [a]}]\n";
  EXPECT_EQ(spec_error(tests + "output: {path: out, compression: -1}\n"), "tracepack.yaml:3:34: 'compression' must be at least 0, not -1");
  EXPECT_EQ(spec_error(tests + "output: {path: out, compression: 3000000000}\n"),
            "tracepack.yaml:3:34: 'compression' must be at most 2147483647, not 3000000000");
  EXPECT_EQ(spec_error(tests + "output: {path: out, compression: max}\n"),
            "tracepack.yaml:3:34: 'compression' must be an integer, not a string");
}

TEST(SpecErrors, OutputReproducible) {
  const std::string tests = "name: demo\ntests: [{name: a, run: [a]}]\n";
  EXPECT_EQ(spec_error(tests + "output: {path: out, reproducible: yes}\n"),
            "tracepack.yaml:3:35: 'reproducible' must be true or false, not a string");
}

// ---- all at once -----------------------------------------------------------

TEST(SpecErrors, ProblemsFromEveryLevelAreSortedByPosition) {
  EXPECT_EQ(spec_error("output: {path: out, compression: x}\n"
                       "tests:\n"
                       "  - name: a\n"
                       "    run: [a]\n"
                       "    exit: 300\n"
                       "exlude: []\n"),
            "tracepack.yaml:1:1: missing required key 'name'\n"
            "tracepack.yaml:1:34: 'compression' must be an integer, not a string\n"
            "tracepack.yaml:5:11: 'exit' must be at most 255, not 300\n"
            "tracepack.yaml:6:1: unknown key 'exlude' (did you mean 'exclude'?)");
}

TEST(SpecErrors, FileNameAsGivenPrefixesEveryLine) {
  try {
    parse_spec("tests: []\n", "conf/my spec.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "conf/my spec.yaml:1:1: missing required key 'name'\n"
                 "conf/my spec.yaml:1:1: missing required key 'output'\n"
                 "conf/my spec.yaml:1:8: 'tests' must list at least one test case");
  }
}

}  // namespace
}  // namespace tracepack
