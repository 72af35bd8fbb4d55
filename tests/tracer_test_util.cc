// Child processes are started with fork/exec in their own process group, so a
// hung tracer can be killed together with everything it started; stdout and
// stderr go to files in a private temporary directory and are read back once
// the child is reaped. Waiting polls waitpid(WNOHANG) against a deadline
// rather than using alarms, so nothing in the test process changes its
// signal dispositions.
#include "tracer_test_util.h"

#include <elf.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "tracepack/error.h"

namespace tracepack::test {
namespace {

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void sleep_seconds(double seconds) {
  timespec ts{static_cast<time_t>(seconds), static_cast<long>((seconds - static_cast<time_t>(seconds)) * 1e9)};
  nanosleep(&ts, nullptr);
}

[[noreturn]] void throw_errno(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

bool is_under(std::string_view path, std::string_view dir) {
  if (dir.empty() || !path.starts_with(dir)) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

std::string shown_path(std::string_view path, std::string_view dir) {
  if (is_under(path, dir)) return "$D" + encode_path(path.substr(dir.size()));
  return encode_path(path);
}

bool kind_changes_existence(AccessKind kind) {
  switch (kind) {
    case AccessKind::create:
    case AccessKind::mkdir:
    case AccessKind::remove:
    case AccessKind::rename:
    case AccessKind::link:
    case AccessKind::symlink:
      return true;
    case AccessKind::read:
    case AccessKind::write:
    case AccessKind::exec:
    case AccessKind::stat:
    case AccessKind::readlink:
    case AccessKind::list:
    case AccessKind::chdir:
    case AccessKind::attr:
    case AccessKind::watch:
    case AccessKind::other:
      return false;
  }
  return false;
}

// In the forked child: never returns.
[[noreturn]] void exec_child(const std::vector<std::string>& argv, const SpawnOptions& options, int stdin_fd, const std::string& out_file,
                             const std::string& err_file) {
  setpgid(0, 0);
  int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0 || err < 0 || stdin_fd < 0) _exit(126);
  dup2(stdin_fd, 0);
  dup2(out, 1);
  dup2(err, 2);
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
  if (options.run_as && (setgroups(0, nullptr) != 0 || setgid(*options.run_as) != 0 || setuid(*options.run_as) != 0)) {
    _exit(126);
  }
  for (const std::string& entry : options.env_set) putenv(const_cast<char*>(entry.c_str()));
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  dprintf(2, "test harness: exec %s: %s\n", args[0], std::strerror(errno));
  _exit(127);
}

void feed_stdin(int fd, const std::string& data) {
  // Small payloads only: the pipe buffer takes them whole, so this never blocks.
  for (std::size_t done = 0; done < data.size();) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) break;
    done += static_cast<std::size_t>(n);
  }
  close(fd);
}

}  // namespace

// ---- TempDir ----

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/tracepack-test-XXXXXX";
  if (!mkdtemp(templ.data())) throw_errno("mkdtemp");
  path_ = real_path(templ);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

// ---- ProcessResult ----

bool ProcessResult::exited() const { return finished && WIFEXITED(status); }
int ProcessResult::exit_code() const { return exited() ? WEXITSTATUS(status) : -1; }
int ProcessResult::term_signal() const { return finished && WIFSIGNALED(status) ? WTERMSIG(status) : 0; }

std::string ProcessResult::summary() const {
  if (!finished) return "hung (killed by the test after its deadline)";
  if (exited()) return "exit " + std::to_string(exit_code());
  return "signal " + std::to_string(term_signal()) + " (" + strsignal(term_signal()) + ")";
}

// ---- ChildProcess ----

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& options) {
  int pipe_fds[2] = {-1, -1};
  if (options.stdin_data && pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  int child_stdin = options.stdin_data ? pipe_fds[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
  start_ = now_seconds();
  pid_ = fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) exec_child(argv, options, child_stdin, capture_ / "stdout", capture_ / "stderr");
  setpgid(pid_, pid_);  // also in the parent: no window where kill(-pid) misses
  close(child_stdin);
  if (options.stdin_data) feed_stdin(pipe_fds[1], *options.stdin_data);
}

ChildProcess::~ChildProcess() {
  if (reaped_ || pid_ <= 0) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

ProcessResult ChildProcess::wait(double timeout_seconds) {
  ProcessResult result;
  const double deadline = start_ + timeout_seconds;
  for (;;) {
    pid_t done = waitpid(pid_, &result.status, WNOHANG);
    if (done == pid_) {
      result.finished = true;
      break;
    }
    if (done < 0 && errno != EINTR) throw_errno("waitpid");
    if (now_seconds() > deadline) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      waitpid(pid_, &result.status, 0);
      break;
    }
    sleep_seconds(0.01);
  }
  reaped_ = true;
  result.seconds = now_seconds() - start_;
  result.out = read_file(capture_ / "stdout");
  result.err = read_file(capture_ / "stderr");
  return result;
}

void ChildProcess::send_signal(int sig) const { kill(pid_, sig); }

ProcessResult run_process(const std::vector<std::string>& argv, const SpawnOptions& options, double timeout_seconds) {
  ChildProcess child(argv, options);
  return child.wait(timeout_seconds);
}

// ---- Tracer runs ----

std::string fixture(std::string_view name) { return std::string(FIXTURE_BIN_DIR) + "/" + std::string(name); }

std::vector<std::string> tracer_command(const std::string& trace_file, const std::vector<std::string>& options,
                                        const std::vector<std::string>& command) {
  std::vector<std::string> argv = {TRACEPACK_BIN, "trace", "-q", "-o", trace_file};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

TracedRun run_traced(const std::string& trace_file, const std::vector<std::string>& command, const std::vector<std::string>& options,
                     const SpawnOptions& spawn, double timeout_seconds) {
  TracedRun run;
  run.process = run_process(tracer_command(trace_file, options, command), spawn, timeout_seconds);
  try {
    run.trace = read_trace(trace_file);
  } catch (const std::exception& e) {
    run.trace_error = e.what();
  }
  return run;
}

// ---- Queries ----

std::vector<const FileAccess*> find_accesses(const Trace& trace, const AccessQuery& query) {
  std::vector<const FileAccess*> found;
  for (const FileAccess& a : trace.accesses) {
    if (query.kind && a.kind != *query.kind) continue;
    if (query.syscall && a.syscall != *query.syscall) continue;
    if (query.path && a.path != *query.path) continue;
    if (query.resolved && a.resolved != *query.resolved) continue;
    if (query.origin && a.origin != *query.origin) continue;
    if (query.process && a.process != *query.process) continue;
    found.push_back(&a);
  }
  return found;
}

const FileAccess* find_access(const Trace& trace, const AccessQuery& query) {
  std::vector<const FileAccess*> found = find_accesses(trace, query);
  return found.size() == 1 ? found.front() : nullptr;
}

std::vector<const FileAccess*> accesses_under(const Trace& trace, std::string_view dir) {
  std::vector<const FileAccess*> found;
  for (const FileAccess& a : trace.accesses) {
    if (is_under(a.path, dir) || is_under(a.resolved, dir) || is_under(a.path2, dir) || is_under(a.resolved2, dir)) {
      found.push_back(&a);
    }
  }
  return found;
}

const Process* find_process(const Trace& trace, std::uint64_t id) {
  for (const Process& p : trace.processes) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

const Process* root_process(const Trace& trace) {
  for (const Process& p : trace.processes) {
    if (p.parent == 0) return &p;
  }
  return nullptr;
}

std::vector<const Process*> processes_with_exe(const Trace& trace, std::string_view exe) {
  std::vector<const Process*> found;
  for (const Process& p : trace.processes) {
    if (std::any_of(p.execs.begin(), p.execs.end(), [&](const Exec& e) { return e.exe == exe; })) {
      found.push_back(&p);
    }
  }
  return found;
}

bool has_warning(const Trace& trace, std::string_view keyword) {
  return std::any_of(trace.warnings.begin(), trace.warnings.end(),
                     [&](const Warning& w) { return w.message.find(keyword) != std::string::npos; });
}

// ---- Descriptions ----

std::string error_name(int err) {
  if (err == 0) return "ok";
  const char* name = strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

std::string describe(const FileAccess& a, std::string_view dir) {
  std::string line = a.syscall + " " + std::string(to_string(a.kind)) + " " + shown_path(a.path, dir);
  if (a.kind != AccessKind::symlink) line += " -> " + shown_path(a.resolved, dir);
  line += " " + error_name(a.error);
  if (!kind_changes_existence(a.kind)) line += " " + std::string(to_string(a.type));
  if (a.count != 1) line += " x" + std::to_string(a.count);
  if (!a.path2.empty() || !a.resolved2.empty()) {
    line += " | " + shown_path(a.path2, dir) + " -> " + shown_path(a.resolved2, dir);
  }
  if (a.origin != AccessOrigin::syscall) line += " [" + std::string(to_string(a.origin)) + "]";
  return line;
}

std::vector<std::string> describe_under(const Trace& trace, std::string_view dir) {
  std::vector<std::string> lines;
  for (const FileAccess* a : accesses_under(trace, dir)) lines.push_back(describe(*a, dir));
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> describe_links(const std::vector<Symlink>& links, std::string_view dir) {
  std::vector<std::string> lines;
  for (const Symlink& link : links) lines.push_back(shown_path(link.path, dir) + " => " + encode_path(link.target));
  return lines;
}

std::string dump(const Trace& trace) {
  std::ostringstream out;
  for (const Process& p : trace.processes) {
    out << "process " << p.id << " pid " << p.pid << " parent " << p.parent << " exited " << p.exited << " code " << p.exit_code
        << " signal " << p.signal << "\n";
    for (const Exec& e : p.execs) out << "  exec " << encode_path(e.path) << " exe " << encode_path(e.exe) << "\n";
  }
  for (const FileAccess& a : trace.accesses) {
    out << "  #" << a.id << " p" << a.process << " t" << a.tid << " " << describe(a) << " flags 0x" << std::hex << a.flags << std::dec
        << (a.observed ? " observed" : "") << "\n";
  }
  for (const Warning& w : trace.warnings) out << "warning (process " << w.process << "): " << w.message << "\n";
  out << (trace.end ? "end exit " + std::to_string(trace.end->exit_code) + " signal " + std::to_string(trace.end->signal)
                    : std::string("no end line"))
      << "\n";
  return out.str();
}

// ---- Files ----

void write_file(const std::string& path, std::string_view contents, unsigned mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out || chmod(path.c_str(), mode) != 0) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void make_dirs(const std::string& path) { std::filesystem::create_directories(path); }

void make_symlink(const std::string& target, const std::string& link) {
  if (symlink(target.c_str(), link.c_str()) != 0) throw_errno("symlink " + link);
}

std::string real_path(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (!resolved) return path;
  std::string result(resolved);
  free(resolved);
  return result;
}

// ---- Reference resolution ----

namespace {

std::deque<std::string> split_path(std::string_view path) {
  std::deque<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string parent_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string child_of(const std::string& dir, const std::string& name) { return dir == "/" ? "/" + name : dir + "/" + name; }

}  // namespace

Resolution reference_resolve(const PathBytes& path, bool follow_last) {
  Resolution result;
  std::deque<std::string> todo = split_path(path);
  std::string current = "/";
  for (int budget = 40; !todo.empty();) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      current = parent_of(current);
      continue;
    }
    std::string next = child_of(current, part);
    struct stat st {};
    bool is_link = lstat(next.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
    if (!is_link || (todo.empty() && !follow_last) || --budget < 0) {
      current = next;
      continue;
    }
    std::string target = std::filesystem::read_symlink(next).string();
    result.links.push_back({next, target});
    std::deque<std::string> inserted = split_path(target);
    todo.insert(todo.begin(), inserted.begin(), inserted.end());
    if (target.starts_with('/')) current = "/";
  }
  result.resolved = current;
  return result;
}

std::string elf_interpreter(const std::string& path) {
  std::string image = read_file(path);
  if (image.size() < sizeof(Elf64_Ehdr) || image.compare(0, SELFMAG, ELFMAG) != 0) return {};
  if (image[EI_CLASS] != ELFCLASS64) return {};
  Elf64_Ehdr header;
  std::memcpy(&header, image.data(), sizeof header);
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    std::size_t offset = header.e_phoff + static_cast<std::size_t>(i) * header.e_phentsize;
    if (offset + sizeof(Elf64_Phdr) > image.size()) return {};
    Elf64_Phdr phdr;
    std::memcpy(&phdr, image.data() + offset, sizeof phdr);
    if (phdr.p_type != PT_INTERP || phdr.p_offset + phdr.p_filesz > image.size()) continue;
    return std::string(image.c_str() + phdr.p_offset);  // NUL-terminated inside the segment
  }
  return {};
}

bool wait_for_file(const std::string& path, double timeout_seconds) {
  const double deadline = now_seconds() + timeout_seconds;
  while (access(path.c_str(), F_OK) != 0) {
    if (now_seconds() > deadline) return false;
    sleep_seconds(0.02);
  }
  return true;
}

// ---- GoogleTest glue ----

namespace {

::testing::AssertionResult explain_run(const TracedRun& run, const std::string& wanted) {
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "tracer: " << run.process.summary() << ", wanted " << wanted << "\nstderr: " << run.process.err;
  if (run.trace) return failure << "\ntrace:\n" << dump(*run.trace);
  return failure << "\ntrace unreadable: " << run.trace_error;
}

std::vector<std::string> multiset_minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

::testing::AssertionResult same_lines(std::vector<std::string> recorded, std::vector<std::string> expected) {
  std::sort(recorded.begin(), recorded.end());
  std::sort(expected.begin(), expected.end());
  if (recorded == expected) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "expected but not recorded:\n";
  for (const std::string& line : multiset_minus(expected, recorded)) failure << "  - " << line << "\n";
  failure << "recorded but not expected:\n";
  for (const std::string& line : multiset_minus(recorded, expected)) failure << "  + " << line << "\n";
  return failure;
}

::testing::AssertionResult exited_with(const TracedRun& run, int code) {
  if (run.trace && run.process.exited() && run.process.exit_code() == code) return ::testing::AssertionSuccess();
  return explain_run(run, "exit " + std::to_string(code) + " and a readable trace");
}

::testing::AssertionResult killed_by(const TracedRun& run, int sig) {
  if (run.trace && run.process.term_signal() == sig) return ::testing::AssertionSuccess();
  return explain_run(run, "signal " + std::to_string(sig) + " and a readable trace");
}

TracedRun TracerTest::trace(const std::vector<std::string>& command, const std::vector<std::string>& options, const SpawnOptions& spawn,
                            double timeout_seconds) const {
  return run_traced(trace_file(), command, options, spawn, timeout_seconds);
}

std::string TracerTest::unsupported_reason(const std::vector<std::string>& command, const std::string& what) const {
  ProcessResult direct = run_process(command, {}, 30);
  if (direct.exit_code() == 77) return what;
  return {};
}

}  // namespace tracepack::test
