// glob_match and glob_error: the include:/exclude: pattern language.
#include <gtest/gtest.h>

#include <clocale>
#include <string>

#include "tracepack/spec.h"

namespace tracepack {
namespace {

TEST(GlobMatch, LiteralAbsolutePath) {
  EXPECT_TRUE(glob_match("/usr/bin/gcc", "/usr/bin/gcc"));
  EXPECT_FALSE(glob_match("/usr/bin/gcc", "/usr/bin/gcc-12"));
  EXPECT_FALSE(glob_match("/usr/bin/gcc", "/usr/bin"));
  EXPECT_FALSE(glob_match("/usr/bin/gcc", "/opt/usr/bin/gcc"));
}

TEST(GlobMatch, StarStaysInOneComponent) {
  EXPECT_TRUE(glob_match("/usr/lib/*.so", "/usr/lib/libz.so"));
  EXPECT_FALSE(glob_match("/usr/lib/*.so", "/usr/lib/x86_64/libz.so"));
  EXPECT_TRUE(glob_match("/usr/*/gcc", "/usr/bin/gcc"));
  EXPECT_FALSE(glob_match("/usr/*/gcc", "/usr/gcc"));
  EXPECT_TRUE(glob_match("/usr/lib/*", "/usr/lib/x"));
  EXPECT_FALSE(glob_match("/usr/lib/*", "/usr/lib"));
}

TEST(GlobMatch, StarMatchesDotfiles) {
  EXPECT_TRUE(glob_match("/home/ann/*", "/home/ann/.bashrc"));
  EXPECT_TRUE(glob_match("/home/ann/*rc", "/home/ann/.bashrc"));
  EXPECT_TRUE(glob_match("/home/ann/?bashrc", "/home/ann/.bashrc"));
  EXPECT_TRUE(glob_match("/home/**/x", "/home/.cache/x"));
}

TEST(GlobMatch, QuestionMarkIsOneByte) {
  EXPECT_TRUE(glob_match("/tmp/a?c", "/tmp/abc"));
  EXPECT_FALSE(glob_match("/tmp/a?c", "/tmp/ac"));
  EXPECT_FALSE(glob_match("/tmp/a?c", "/tmp/a/c"));
  // "é" is two bytes in UTF-8: one '?' is not enough.
  EXPECT_FALSE(glob_match("/tmp/caf?", "/tmp/caf\xc3\xa9"));
  EXPECT_TRUE(glob_match("/tmp/caf??", "/tmp/caf\xc3\xa9"));
}

TEST(GlobMatch, BytesAbove0x7fAreBytesWhateverTheLocale) {
  std::string saved = std::setlocale(LC_ALL, nullptr);
  bool utf8 = std::setlocale(LC_ALL, "C.UTF-8") != nullptr;
  EXPECT_TRUE(glob_match("/tmp/r\xe9sum\xe9*", "/tmp/r\xe9sum\xe9 100%.txt"));  // Latin-1, not UTF-8
  EXPECT_TRUE(glob_match("/tmp/*\xff", "/tmp/x\xff"));
  EXPECT_TRUE(glob_match("/tmp/[\x80-\xff]", "/tmp/\xe9"));
  EXPECT_FALSE(glob_match("/tmp/caf?", "/tmp/caf\xc3\xa9"));
  EXPECT_TRUE(glob_match("/tmp/caf\xc3\xa9", "/tmp/caf\xc3\xa9"));
  std::setlocale(LC_ALL, saved.c_str());
  if (!utf8) GTEST_SKIP() << "no C.UTF-8 locale: only the C locale was checked";
}

TEST(GlobMatch, BracketExpressions) {
  EXPECT_TRUE(glob_match("/x/[abc].txt", "/x/b.txt"));
  EXPECT_FALSE(glob_match("/x/[abc].txt", "/x/d.txt"));
  EXPECT_TRUE(glob_match("/x/[!a].txt", "/x/b.txt"));
  EXPECT_FALSE(glob_match("/x/[!a].txt", "/x/a.txt"));
  EXPECT_TRUE(glob_match("/x/[^a].txt", "/x/b.txt"));
  EXPECT_TRUE(glob_match("/x/[0-9][0-9]", "/x/42"));
  EXPECT_FALSE(glob_match("/x/[0-9][0-9]", "/x/4a"));
  EXPECT_TRUE(glob_match("/x/[]]", "/x/]"));
  EXPECT_TRUE(glob_match("/x/[[:digit:]]*", "/x/7up"));
  EXPECT_FALSE(glob_match("/x/[[:digit:]]*", "/x/up"));
  EXPECT_TRUE(glob_match("/x/[!.]*", "/x/a"));
  EXPECT_FALSE(glob_match("/x/[!.]*", "/x/.a"));
}

TEST(GlobMatch, BackslashEscapes) {
  EXPECT_TRUE(glob_match("/x/\\*", "/x/*"));
  EXPECT_FALSE(glob_match("/x/\\*", "/x/a"));
  EXPECT_TRUE(glob_match("/x/a\\?", "/x/a?"));
  EXPECT_FALSE(glob_match("/x/a\\?", "/x/ab"));
  EXPECT_TRUE(glob_match("/x/\\[a]", "/x/[a]"));
  EXPECT_TRUE(glob_match("/x/\\*\\*/y", "/x/**/y"));
  EXPECT_FALSE(glob_match("/x/\\*\\*/y", "/x/a/y"));
}

TEST(GlobMatch, DoubleStarAtTheStart) {
  EXPECT_TRUE(glob_match("/**/libz.so", "/libz.so"));
  EXPECT_TRUE(glob_match("/**/libz.so", "/usr/lib/libz.so"));
  EXPECT_FALSE(glob_match("/**/libz.so", "/usr/lib/libz.so.1"));
}

TEST(GlobMatch, DoubleStarInTheMiddleMatchesZeroOrMore) {
  EXPECT_TRUE(glob_match("/usr/**/python3", "/usr/python3"));
  EXPECT_TRUE(glob_match("/usr/**/python3", "/usr/bin/python3"));
  EXPECT_TRUE(glob_match("/usr/**/python3", "/usr/local/bin/python3"));
  EXPECT_FALSE(glob_match("/usr/**/python3", "/opt/bin/python3"));
  EXPECT_TRUE(glob_match("/a/**/b/**/c", "/a/b/c"));
  EXPECT_TRUE(glob_match("/a/**/b/**/c", "/a/x/b/y/z/c"));
  EXPECT_TRUE(glob_match("/a/**/b/**/c", "/a/b/b/b/c"));
  EXPECT_FALSE(glob_match("/a/**/b/**/c", "/a/x/c"));
  EXPECT_TRUE(glob_match("/a/**/**/c", "/a/c"));
}

TEST(GlobMatch, DoubleStarBacktracks) {
  // The first "x" tried for "x/y" is the wrong one.
  EXPECT_TRUE(glob_match("/**/x/y", "/x/x/y"));
  EXPECT_TRUE(glob_match("/**/a/*.py", "/a/a/b.py"));
  EXPECT_FALSE(glob_match("/**/a/*.py", "/a/b/c.py"));
}

TEST(GlobMatch, TrailingDoubleStarMatchesBelowNotTheDirectory) {
  EXPECT_TRUE(glob_match("/usr/lib/python3.11/**", "/usr/lib/python3.11/os.py"));
  EXPECT_TRUE(glob_match("/usr/lib/python3.11/**", "/usr/lib/python3.11/encodings/utf_8.py"));
  EXPECT_TRUE(glob_match("/usr/lib/python3.11/**", "/usr/lib/python3.11/.hidden"));
  EXPECT_FALSE(glob_match("/usr/lib/python3.11/**", "/usr/lib/python3.11"));
  EXPECT_FALSE(glob_match("/usr/lib/python3.11/**", "/usr/lib/python3.12/os.py"));
  EXPECT_FALSE(glob_match("/usr/lib/python3.11/**/**", "/usr/lib/python3.11"));
  EXPECT_TRUE(glob_match("/**", "/etc"));
  EXPECT_FALSE(glob_match("/**", "/"));
}

TEST(GlobMatch, DoubleStarInsideAComponentIsAStar) {
  EXPECT_TRUE(glob_match("/x/**.py", "/x/a.py"));
  EXPECT_FALSE(glob_match("/x/**.py", "/x/a/b.py"));
  EXPECT_TRUE(glob_match("/x/a**", "/x/abc"));
}

TEST(GlobMatch, RelativePatternMatchesAtAnyDepth) {
  EXPECT_TRUE(glob_match("*.pyc", "/a.pyc"));
  EXPECT_TRUE(glob_match("*.pyc", "/usr/lib/python3/x.pyc"));
  EXPECT_FALSE(glob_match("*.pyc", "/usr/lib/python3/x.py"));
  EXPECT_TRUE(glob_match("__pycache__/**", "/usr/lib/python3/__pycache__/x.pyc"));
  EXPECT_FALSE(glob_match("__pycache__/**", "/usr/lib/python3/__pycache__"));
  EXPECT_TRUE(glob_match("**/__pycache__/**", "/__pycache__/x.pyc"));
  EXPECT_TRUE(glob_match("share/locale/*", "/usr/share/locale/de"));
  EXPECT_FALSE(glob_match("share/locale/*", "/usr/share/locale/de/LC_MESSAGES"));
  EXPECT_FALSE(glob_match("share/locale", "/usr/share/localex"));
  EXPECT_TRUE(glob_match("**", "/etc/passwd"));
  EXPECT_FALSE(glob_match("**", "/"));
}

TEST(GlobMatch, EmptyComponentsAreIgnored) {
  EXPECT_TRUE(glob_match("/usr//lib/", "/usr/lib"));
  EXPECT_TRUE(glob_match("/usr/lib", "/usr//lib/"));
  EXPECT_TRUE(glob_match("/", "/"));
  EXPECT_FALSE(glob_match("/", "/usr"));
}

TEST(GlobError, AcceptsValidPatterns) {
  for (const char* pattern : {"/usr/bin/gcc", "*.pyc",   "**",    "/**",
                              "/a/**/b",      "[!a]",    "[^a]",  "[]]",
                              "[]a]",         "[!]]",    "[a-z]", "[[:alpha:][:digit:]]",
                              "[[.a.]]",      "[[=a=]]", "\\*",   "\\[",
                              "[\\]]",        "x/",      "/",     "/usr/lib/python3.11/encodings/**",
                              "\xff\xfe*"})
    EXPECT_EQ(glob_error(pattern), "") << pattern;
}

TEST(GlobError, EmptyPattern) { EXPECT_EQ(glob_error(""), "empty pattern"); }

TEST(GlobError, NulByte) { EXPECT_EQ(glob_error(std::string_view("/a\0b", 4)), "NUL byte in pattern"); }

TEST(GlobError, UnclosedBracket) {
  EXPECT_EQ(glob_error("/usr/lib/[abc"), "unclosed '['");
  EXPECT_EQ(glob_error("["), "unclosed '['");
  EXPECT_EQ(glob_error("[]"), "unclosed '['");
  EXPECT_EQ(glob_error("[!]"), "unclosed '['");
  EXPECT_EQ(glob_error("[a\\]"), "unclosed '['");
  EXPECT_EQ(glob_error("/x/[a/b]"), "unclosed '['");  // a bracket cannot hold '/'
  EXPECT_EQ(glob_error("[[:alpha:]"), "unclosed '['");
}

TEST(GlobError, UnclosedClass) {
  EXPECT_EQ(glob_error("[[:alpha]"), "unclosed '[:'");
  EXPECT_EQ(glob_error("[[.a]"), "unclosed '[.'");
  EXPECT_EQ(glob_error("[[=a]"), "unclosed '[='");
}

TEST(GlobError, UnknownCharacterClass) { EXPECT_EQ(glob_error("[[:alpah:]]"), "unknown character class 'alpah'"); }

TEST(GlobError, DanglingBackslash) {
  EXPECT_EQ(glob_error("/x/a\\"), "'\\' at the end of a component escapes nothing");
  EXPECT_EQ(glob_error("/x/a\\/b"), "'\\' at the end of a component escapes nothing");
}

TEST(GlobError, DotComponents) {
  EXPECT_EQ(glob_error("./build/**"), "'.' components never match (paths are absolute and normalized)");
  EXPECT_EQ(glob_error("/usr/lib/../bin"), "'..' components never match (paths are absolute and normalized)");
  EXPECT_EQ(glob_error("/usr/.lib/..x"), "");
}

}  // namespace
}  // namespace tracepack
