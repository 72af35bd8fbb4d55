// Candidates to review found in a bundle's scripts (candidates_scripts.h).
//
// Perl: the bundle's own perl runs perl_requires.pl (embedded at build time)
// on the bundle's .pm and .pl files and on its scripts whose #! names perl;
// the script scans them line by line for `use`/`require` with a literal
// name, finds each module on that perl's @INC, and scans what it found in
// turn. A module file (or its shared object) outside the bundle is a
// candidate.
//
// Node.js: the bundle's .js/.mjs/.cjs files are scanned here, without node,
// for require("x"), import("x"), `import ... from "x"`, `import "x"` and
// `export ... from "x"` with a literal name (comments and strings skipped),
// when the bundle holds a node program. Each name is resolved as node's
// resolver does: built-in modules ("fs", "node:fs") skipped; a relative or
// absolute name as a file (itself, .js, .json, .node) or a directory
// (package.json "main", index.*); a bare name in node_modules directories
// up the tree, then Debian's global module directories, entering the
// package through package.json "exports" (the "." or "./sub" entry, the
// "require" or "import" condition, then "node", then "default") or "main".
// A package none of whose files is in the bundle is a candidate as its
// directory; a file of a bundled package, or a relative file, as the file.
// What a candidate file requires is scanned in turn.
//
// Shell: the bundle's scripts whose #! is sh, bash or dash (directly or
// through env) are read for the command words of simple commands: the first
// word of each line and after | ; & && || ( $( ` and the keywords that open
// a command list (then, do, else...), skipping assignments, redirections,
// case patterns, here-documents, comments, quoted words, words with $ or
// glob characters, builtins, keywords and the script's own functions. Each
// is looked up on the PATH values the tests ran with (a spec's test env:
// PATH, a trace's recorded PATH), their absolute directories in order, then
// on the standard PATH; a program found there and not in the bundle is a
// candidate, an ELF one included with `elf:` so that its libraries come too.
//
// Ranking: a site in the application's own files is 1; a site in an
// installed library (Perl's vendor and site directories, node_modules or
// Debian's node directories) 2; in Perl's core library 3. A shell command
// is 1 when its script lies outside /usr, else 2.
#include "candidates_scripts.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "candidate_sources.h"
#include "run_capture.h"
#include "tracepack/error.h"
#include "tracepack/spec.h"
#include "tracepack_perl_requires.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;


PathBytes host_path(const PathBytes& root, const PathBytes& path) { return root == "/" ? path : root + path; }

// The first `limit` bytes of a file in `root` ("" when unreadable).
std::string read_head(const PathBytes& root, const PathBytes& path, std::size_t limit) {
  std::ifstream in(host_path(root, path), std::ios::binary);
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::string read_all(const PathBytes& root, const PathBytes& path) {
  std::ifstream in(host_path(root, path), std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `path` with its symlinks followed (at most 40), or nullopt when it, or
// one they point to, does not exist.
std::optional<std::pair<PathBytes, FileInfo>> follow(const FileSystemView& files, PathBytes path) {
  for (int hops = 0; hops < 40; ++hops) {
    std::optional<FileInfo> info = files.info(path);
    if (!info) return std::nullopt;
    if (info->type != EntryType::symlink) return std::make_pair(path, *info);
    const PathBytes& target = info->link_target;
    path = target.starts_with("/") ? target : (fs::path(path).parent_path() / target).lexically_normal().string();
  }
  return std::nullopt;
}

bool is_file(const FileSystemView& files, const PathBytes& path) {
  auto found = follow(files, path);
  return found && found->second.type == EntryType::regular;
}

bool is_directory(const FileSystemView& files, const PathBytes& path) {
  auto found = follow(files, path);
  return found && found->second.type == EntryType::directory;
}

// The interpreter named by a script's #! line ("perl", "sh"...), through
// env; "" when the file has none.
std::string shebang_program(const std::string& head) {
  if (!head.starts_with("#!")) return "";
  std::istringstream line(head.substr(2, head.find('\n') - 2));
  std::string program, argument;
  line >> program >> argument;
  program = fs::path(program).filename();
  if (program == "env") program = argument;
  return program;
}

// What one source found: candidates by path, their sites merged.
struct Finding {
  std::string what;  ///< "module 'Text::Wrap'"
  bool directory = false;
  std::set<std::pair<PathBytes, int>> sites;
};
using Findings = std::map<PathBytes, Finding>;

void add_finding(Findings& found, const PathBytes& path, const std::string& what, bool directory, const PathBytes& site, int line) {
  Finding& f = found[path];
  if (f.what.empty()) f.what = what;
  f.directory = directory;
  f.sites.emplace(site, line);
}

// Turns findings into candidates; `rank_of` ranks one site, `verb` says what
// the sites do ("is required", "is run by a shell script"), `include_of`
// gives the include: line.
template <typename RankOf, typename IncludeOf>
void add_candidates(const Findings& found, const FileSystemView& files, const std::string& kind, const std::string& verb,
                    const std::string& untested, RankOf rank_of, IncludeOf include_of, CandidateList& list) {
  static const char* const kBy[] = {"", "", " by an installed library", " by the standard library"};
  for (const auto& [path, f] : found) {
    Candidate c;
    c.path = path;
    c.kind = kind;
    c.rank = kRankStandardLibrary;
    for (const auto& [file, line] : f.sites) c.rank = std::min(c.rank, rank_of(file));
    c.reason = f.what + " " + verb + (kind == "shell-command" ? "" : kBy[c.rank]) + " but " + untested;
    for (const auto& [file, line] : f.sites) c.evidence.push_back(file + ":" + std::to_string(line));
    std::sort(c.evidence.begin(), c.evidence.end());
    count_candidate_files(files, path, c);
    c.include = include_of(path, f);
    list.candidates.push_back(std::move(c));
  }
}

// ---- Perl -------------------------------------------------------------------

bool perl_name(const std::string& base) {
  if (base == "perl") return true;
  if (!base.starts_with("perl5.")) return false;
  return std::all_of(base.begin() + 6, base.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

void perl_candidates(const std::vector<PathBytes>& paths, const std::vector<PathBytes>& perl_sources, const FileSystemView& files,
                     const PathBytes& root, CandidateList& list) {
  PathBytes perl = bundle_program(paths, files, perl_name);
  if (perl.empty() || perl_sources.empty()) return;
  std::string answer;
  try {
    std::string request_text;
    for (const PathBytes& path : perl_sources) request_text += path + "\n";
    ScratchFile request(scratch_dir_for(root), request_text);
    std::string script(reinterpret_cast<const char*>(kPerlRequiresPl), kPerlRequiresPl_size);
    answer = run_capturing({perl, "-e", script, path_inside(root, request.path())}, root);
  } catch (const Error& e) {
    list.notes.push_back("perl modules not checked: " + perl + ": " + e.what());
    return;
  }
  std::set<PathBytes> bundle(paths.begin(), paths.end());
  std::vector<PathBytes> inc, core;
  Findings found;
  std::istringstream lines(answer);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream split(line);
    for (std::string field; std::getline(split, field, '\t');) fields.push_back(field);
    if (fields.size() == 2 && fields[0] == "inc") inc.push_back(fields[1]);
    if (fields.size() == 2 && fields[0] == "core") core.push_back(fields[1]);
    if (fields.size() != 5 || fields[0] != "need" || bundle.count(fields[2])) continue;
    std::string what = fields[1].ends_with(".pl") || fields[1].find('/') != std::string::npos ? "file '" + fields[1] + "'" : "module '" + fields[1] + "'";
    add_finding(found, fields[2], what, false, fields[3], std::atoi(fields[4].c_str()));
  }
  auto rank_of = [&](const PathBytes& file) {
    auto in = [&](const std::vector<PathBytes>& dirs) { return std::any_of(dirs.begin(), dirs.end(), [&](const PathBytes& d) { return under(file, d); }); };
    return in(core) ? kRankStandardLibrary : in(inc) ? kRankLibrary : kRankApplication;
  };
  add_candidates(found, files, "perl-module", "is required", "no test loaded it", rank_of,
                 [](const PathBytes& path, const Finding&) { return glob_list_item(path); }, list);
}

// ---- Node.js ----------------------------------------------------------------

constexpr std::array<std::string_view, 43> kNodeBuiltins = {
    "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto", "dgram",
    "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2", "https", "inspector", "module", "net",
    "os", "path", "perf_hooks", "process", "punycode", "querystring", "readline", "repl", "stream", "string_decoder",
    "sys", "timers", "tls", "trace_events", "tty", "url", "util", "v8", "vm", "wasi", "worker_threads", "zlib", "test"};

// Debian's node looks for global modules here after the node_modules walk.
constexpr std::array<std::string_view, 5> kNodeGlobalDirs = {"/usr/local/lib/nodejs", "/usr/local/share/nodejs",
                                                             "/usr/lib/x86_64-linux-gnu/nodejs", "/usr/share/nodejs", "/usr/lib/nodejs"};

bool node_builtin(std::string_view name) {
  if (name.starts_with("node:")) return true;
  std::string_view first = name.substr(0, name.find('/'));
  return std::find(kNodeBuiltins.begin(), kNodeBuiltins.end(), first) != kNodeBuiltins.end();
}

struct NodeImport {
  std::string name;
  int line = 0;
  bool esm = false;  ///< import, not require
};

// The literal module names a JavaScript file loads. A hand scanner: it
// skips comments and strings, then looks at the identifiers require, import
// and from (not after a '.') followed by a string literal.
std::vector<NodeImport> node_imports(const std::string& text) {
  std::vector<NodeImport> found;
  int line = 1;
  char previous = 0;  // the last significant character before an identifier
  std::size_t i = 0, n = text.size();
  auto skip_space = [&](std::size_t j) {
    while (j < n && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
    return j;
  };
  while (i < n) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      while (i < n && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      std::size_t end = text.find("*/", i + 2);
      end = end == std::string::npos ? n : end + 2;
      line += static_cast<int>(std::count(text.begin() + static_cast<std::ptrdiff_t>(i), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
      i = end;
    } else if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < n && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
        else if (text[i] == '\n') {
          ++line;
          if (c != '`') break;
        }
      }
      ++i;
      previous = c;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
      std::size_t start = i;
      while (i < n && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' || text[i] == '$')) ++i;
      std::string_view word(text.data() + start, i - start);
      if (previous != '.' && (word == "require" || word == "import" || word == "from")) {
        std::size_t j = skip_space(i);
        if (word != "from" && j < n && text[j] == '(') j = skip_space(j + 1);
        if (j < n && (text[j] == '"' || text[j] == '\'')) {
          std::size_t end = text.find_first_of(std::string(1, text[j]) + "\n\\", j + 1);
          if (end != std::string::npos && text[end] == text[j] && end > j + 1)
            found.push_back({text.substr(j + 1, end - j - 1), line, word != "require"});
        }
      }
      previous = 'a';
    } else {
      if (c != ' ' && c != '\t' && c != '\r') previous = c;
      ++i;
    }
  }
  return found;
}

struct NodeResolver {
  const FileSystemView& files;
  const PathBytes& root;

  std::optional<nlohmann::ordered_json> package_json(const PathBytes& dir) const {
    if (!is_file(files, dir + "/package.json")) return std::nullopt;
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(read_all(root, dir + "/package.json"), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
  }

  PathBytes as_file(const PathBytes& path) const {
    for (const char* ext : {"", ".js", ".json", ".node"})
      if (is_file(files, path + ext)) return path + ext;
    return "";
  }

  PathBytes as_directory(const PathBytes& dir) const {
    if (auto pkg = package_json(dir); pkg && pkg->contains("main") && (*pkg)["main"].is_string()) {
      PathBytes main = (fs::path(dir) / (*pkg)["main"].get<std::string>()).lexically_normal().string();
      if (PathBytes f = as_file(main); !f.empty()) return f;
      if (PathBytes f = as_file(main + "/index"); !f.empty()) return f;
    }
    return as_file(dir + "/index");
  }

  PathBytes as_file_or_directory(const PathBytes& path) const {
    PathBytes f = as_file(path);
    return f.empty() ? as_directory(path) : f;
  }

  // The target an "exports" value gives under node's conditions.
  static std::string export_target(const nlohmann::ordered_json& value, bool esm) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_array()) {
      for (const auto& item : value)
        if (std::string t = export_target(item, esm); !t.empty()) return t;
    }
    if (value.is_object()) {
      for (const auto& [condition, target] : value.items())
        if (condition == (esm ? "import" : "require") || condition == "node" || condition == "default") return export_target(target, esm);
    }
    return "";
  }

  // The file a package's `subpath` ("." or "./x") names.
  PathBytes package_entry(const PathBytes& dir, const std::string& subpath, bool esm) const {
    if (auto pkg = package_json(dir); pkg && pkg->contains("exports")) {
      const nlohmann::ordered_json& exports = (*pkg)["exports"];
      bool keyed = exports.is_object() && !exports.empty() && exports.begin().key().starts_with(".");
      std::string target;
      if (keyed && exports.contains(subpath)) target = export_target(exports[subpath], esm);
      else if (!keyed && subpath == ".") target = export_target(exports, esm);
      if (!target.empty()) {
        PathBytes file = (fs::path(dir) / target).lexically_normal().string();
        return is_file(files, file) ? file : "";
      }
    }
    return subpath == "." ? as_directory(dir) : as_file_or_directory((fs::path(dir) / subpath).lexically_normal().string());
  }

  // The package directory for a bare name, searched from `from_dir`.
  PathBytes package_dir(const std::string& package, PathBytes from_dir) const {
    for (;;) {
      if (fs::path(from_dir).filename() != "node_modules") {
        PathBytes candidate = (from_dir == "/" ? "" : from_dir) + "/node_modules/" + package;
        if (is_directory(files, candidate)) return candidate;
      }
      if (from_dir == "/" || from_dir.empty()) break;
      from_dir = fs::path(from_dir).parent_path().string();
    }
    for (std::string_view global : kNodeGlobalDirs)
      if (PathBytes candidate = std::string(global) + "/" + package; is_directory(files, candidate)) return candidate;
    return "";
  }
};

// A bare name's package ("lodash", "@scope/name") and subpath ("." or "./fp").
std::pair<std::string, std::string> split_package(const std::string& name) {
  std::size_t slash = name.find('/');
  if (name.starts_with("@") && slash != std::string::npos) slash = name.find('/', slash + 1);
  if (slash == std::string::npos) return {name, "."};
  return {name.substr(0, slash), "." + name.substr(slash)};
}

bool node_library_file(const PathBytes& file) {
  return file.find("/node_modules/") != std::string::npos ||
         std::any_of(kNodeGlobalDirs.begin(), kNodeGlobalDirs.end(), [&](std::string_view dir) { return under(file, dir); });
}

void node_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root, CandidateList& list) {
  if (bundle_program(paths, files, [](const std::string& base) { return base == "node" || base == "nodejs"; }).empty()) return;
  std::set<PathBytes> bundle(paths.begin(), paths.end());
  std::vector<PathBytes> queue;
  for (const PathBytes& path : paths)
    if ((path.ends_with(".js") || path.ends_with(".mjs") || path.ends_with(".cjs")) && is_file(files, path)) queue.push_back(path);
  std::set<PathBytes> scanned(queue.begin(), queue.end());
  NodeResolver resolver{files, root};
  Findings found;
  while (!queue.empty()) {
    PathBytes file = queue.back();
    queue.pop_back();
    PathBytes dir = fs::path(file).parent_path().string();
    for (const NodeImport& import : node_imports(read_all(root, file))) {
      if (node_builtin(import.name)) continue;
      PathBytes resolved, candidate;
      bool directory = false;
      if (import.name.starts_with("./") || import.name.starts_with("../") || import.name.starts_with("/") || import.name == "." ||
          import.name == "..") {
        PathBytes target = import.name.starts_with("/") ? import.name : (fs::path(dir) / import.name).lexically_normal().string();
        if (target.size() > 1 && target.ends_with("/")) target.pop_back();
        resolved = candidate = resolver.as_file_or_directory(target);
      } else {
        auto [package, subpath] = split_package(import.name);
        PathBytes package_dir = resolver.package_dir(package, dir);
        if (package_dir.empty()) continue;
        resolved = candidate = resolver.package_entry(package_dir, subpath, import.esm);
        auto first_below = bundle.lower_bound(package_dir + "/");
        if (first_below == bundle.end() || !under(*first_below, package_dir)) {
          candidate = package_dir;
          directory = true;
        }
      }
      if (resolved.empty() || bundle.count(resolved)) continue;
      add_finding(found, candidate, "module '" + import.name + "'", directory, file, import.line);
      if ((resolved.ends_with(".js") || resolved.ends_with(".mjs") || resolved.ends_with(".cjs")) && scanned.insert(resolved).second)
        queue.push_back(resolved);
    }
  }
  // A file below a package directory that is itself a candidate is part of it.
  for (auto it = found.begin(); it != found.end();) {
    auto owner = std::find_if(found.begin(), found.end(), [&](const auto& f) { return f.second.directory && under(it->first, f.first); });
    if (owner == found.end()) {
      ++it;
      continue;
    }
    for (const auto& site : it->second.sites)
      if (!under(site.first, owner->first)) owner->second.sites.insert(site);  // the package's own files aside
    it = found.erase(it);
  }
  auto rank_of = [](const PathBytes& file) { return node_library_file(file) ? kRankLibrary : kRankApplication; };
  add_candidates(found, files, "node-module", "is required", "no test loaded it", rank_of,
                 [](const PathBytes& path, const Finding& f) { return glob_list_item(path, f.directory ? "/**" : ""); }, list);
}

// ---- Shell ------------------------------------------------------------------

const std::set<std::string, std::less<>> kShellBuiltins = {
    "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete", "compopt", "continue",
    "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit", "export", "false", "fc", "fg", "getopts",
    "hash", "help", "history", "jobs", "kill", "let", "local", "logout", "mapfile", "popd", "printf", "pushd", "pwd",
    "read", "readarray", "readonly", "return", "set", "shift", "shopt", "source", "suspend", "test", "times", "trap",
    "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait", ".", ":", "[", "[[", "]]", "]",
    "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do", "done", "in",
    "function", "time", "{", "}", "!", "coproc"};

// Keywords after which a command comes.
const std::set<std::string, std::less<>> kShellCommandKeywords = {"if", "then", "else", "elif", "while", "until", "do", "!", "{", "time", "exec", "nohup"};

struct ShellWord {
  std::string text;
  int line = 0;
};

// The words of a shell script in command position (see the file's paragraph).
class ShellScanner {
 public:
  explicit ShellScanner(const std::string& text) : text_(text) {}

  std::vector<ShellWord> command_words() {
    while (i_ < text_.size()) step();
    std::erase_if(words_, [&](const ShellWord& w) { return functions_.count(w.text) > 0; });
    return words_;
  }

 private:
  const std::string& text_;
  std::size_t i_ = 0;
  int line_ = 1;
  bool command_ = true;    // the next word is a command
  bool skip_next_ = false; // the next word is a name (for, case, function, a redirection's file)
  int case_depth_ = 0;
  bool pattern_ = false;   // in a case pattern, up to ')'
  std::vector<bool> substitutions_;  // open $( ): whether a command came next before it
  bool in_backticks_ = false;
  bool backtick_command_ = false;
  std::vector<std::pair<std::string, bool>> heredocs_;  // delimiter, <<-

  char at(std::size_t j) const { return j < text_.size() ? text_[j] : '\0'; }

  void newline() {
    ++line_;
    ++i_;
    command_ = !pattern_;
    skip_next_ = false;
    for (const auto& [delimiter, strip_tabs] : heredocs_) skip_heredoc(delimiter, strip_tabs);
    heredocs_.clear();
  }

  void skip_heredoc(const std::string& delimiter, bool strip_tabs) {
    while (i_ < text_.size()) {
      std::size_t end = text_.find('\n', i_);
      std::string body_line = text_.substr(i_, end == std::string::npos ? std::string::npos : end - i_);
      i_ = end == std::string::npos ? text_.size() : end + 1;
      ++line_;
      if (strip_tabs) body_line.erase(0, body_line.find_first_not_of('\t') == std::string::npos ? body_line.size() : body_line.find_first_not_of('\t'));
      if (body_line == delimiter) return;
    }
  }

  void separator() {
    command_ = true;
    skip_next_ = false;
  }

  void step() {
    char c = text_[i_];
    if (c == '\n') return newline();
    if (c == ' ' || c == '\t' || c == '\r') return void(++i_);
    if (c == '\\' && at(i_ + 1) == '\n') {
      i_ += 2;
      ++line_;
      return;
    }
    if (c == '#') {
      while (i_ < text_.size() && text_[i_] != '\n') ++i_;
      return;
    }
    if (c == ';') {
      if (at(i_ + 1) == ';' && case_depth_ > 0) pattern_ = true;
      while (at(i_) == ';' || at(i_) == '&') ++i_;
      return separator();
    }
    if (c == '|' || c == '&') {
      i_ += at(i_ + 1) == c ? 2 : 1;
      if (pattern_) return;
      return separator();
    }
    if (c == '`') {
      ++i_;
      if (in_backticks_) {
        in_backticks_ = false;
        command_ = backtick_command_;
        return;
      }
      in_backticks_ = true;
      backtick_command_ = command_;
      return separator();
    }
    if (c == '(') {
      ++i_;
      return separator();
    }
    if (c == ')') {
      ++i_;
      if (!substitutions_.empty() && !pattern_) {
        command_ = substitutions_.back();  // an assignment's $( ) may come before the command
        substitutions_.pop_back();
        return;
      }
      pattern_ = false;
      return separator();
    }
    if (c == '<' || c == '>') return redirection();
    if (c == '$' && at(i_ + 1) == '(' && at(i_ + 2) == '(') return skip_arithmetic();
    if (c == '$' && at(i_ + 1) == '(') {
      i_ += 2;
      substitutions_.push_back(command_);
      return separator();
    }
    word();
  }

  void redirection() {
    if (at(i_) == '<' && at(i_ + 1) == '<' && at(i_ + 2) != '<') {
      i_ += 2;
      bool strip_tabs = at(i_) == '-';
      if (strip_tabs) ++i_;
      while (at(i_) == ' ' || at(i_) == '\t') ++i_;
      std::string delimiter;
      while (i_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[i_])) && std::string_view(";|&<>()").find(text_[i_]) == std::string_view::npos) {
        if (text_[i_] != '\'' && text_[i_] != '"' && text_[i_] != '\\') delimiter += text_[i_];
        ++i_;
      }
      heredocs_.emplace_back(delimiter, strip_tabs);
      return;
    }
    while (at(i_) == '<' || at(i_) == '>' || at(i_) == '&' || at(i_) == '|') ++i_;
    skip_next_ = true;  // the file (or &N) is no command
  }

  void skip_arithmetic() {
    std::size_t end = text_.find("))", i_);
    end = end == std::string::npos ? text_.size() : end + 2;
    line_ += static_cast<int>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(i_), text_.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    i_ = end;
  }

  void word() {
    int line = line_;
    std::string text;
    bool plain = true;  // no quotes, $ or glob characters
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (std::isspace(static_cast<unsigned char>(c)) || std::string_view(";|&<>()`").find(c) != std::string_view::npos) break;
      if (c == '$' && at(i_ + 1) == '(') break;
      if (c == '\'' || c == '"') {
        plain = false;
        std::size_t end = text_.find(c, i_ + 1);
        if (c == '"') {
          for (end = i_ + 1; end < text_.size() && text_[end] != '"'; ++end)
            if (text_[end] == '\\') ++end;
        }
        end = std::min(end, text_.size());
        line_ += static_cast<int>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(i_), text_.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
        i_ = end + 1;
        continue;
      }
      if (c == '\\') {
        plain = false;
        ++i_;
      }
      if (c == '$' || c == '*' || c == '?' || c == '[') plain = false;
      text += c;
      ++i_;
    }
    if (text.empty() && plain) return void(++i_);
    if (std::all_of(text.begin(), text.end(), [](char d) { return d >= '0' && d <= '9'; }) && (at(i_) == '<' || at(i_) == '>')) return;
    take(text, plain, line);
  }

  void take(const std::string& text, bool plain, int line) {
    if (pattern_) {
      if (text == "esac") {
        pattern_ = false;
        --case_depth_;
        command_ = false;
      }
      return;
    }
    if (skip_next_) {
      skip_next_ = false;
      if (text == "in" && case_depth_ > 0) pattern_ = true;
      return;
    }
    if (!command_) {
      if (text == "in" && awaiting_case_in_) {
        awaiting_case_in_ = false;
        pattern_ = true;
      }
      return;
    }
    std::size_t equals = text.find('=');
    if (equals != std::string::npos && equals > 0 && plain_name(text.substr(0, equals))) return;  // an assignment
    if (text == "esac") {
      --case_depth_;
      command_ = false;
      return;
    }
    if (text == "case") {
      ++case_depth_;
      awaiting_case_in_ = true;
      command_ = false;
      return;
    }
    if (text == "for" || text == "select" || text == "function") {
      command_ = false;
      if (text == "function") function_name_next_ = true;
      return;
    }
    if (kShellCommandKeywords.count(text)) return;  // a command follows
    command_ = false;
    if (function_name_next_) {
      function_name_next_ = false;
      functions_.insert(text);
      return;
    }
    if (at(skip_blanks(i_)) == '(' && at(skip_blanks(skip_blanks(i_) + 1)) == ')') {
      functions_.insert(text);  // name() { ...
      return;
    }
    if (plain && !kShellBuiltins.count(text)) words_.push_back({text, line});
  }

  std::size_t skip_blanks(std::size_t j) const {
    while (at(j) == ' ' || at(j) == '\t') ++j;
    return j;
  }

  static bool plain_name(const std::string& name) {
    return !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
           std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  }

  bool awaiting_case_in_ = false;
  bool function_name_next_ = false;
  std::set<std::string> functions_;
  std::vector<ShellWord> words_;
};

constexpr std::array<std::string_view, 6> kStandardPath = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"};

// The directories to look commands up in: the absolute ones of each PATH
// value (a relative one depends on a test's cwd), then the standard PATH;
// each once.
std::vector<PathBytes> search_directories(const std::vector<std::string>& search_paths) {
  std::vector<PathBytes> dirs;
  auto add = [&](std::string dir) {
    while (dir.size() > 1 && dir.ends_with("/")) dir.pop_back();
    if (dir.starts_with("/") && std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(std::move(dir));
  };
  for (const std::string& value : search_paths) {
    std::istringstream split(value);
    for (std::string dir; std::getline(split, dir, ':');) add(dir);
  }
  for (std::string_view dir : kStandardPath) add(std::string(dir));
  return dirs;
}

// The program `name` runs on `dirs` ("" when none).
PathBytes find_program(const FileSystemView& files, const std::string& name, const std::vector<PathBytes>& dirs) {
  if (name.starts_with("/")) return is_file(files, name) ? name : "";
  if (name.find('/') != std::string::npos) return "";
  for (const PathBytes& dir : dirs) {
    PathBytes path = (dir == "/" ? "" : dir) + "/" + name;
    auto found = follow(files, path);
    if (found && found->second.type == EntryType::regular && (found->second.mode & 0111)) return path;
  }
  return "";
}

void shell_candidates(const std::vector<PathBytes>& shell_scripts, const std::vector<PathBytes>& paths, const FileSystemView& files,
                      const PathBytes& root, const std::vector<std::string>& search_paths, CandidateList& list) {
  std::set<PathBytes> bundle(paths.begin(), paths.end());
  std::vector<PathBytes> dirs = search_directories(search_paths);
  Findings found;
  for (const PathBytes& script : shell_scripts) {
    std::string text = read_all(root, script);
    for (const ShellWord& word : ShellScanner(text).command_words()) {
      PathBytes program = find_program(files, word.text, dirs);
      if (program.empty() || bundle.count(program)) continue;
      add_finding(found, program, "program '" + word.text + "'", false, script, word.line);
    }
  }
  auto rank_of = [](const PathBytes& script) { return under(script, "/usr") ? kRankLibrary : kRankApplication; };
  auto include_of = [&](const PathBytes& path, const Finding&) {
    auto target = follow(files, path);
    if (target && read_head(root, target->first, 4) == "\x7f" "ELF") return "- elf: " + path;
    return glob_list_item(path);
  };
  std::size_t first = list.candidates.size();
  add_candidates(found, files, "shell-command", "is run by a shell script", "no test ran it", rank_of, include_of, list);
  // PATH may find a symlink (awk): count the program it names.
  for (std::size_t k = first; k < list.candidates.size(); ++k) {
    Candidate& c = list.candidates[k];
    if (auto target = follow(files, c.path); target && target->first != c.path) count_candidate_files(files, target->first, c);
  }
}

}  // namespace

std::vector<std::string> test_search_paths(const std::vector<TestCase>& tests, const std::vector<Trace>& traces) {
  std::vector<std::string> values;
  auto add = [&](const std::string& value) {
    if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
  };
  for (const TestCase& test : tests)
    if (auto it = test.env.find("PATH"); it != test.env.end()) add(it->second);
  for (const Trace& trace : traces)
    if (auto it = trace.run.env_values.find("PATH"); it != trace.run.env_values.end()) add(it->second);
  return values;
}

void script_candidates(const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root,
                       const std::vector<std::string>& search_paths, CandidateList& list) {
  std::vector<PathBytes> perl_sources, shell_scripts;
  for (const PathBytes& path : paths) {
    std::optional<FileInfo> info = files.info(path);
    if (!info || info->type != EntryType::regular) continue;
    if (path.ends_with(".pm") || path.ends_with(".pl")) {
      perl_sources.push_back(path);
      continue;
    }
    std::string program = shebang_program(read_head(root, path, 256));
    if (program.starts_with("perl")) perl_sources.push_back(path);
    if (program == "sh" || program == "bash" || program == "dash") shell_scripts.push_back(path);
  }
  perl_candidates(paths, perl_sources, files, root, list);
  node_candidates(paths, files, root, list);
  shell_candidates(shell_scripts, paths, files, root, search_paths, list);
}

}  // namespace tracepack
