// The helpers of cli_test_util.h. Child processes are run with fork and
// execvp, their output captured in files of a temporary directory (a pipe
// would need a reader thread for outputs larger than its buffer).
#include "cli_test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace tracepack::cli_test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& base) {
  std::string name = base + "/tracepack-test.XXXXXX";
  if (mkdtemp(name.data()) == nullptr) throw std::runtime_error(name + ": mkdtemp: " + std::strerror(errno));
  chmod(name.c_str(), 0755);
  path_ = fs::canonical(name).string();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error(path + ": cannot write");
}

std::string copy_program(const std::string& program, const std::string& dir) {
  std::filesystem::path to = std::filesystem::path(dir) / std::filesystem::path(program).filename();
  std::filesystem::copy_file(program, to, std::filesystem::copy_options::overwrite_existing);
  return std::filesystem::canonical(to).string();
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& options) {
  TempDir capture;
  RunResult result;
  for (const std::string& a : argv) result.command += (result.command.empty() ? "" : " ") + a;
  std::string out = capture / "out", err = capture / "err";
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    std::string in = options.stdin_file.empty() ? "/dev/null" : options.stdin_file;
    int fds[3] = {open(in.c_str(), O_RDONLY), open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600),
                  open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)};
    for (int i = 0; i < 3; ++i)
      if (fds[i] < 0 || dup2(fds[i], i) < 0) _exit(125);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(125);
    for (const std::string& e : options.env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

RunResult tracepack(std::vector<std::string> args, const RunOptions& options) {
  args.insert(args.begin(), TRACEPACK_BIN);
  return run(args, options);
}

::testing::AssertionResult exited_with(const RunResult& r, int code) {
  if (r.exit_code == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.command << "\nexited " << r.exit_code << ", expected " << code << "\n--- stdout:\n"
                                       << r.out << "--- stderr:\n"
                                       << r.err;
}

bool have_program(const std::string& name) { return run({"sh", "-c", "command -v " + name}).exit_code == 0; }

Json report_json(const std::string& input, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"report", input, "--format", "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = tracepack(args);
  if (r.exit_code != 0) throw std::runtime_error("report " + input + " failed: " + r.err);
  return Json::parse(r.out);
}

Json manifest_of(const std::string& bundle, const std::string& format) {
  if (format == "dir") return Json::parse(read_file(bundle + "/.tracepack/manifest.json"));
  RunResult r = run({"bsdtar", "-xOf", bundle, ".tracepack/manifest.json"});
  if (r.exit_code != 0) throw std::runtime_error("bsdtar -xOf " + bundle + " failed: " + r.err);
  return Json::parse(r.out);
}

std::ostream& operator<<(std::ostream& out, const Counts& c) {
  return out << "{files " << c.files << ", hardlinks " << c.hardlinks << ", directories " << c.directories << ", symlinks " << c.symlinks
             << ", bytes " << c.bytes << "}";
}

Counts counts_of(const Json& report) {
  const Json& t = report["totals"];
  return {t["files"], t["hardlinks"], t["directories"], t["symlinks"], t["bytes"]};
}

Counts count_manifest(const Json& manifest) {
  Counts c;
  for (const Json& e : manifest["entries"]) {
    if (e["path"] == "/") continue;
    if (e["type"] == "directory")
      ++c.directories;
    else if (e["type"] == "symlink")
      ++c.symlinks;
    else if (e.contains("hardlink_to"))
      ++c.hardlinks;
    else {
      ++c.files;
      c.bytes += e["size"].get<std::uint64_t>();
    }
  }
  return c;
}

RunResult render_in_chromium(const std::string& html) {
  return run({"timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
              "file://" + html});
}

std::string element_text(const std::string& dom, const std::string& id) {
  std::smatch m;
  if (std::regex_search(dom, m, std::regex("id=\"" + id + "\"[^>]*>([^<]*)<"))) return m[1];
  return "<missing>";
}

std::string attribute(const std::string& dom, const std::string& id, const std::string& name) {
  std::smatch m;
  if (std::regex_search(dom, m, std::regex("id=\"" + id + "\"[^>]*" + name + "=\"([^\"]*)\""))) return m[1];
  if (std::regex_search(dom, m, std::regex("<[^>]*" + name + "=\"([^\"]*)\"[^>]*id=\"" + id + "\""))) return m[1];
  return "<missing>";
}

}  // namespace tracepack::cli_test
