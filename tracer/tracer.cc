// The ptrace loop: runs a command and records every file its processes use.
//
// The child is seized (PTRACE_SEIZE, so group-stops can be listened to rather
// than resumed) before it installs the seccomp filter and execs. From then on
// the kernel stops a tracee only for the calls in the syscall table; every
// other call runs at full speed. A stop is handled in three steps:
//  1. decode: PTRACE_GET_SYSCALL_INFO gives arch, number and arguments; the
//     table row says where the paths are; strings come from process_vm_readv.
//  2. resolve: the tracer walks the path itself (PathResolver), which yields
//     the symlink chain and, for pure lookups, the result the kernel will give.
//  3. record or wait: calls that change the file system, exec, or open for
//     writing are resumed with PTRACE_SYSCALL to read the real result at the
//     exit stop; all others are recorded at once and resumed with PTRACE_CONT,
//     so the common case costs a single stop.
// An exec that succeeds costs two stops, its entry and the exec event: that
// event tells success, so it resumes with PTRACE_CONT and no exit stop comes.
// An execve of a path the lookup finds missing (a PATH search) costs one.
// Processes are followed through fork/vfork/clone events. A new child may
// report its first stop before its parent reports the fork event; such a stop
// is parked until the parent's event says whose child it is. An execve from a
// non-leader thread arrives as an exec event of the leader's tid, with the old
// tid in PTRACE_GETEVENTMSG; the thread's state moves accordingly.
//
// CPU placement: on small VMs most of a stop's cost is waking a thread on the
// other CPU, so the tracer pins itself and its tracees to one CPU. A process
// that starts a second thread gets the original mask back for all its threads
// (it wants parallelism more than cheap stops); a process is pinned again when
// it execs, which leaves it single-threaded.
#include "tracepack/tracer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

#include "child_report.h"
#include "exec_analysis.h"
#include "path_resolver.h"
#include "ptrace_abi.h"
#include "seccomp_filter.h"
#include "syscall_table.h"
#include "tracee_memory.h"
#include "tracepack/clock.h"
#include "tracepack/error.h"
#include "tracepack/posix.h"
#include "tracepack/sandbox.h"
#include "tracepack/trace.h"

extern char** environ;

namespace tracepack {
namespace {

using tracer::ChildExit;
using tracer::ChildFailure;
using tracer::ChildReport;
using tracer::ExecAnalyzer;
using tracer::PathResolver;
using tracer::Resolution;
using tracer::SyscallIndex;
using tracer::SyscallSpec;
using tracer::Viewer;

constexpr int kPtraceOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
                               PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;

// Signals the tracer forwards to the traced command instead of dying of them.
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP};

volatile sig_atomic_t g_tick = 0;
volatile sig_atomic_t g_forward = 0;

void on_alarm(int) { g_tick = 1; }

// A signal typed at the terminal reaches the whole foreground process group,
// the tracees included; only a signal sent to the tracer alone is forwarded.
void on_forwarded(int sig, siginfo_t* info, void*) {
  if (info == nullptr || info->si_code <= 0) g_forward = sig;
}

// The calendar arithmetic is <chrono>'s: gmtime_r and strftime would read
// /etc/localtime (tzset) first, seven system calls of start-up for nothing.
std::string utc_now_iso8601() {
  using namespace std::chrono;
  auto now = time_point_cast<microseconds>(system_clock::now());
  auto day = floor<days>(now);
  year_month_day date{day};
  hh_mm_ss time{now - day};
  char buffer[64];
  snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%06ldZ", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
           static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
           static_cast<int>(time.seconds().count()), static_cast<long>(time.subseconds().count()));
  return buffer;
}

std::optional<std::string> read_link(const std::string& path) {
  char buffer[4096];
  ssize_t n = readlink(path.c_str(), buffer, sizeof buffer);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(n));
}

std::string proc_path(pid_t tid, const char* what) { return "/proc/" + std::to_string(tid) + "/" + what; }

// Tgid of a task, from /proc/TID/status (used only when a clone event does not say).
pid_t read_tgid(pid_t tid) {
  int fd = open(proc_path(tid, "status").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tid;
  char buffer[1024];
  ssize_t n = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (n <= 0) return tid;
  buffer[n] = '\0';
  const char* at = strstr(buffer, "\nTgid:");
  return at ? static_cast<pid_t>(strtol(at + 6, nullptr, 10)) : tid;
}

int as_fd(std::uint64_t arg) { return static_cast<int>(static_cast<std::int32_t>(arg)); }

RunInfo make_run_info(const TraceOptions& options) {
  RunInfo run;
  run.tracepack_version = TRACEPACK_VERSION;
  run.argv = options.argv;
  if (options.label.empty()) {
    for (const std::string& arg : options.argv) run.label += (run.label.empty() ? "" : " ") + arg;
  } else {
    run.label = options.label;
  }
  utsname u;
  if (uname(&u) == 0) {
    run.kernel = u.release;
    run.arch = u.machine;
  }
  if (!options.cwd.empty()) {
    run.cwd = options.cwd;
  } else if (char* cwd = getcwd(nullptr, 0)) {
    run.cwd = cwd;
    free(cwd);
  }
  run.start_time = utc_now_iso8601();
  std::vector<std::string_view> env;
  if (options.env.empty()) {
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  } else {
    env.assign(options.env.begin(), options.env.end());
  }
  for (std::string_view entry : env) {
    std::size_t eq = entry.find('=');
    std::string name(entry.substr(0, eq));
    run.env_names.push_back(name);
    if (options.record_env_values && eq != entry.npos) run.env_values[name] = std::string(entry.substr(eq + 1));
  }
  std::sort(run.env_names.begin(), run.env_names.end());
  return run;
}

// The kind an open call's flags give it.
AccessKind open_kind(std::uint64_t flags) {
  if (flags & O_CREAT) return AccessKind::create;
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return AccessKind::write;
  return AccessKind::read;
}

bool open_needs_exit(std::uint64_t flags) { return (flags & (O_CREAT | O_TRUNC)) != 0 || (flags & O_ACCMODE) != O_RDONLY; }

bool follows_final(const SyscallSpec& spec, std::uint64_t flags) {
  switch (spec.follow) {
    case tracer::Follow::yes:
      return true;
    case tracer::Follow::no:
      return false;
    case tracer::Follow::unless_nofollow_flag:
      return (flags & AT_SYMLINK_NOFOLLOW) == 0;
    case tracer::Follow::if_follow_flag:
      return (flags & AT_SYMLINK_FOLLOW) != 0;
    case tracer::Follow::open_flags:
      return (flags & O_NOFOLLOW) == 0 && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
  }
  return true;
}

// The result the kernel gives a pure lookup, from the tracer's own resolution.
int predicted_error(const Resolution& r, AccessKind kind, std::uint64_t flags, bool is_open) {
  if (r.error != 0) return r.error;
  if (kind == AccessKind::readlink && r.type != FileType::symlink) return EINVAL;
  if (!is_open) return 0;
  if ((flags & O_DIRECTORY) && r.type != FileType::directory) return ENOTDIR;
  if ((flags & O_NOFOLLOW) && !(flags & O_PATH) && r.type == FileType::symlink) return ELOOP;
  return 0;
}

// Flag bits of the mount API (linux/mount.h, which clashes with sys/mount.h
// on older C libraries).
constexpr std::uint64_t kMoveMountFSymlinks = 0x01;
constexpr std::uint64_t kMoveMountFEmptyPath = 0x04;
constexpr std::uint64_t kMoveMountTSymlinks = 0x10;
constexpr std::uint64_t kMoveMountTEmptyPath = 0x40;
constexpr std::uint64_t kFspickSymlinkNofollow = 0x02;
constexpr std::uint64_t kFspickEmptyPath = 0x08;

// How one path argument of a Decode::own_flags call is looked up.
struct PathRule {
  bool follow = true;       // the final symlink is followed
  bool empty_path = false;  // "" names dirfd itself, as AT_EMPTY_PATH does
};

// The rules for a call's first and second path, from its own flag bits.
std::pair<PathRule, PathRule> own_flag_rules(std::string_view name, std::uint64_t flags) {
  if (name == "umount2") return {{(flags & UMOUNT_NOFOLLOW) == 0, false}, {}};
  if (name == "fspick") return {{(flags & kFspickSymlinkNofollow) == 0, (flags & kFspickEmptyPath) != 0}, {}};
  if (name == "fanotify_mark") return {{(flags & FAN_MARK_DONT_FOLLOW) == 0, false}, {}};
  if (name == "move_mount")  // symlinks are followed only when asked
    return {{(flags & kMoveMountFSymlinks) != 0, (flags & kMoveMountFEmptyPath) != 0},
            {(flags & kMoveMountTSymlinks) != 0, (flags & kMoveMountTEmptyPath) != 0}};
  return {};  // mount, pivot_root: both paths followed
}

// An exec whose path the tracer's own lookup cannot find fails in the
// kernel's lookup too, and no exec event follows: its error is recorded at
// entry and the exit stop skipped, which spares one stop per directory of a
// PATH search. The call stays pending all the same: should a process the
// tracer does not see make the file meanwhile, the exec event records the
// exec. Only execve: execveat's dirfd and AT_EMPTY_PATH fail otherwise.
bool exec_failure_predicted(const SyscallSpec& spec, const FileAccess& a) {
  return spec.decode == tracer::Decode::exec && spec.dirfd == tracer::kNoArg && (a.error == ENOENT || a.error == ENOTDIR);
}

struct PendingCall {
  const SyscallSpec* spec = nullptr;
  FileAccess access;
  std::vector<PathBytes> argv;  // exec only
  bool recorded = false;        // an exec predicted to fail: recorded, no exit stop wanted; kept in case it succeeds
};

struct Thread {
  pid_t tid = 0;
  pid_t tgid = 0;
  PathBytes cwd;
  bool cwd_valid = false;
  std::optional<PendingCall> pending;
};

struct ProcessState {
  Process record;
  std::unordered_map<std::string, std::pair<std::uint64_t, std::uint64_t>> seen;  // key -> (access id, count)
  bool unpinned = false;
};

class Tracer {
 public:
  explicit Tracer(const TraceOptions& options);
  TraceOutcome run();

 private:
  // start-up
  void choose_mode();
  void pin_to_current_cpu();
  pid_t spawn_child();
  [[noreturn]] void run_child(int ready_fd, int report_fd, int entered_fd);
  void wait_for_sandbox(pid_t pid, int entered_fd);
  void install_signal_handlers();
  // the loop
  void handle_status(pid_t tid, int status);
  void handle_stop(Thread& t, int status);
  void on_syscall_stop(Thread& t);
  void on_entry(Thread& t, std::uint32_t arch, std::uint64_t nr, const std::uint64_t* args);
  void on_exit(Thread& t, std::int64_t rval, bool is_error);
  void on_new_task(Thread& parent, int event);
  void on_exec(pid_t tid);
  void on_task_gone(pid_t tid, int status);
  void on_tick();
  // decoding
  bool decode_access(Thread& t, const SyscallSpec& spec, const std::uint64_t* args, FileAccess& a);
  bool decode_own_flags(Thread& t, const SyscallSpec& spec, const std::uint64_t* args, FileAccess& a);
  bool resolve_arg(Thread& t, int dirfd, std::uint64_t path_addr, bool follow, std::uint64_t flags, PathBytes& given, Resolution& r);
  Resolution resolve_fd(Thread& t, int fd);
  void warn_about_call(Thread& t, std::uint32_t arch, const SyscallSpec& spec, const std::uint64_t* args);
  const PathBytes& cwd_of(Thread& t);
  void apply_effects(Thread& t, const FileAccess& a);
  // recording
  void record(Thread& t, FileAccess& a);
  void record_resolution(Thread& t, FileAccess a, const Resolution& r);
  void record_exec(Thread& t, PendingCall& call);
  void warn(std::uint64_t process, const std::string& message);
  void finish_process(ProcessState& p, int status);
  void write_repeats(ProcessState& p);
  // control
  void resume(const Thread& t, int sig = 0);
  void kill_all(const std::string& why);
  void set_affinity(pid_t tid, bool pinned);
  ProcessState& process_of(const Thread& t) { return processes_.at(t.tgid); }
  double now() const { return monotonic_seconds() - start_; }
  Process new_process(pid_t pid, std::uint64_t parent) {
    Process p;
    p.id = next_process_id_++;
    p.pid = pid;
    p.parent = parent;
    p.start = now();
    return p;
  }

  TraceOptions options_;
  RunInfo run_;
  TraceWriter writer_;
  SyscallIndex index_;
  PathResolver resolver_;
  ExecAnalyzer exec_analyzer_;
  bool syscall_mode_ = false;  // no seccomp: every syscall stops
  bool root_ = geteuid() == 0;
  double start_ = monotonic_seconds();
  cpu_set_t original_mask_{};
  cpu_set_t pinned_mask_{};
  bool pinned_ = false;

  std::unique_ptr<Sandbox> sandbox_;  // set when the command runs in a bundle
  UniqueFd sandbox_root_;             // the sandbox's root, for looking files up
  std::vector<char*> argv_;
  std::vector<char*> envp_;
  std::unordered_map<pid_t, Thread> threads_;
  std::unordered_map<pid_t, ProcessState> processes_;  // by tgid, live ones
  std::unordered_map<pid_t, int> parked_;              // stops of tasks not yet announced
  std::set<std::string> warned_;
  std::uint64_t next_process_id_ = 1;
  std::uint64_t next_access_id_ = 1;
  pid_t main_pid_ = 0;
  UniqueFd report_fd_;  // read end of the child's report pipe (child_report.h)
  std::optional<double> grace_deadline_;
  TraceOutcome outcome_;
};

Tracer::Tracer(const TraceOptions& options) : options_(options), run_(make_run_info(options)), writer_(options.output, run_) {
  if (!options_.sandbox.empty()) sandbox_ = std::make_unique<Sandbox>(options_.sandbox, options_.user);
}

void Tracer::choose_mode() {
  if (!options_.use_seccomp) {
    syscall_mode_ = true;
    return;
  }
  // PR_GET_SECCOMP fails with EINVAL on a kernel built without seccomp.
  std::uint32_t action = SECCOMP_RET_TRACE;
  if (prctl(PR_GET_SECCOMP) < 0 || syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) {
    syscall_mode_ = true;
    warn(0, system_error_message("seccomp is unavailable; stopping at every system call (slow)", errno));
    return;
  }
}

void Tracer::pin_to_current_cpu() {
  if (!options_.pin_cpu || sched_getaffinity(0, sizeof original_mask_, &original_mask_) != 0) return;
  int cpu = options_.cpu >= 0 ? options_.cpu : sched_getcpu();
  if (cpu < 0 || CPU_COUNT(&original_mask_) < 2 || !CPU_ISSET(cpu, &original_mask_)) return;
  CPU_ZERO(&pinned_mask_);
  CPU_SET(cpu, &pinned_mask_);
  pinned_ = sched_setaffinity(0, sizeof pinned_mask_, &pinned_mask_) == 0;
}

void Tracer::set_affinity(pid_t tid, bool pinned) {
  if (pinned_) sched_setaffinity(tid, sizeof(cpu_set_t), pinned ? &pinned_mask_ : &original_mask_);
}

// Between fork and exec: only async-signal-safe calls.
void Tracer::run_child(int ready_fd, int report_fd, int entered_fd) {
  if (sandbox_) {
    // Before the tracer attaches: building the root is not the command's doing.
    if (int err = sandbox_->enter(); err != 0)
      tracer::fail_child(report_fd, {ChildFailure::sandbox, sandbox_->failed_step(), err}, ChildExit::cannot_run);
    (void)!write(entered_fd, "e", 1);
    close(entered_fd);
  }
  char go;
  while (read(ready_fd, &go, 1) < 0 && errno == EINTR) {
  }
  if (!syscall_mode_) {
    if (int err = tracer::install_seccomp_filter(tracer::seccomp_program()); err != 0)
      tracer::fail_child(report_fd, {ChildFailure::seccomp, -1, err}, ChildExit::cannot_run);
  }
  if (options_.stdout_fd >= 0 && dup2(options_.stdout_fd, STDOUT_FILENO) < 0) tracer::fail_child(-1, {}, ChildExit::cannot_run);
  if (!options_.cwd.empty() && chdir(options_.cwd.c_str()) != 0)
    tracer::fail_child(report_fd, {ChildFailure::cwd, -1, errno}, ChildExit::cannot_run);
  if (!envp_.empty()) environ = envp_.data();  // so that the PATH search uses the command's PATH
  execvp(argv_[0], argv_.data());
  int err = errno;
  tracer::fail_child(report_fd, {ChildFailure::exec, -1, err}, tracer::exec_failure_exit(err));
}

// Three pipes connect the tracer and its child: `ready` holds the child until
// it is seized, `report` carries a ChildReport when it cannot run the
// command, `entered` says it is inside its sandbox. Every end is owned, so an
// exception on the way closes them all.
pid_t Tracer::spawn_child() {
  // The child may not allocate between fork and exec: build its vectors now.
  for (const std::string& arg : options_.argv) argv_.push_back(const_cast<char*>(arg.c_str()));
  argv_.push_back(nullptr);
  for (const std::string& entry : options_.env) envp_.push_back(const_cast<char*>(entry.c_str()));
  if (!envp_.empty()) envp_.push_back(nullptr);
  tracer::Pipe ready = tracer::open_pipe();
  tracer::Pipe report = tracer::open_pipe();
  tracer::Pipe entered = tracer::open_pipe();
  pid_t pid = sandbox_ ? sandbox_->clone_child() : fork();
  if (pid < 0) throw_system_error("fork");
  if (pid == 0) {
    ready.write.reset();
    report.read.reset();
    entered.read.reset();
    run_child(ready.read.get(), report.write.get(), entered.write.get());
  }
  ready.read.reset();
  report.write.reset();
  entered.write.reset();
  report_fd_ = std::move(report.read);
  if (sandbox_) wait_for_sandbox(pid, entered.read.get());
  entered.read.reset();
  if (ptrace(PTRACE_SEIZE, pid, nullptr, kPtraceOptions) != 0) {
    int err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw Error(system_error_message("cannot trace " + options_.argv[0] + ": ptrace", err) +
                " (hint: ptrace may be forbidden by kernel.yama.ptrace_scope, a container's seccomp "
                "profile or a missing CAP_SYS_PTRACE; tracepack may itself be running under a tracer)");
  }
  (void)!write(ready.write.get(), "g", 1);
  return pid;
}

// Waits until the child is inside its sandbox, and keeps a handle on that
// root: lookups of the paths it names go through it.
void Tracer::wait_for_sandbox(pid_t pid, int entered_fd) {
  char entered = 0;
  ssize_t n;
  while ((n = read(entered_fd, &entered, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) {
    waitpid(pid, nullptr, 0);
    ChildReport report = tracer::read_child_report(report_fd_.get());
    if (report.failure == ChildFailure::sandbox) throw Error(sandbox_->describe_failure(report.step, report.error));
    throw Error("sandbox: the child ended before entering it");
  }
  sandbox_root_.reset(open(("/proc/" + std::to_string(pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (sandbox_root_.get() < 0) throw_system_error("sandbox: cannot open the root of process " + std::to_string(pid));
  // In a chroot the sandbox chroots too, and /proc links name its files by
  // their whole path from the machine's root: the resolver takes that prefix off.
  std::string shown_root = read_link(proc_path(pid, "root")).value_or("/");
  resolver_.set_root("/proc/self/fd/" + std::to_string(sandbox_root_.get()), std::move(shown_root));
}

void Tracer::install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, nullptr);  // no SA_RESTART: wakes waitpid
  struct sigaction fwd {};
  fwd.sa_sigaction = on_forwarded;
  fwd.sa_flags = SA_SIGINFO;
  sigemptyset(&fwd.sa_mask);
  for (int sig : kForwardedSignals) sigaction(sig, &fwd, nullptr);
  itimerval tick{{0, 100000}, {0, 100000}};
  setitimer(ITIMER_REAL, &tick, nullptr);
}

TraceOutcome Tracer::run() {
  choose_mode();
  pin_to_current_cpu();
  main_pid_ = spawn_child();
  install_signal_handlers();
  threads_[main_pid_] = Thread{main_pid_, main_pid_, {}, false, {}};
  ProcessState& main = processes_[main_pid_];
  main.record = new_process(main_pid_, 0);
  writer_.write_process(main.record);
  outcome_.processes = 1;

  while (!threads_.empty() || !parked_.empty()) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == ECHILD) break;
      if (errno != EINTR) throw_system_error("waitpid");
    } else {
      handle_status(tid, status);
    }
    if (g_tick || g_forward) on_tick();
    if (writer_.flush_due()) writer_.flush();
  }
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  for (auto& [pid, p] : processes_) write_repeats(p);

  ChildReport report = tracer::read_child_report(report_fd_.get());
  report_fd_.reset();
  if (report.failure == ChildFailure::seccomp) throw Error(system_error_message("cannot install the seccomp filter", report.error));
  if (report.failure == ChildFailure::cwd) throw Error(system_error_message("cannot change to directory " + options_.cwd, report.error));
  if (report.failure == ChildFailure::exec) outcome_.start_error = report.error;
  outcome_.seconds = now();
  writer_.finish(RunEnd{outcome_.seconds, outcome_.exit_code, outcome_.signal, outcome_.timed_out});
  return outcome_;
}

void Tracer::on_tick() {
  g_tick = 0;
  if (g_forward) {
    int sig = g_forward;
    g_forward = 0;
    if (processes_.contains(main_pid_)) kill(main_pid_, sig);
  }
  if (options_.timeout > 0 && !outcome_.timed_out && now() >= options_.timeout) {
    outcome_.timed_out = true;
    kill_all("timeout of " + std::to_string(options_.timeout) + " s expired");
  }
  if (grace_deadline_ && now() >= *grace_deadline_) {
    grace_deadline_.reset();
    kill_all("grace period of " + std::to_string(options_.grace) + " s after the main process exited is over");
  }
}

void Tracer::kill_all(const std::string& why) {
  std::string pids;
  for (const auto& [pid, p] : processes_) {
    pids += " " + std::to_string(pid);
    kill(pid, SIGKILL);
  }
  if (!pids.empty()) warn(0, why + ": killed " + std::to_string(processes_.size()) + " process(es):" + pids);
}

void Tracer::handle_status(pid_t tid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    on_task_gone(tid, status);
    return;
  }
  auto it = threads_.find(tid);
  if (it == threads_.end()) {
    parked_[tid] = status;  // a new task whose parent has not reported it yet
    return;
  }
  handle_stop(it->second, status);
}

void Tracer::handle_stop(Thread& t, int status) {
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  StopCounts& stops = outcome_.stops;
  if (sig == (SIGTRAP | 0x80)) return on_syscall_stop(t);
  switch (event) {
    case PTRACE_EVENT_SECCOMP:
      ++stops.seccomp;
      return on_syscall_stop(t);
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
      ++stops.new_task;
      return on_new_task(t, event);
    case PTRACE_EVENT_EXEC:
      ++stops.exec;
      return on_exec(t.tid);
    case PTRACE_EVENT_STOP:
      ++stops.event_stop;
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
        ptrace(PTRACE_LISTEN, t.tid, nullptr, nullptr);  // group-stop: stay stopped until SIGCONT
        return;
      }
      return resume(t);
    case 0:
      ++stops.signal;
      return resume(t, sig);  // signal-delivery-stop: deliver it
    default:
      return resume(t);
  }
}

void Tracer::resume(const Thread& t, int sig) {
  bool want_exit = syscall_mode_ || (t.pending && !t.pending->recorded);
  ptrace(want_exit ? PTRACE_SYSCALL : PTRACE_CONT, t.tid, nullptr, sig);
}

void Tracer::on_syscall_stop(Thread& t) {
  tracer::SyscallInfo info{};
  if (ptrace(static_cast<__ptrace_request>(tracer::kPtraceGetSyscallInfo), t.tid, sizeof info, &info) <= 0) return resume(t);
  switch (info.op) {
    case tracer::kSyscallInfoSeccomp:
      return on_entry(t, info.arch, info.seccomp.nr, info.seccomp.args);
    case tracer::kSyscallInfoEntry:
      ++outcome_.stops.syscall_entry;
      // With seccomp, an entry stop only follows a seccomp stop we asked an exit for.
      if (t.pending && !t.pending->recorded && !syscall_mode_) return resume(t);
      return on_entry(t, info.arch, info.entry.nr, info.entry.args);
    case tracer::kSyscallInfoExit:
      ++outcome_.stops.syscall_exit;
      return on_exit(t, info.exit.rval, info.exit.is_error != 0);
    default:
      return resume(t);
  }
}

void Tracer::on_entry(Thread& t, std::uint32_t arch, std::uint64_t nr, const std::uint64_t* args) {
  t.pending.reset();
  const SyscallSpec* spec = index_.find(arch, nr);
  if (spec == nullptr) {
    if (!syscall_mode_ && !index_.known(arch, nr)) {
      const auto* info = index_.arch(arch, nr);
      warn(0, "unknown syscall " + std::to_string(nr) + " on " +
                  (info ? std::string(info->name) : "unknown architecture " + std::to_string(arch)) +
                  ": it stopped the tracee but is not decoded");
    }
    return resume(t);
  }
  if (spec->decode == tracer::Decode::warn || spec->decode == tracer::Decode::clone || spec->decode == tracer::Decode::clone3) {
    warn_about_call(t, arch, *spec, args);
    return resume(t);
  }
  PendingCall call{spec, {}, {}};
  FileAccess& a = call.access;
  a.tid = t.tid;
  a.syscall = index_.name(arch, nr);
  std::uint64_t moved[6];
  if (spec->decode == tracer::Decode::own_flags && spec->name == "fanotify_mark") {
    // i386 passes the 64-bit mask in two arguments: dirfd and path come one later.
    const auto* info = index_.arch(arch, nr);
    if (info != nullptr && info->splits_wide_args) {
      std::copy(args, args + 6, moved);
      moved[3] = args[4];
      moved[4] = args[5];
      args = moved;
    }
  }
  if (!decode_access(t, *spec, args, a)) return resume(t);
  bool needs_exit = options_.exact_results || spec->exit == tracer::ExitStop::always ||
                    (spec->exit == tracer::ExitStop::if_writing && open_needs_exit(a.flags));
  if (spec->decode == tracer::Decode::exec) {
    const auto* info = index_.arch(arch, nr);
    call.argv = tracer::read_string_array(t.tid, args[spec->path + 1], info ? info->pointer_size : 8);
  }
  if (needs_exit && !options_.exact_results && !syscall_mode_ && exec_failure_predicted(*spec, a)) {
    record(t, call.access);
    call.recorded = true;
    t.pending = std::move(call);
  } else if (needs_exit) {
    t.pending = std::move(call);
  } else {
    record(t, a);
  }
  resume(t);
}

void Tracer::on_exit(Thread& t, std::int64_t rval, bool is_error) {
  if (!t.pending || t.pending->recorded) return resume(t);
  PendingCall call = std::move(*t.pending);
  t.pending.reset();
  FileAccess& a = call.access;
  a.error = is_error ? static_cast<int>(-rval) : 0;
  a.observed = true;
  if (a.error == 0) apply_effects(t, a);
  record(t, a);
  resume(t);
}

// Keeps the resolver's cache and the cwd cache true after a successful change.
void Tracer::apply_effects(Thread& t, const FileAccess& a) {
  switch (a.kind) {
    case AccessKind::chdir:
      for (auto& [tid, other] : threads_)
        if (other.tgid == t.tgid) other.cwd_valid = false;
      if (a.syscall == "chroot")
        warn(process_of(t).record.id, "chroot: paths after chroot(\"" + a.path + "\") are recorded as seen from the original root");
      break;
    case AccessKind::rename:
    case AccessKind::remove:
      if (a.type == FileType::directory) resolver_.forget_all();
      resolver_.forget(a.resolved);
      resolver_.forget(a.resolved2);
      break;
    case AccessKind::create:
    case AccessKind::mkdir:
    case AccessKind::link:
    case AccessKind::symlink:
      resolver_.forget(a.resolved);
      resolver_.forget(a.resolved2);
      break;
    case AccessKind::other:
      // A mount, unmount or pivot_root changes what every path leads to.
      if (!a.resolved.empty()) resolver_.forget_all();
      break;
    case AccessKind::read:
    case AccessKind::write:
    case AccessKind::exec:
    case AccessKind::stat:
    case AccessKind::readlink:
    case AccessKind::list:
    case AccessKind::attr:
    case AccessKind::watch:
      break;
  }
}

const PathBytes& Tracer::cwd_of(Thread& t) {
  if (!t.cwd_valid) {
    t.cwd = resolver_.as_seen_inside(read_link(proc_path(t.tid, "cwd")).value_or("/"));
    t.cwd_valid = true;
  }
  return t.cwd;
}

Resolution Tracer::resolve_fd(Thread& t, int fd) {
  std::string link = proc_path(t.tid, "fd/") + std::to_string(fd);
  return resolver_.resolve("/", link, true, Viewer{t.tgid, t.tid});
}

// Reads and resolves one (dirfd, path) argument pair. False when the path is unreadable.
bool Tracer::resolve_arg(Thread& t, int dirfd, std::uint64_t path_addr, bool follow, std::uint64_t flags, PathBytes& given, Resolution& r) {
  std::optional<std::string> path = tracer::read_path(t.tid, path_addr);
  if (!path) return false;
  given = std::move(*path);
  if (given.size() == tracer::kPathMax) {
    // No NUL within PATH_MAX bytes: the kernel refuses the name unresolved.
    r = Resolution{{}, {}, ENAMETOOLONG, FileType::none};
    return true;
  }
  if (given.empty() && (flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD) {
    r = resolve_fd(t, dirfd);
    return true;
  }
  Viewer viewer{t.tgid, t.tid};
  if (!given.empty() && given.front() == '/') {
    r = resolver_.resolve("/", given, follow, viewer);
    return true;
  }
  if (dirfd == AT_FDCWD) {
    r = resolver_.resolve(cwd_of(t), given, follow, viewer);
    return true;
  }
  std::optional<std::string> base = read_link(proc_path(t.tid, "fd/") + std::to_string(dirfd));
  if (base) base = resolver_.as_seen_inside(std::move(*base));
  if (!base || base->empty() || base->front() != '/') {
    r = Resolution{given, {}, EBADF, FileType::none};
    return true;
  }
  r = resolver_.resolve(*base, given, follow, viewer);
  return true;
}

bool Tracer::decode_access(Thread& t, const SyscallSpec& spec, const std::uint64_t* args, FileAccess& a) {
  using tracer::Decode;
  constexpr std::int8_t N = tracer::kNoArg;
  a.kind = spec.kind;
  a.flags = spec.flags != N ? args[spec.flags] : 0;
  if (spec.decode == Decode::open2) {
    std::uint64_t how_flags = 0;
    if (!tracer::read_bytes(t.tid, args[spec.flags], &how_flags, sizeof how_flags)) return false;
    a.flags = how_flags;
  }
  if (spec.decode == Decode::open || spec.decode == Decode::open2) a.kind = open_kind(a.flags);
  if (spec.decode == Decode::fd) {
    Resolution r = resolve_fd(t, as_fd(args[spec.path]));
    a.resolved = r.resolved;
    a.links = std::move(r.links);
    a.type = r.type;
    a.error = r.error;
    return true;
  }
  if (spec.decode == Decode::symlink) {
    std::optional<std::string> target = tracer::read_string(t.tid, args[spec.path]);
    if (!target) return false;
    a.path = std::move(*target);
    Resolution r2;
    int dirfd2 = spec.dirfd2 != N ? as_fd(args[spec.dirfd2]) : AT_FDCWD;
    if (!resolve_arg(t, dirfd2, args[spec.path2], false, 0, a.path2, r2)) return false;
    a.resolved2 = r2.resolved;
    a.links2 = std::move(r2.links);
    return true;
  }
  if (spec.decode == Decode::own_flags) return decode_own_flags(t, spec, args, a);
  int dirfd = spec.dirfd != N ? as_fd(args[spec.dirfd]) : AT_FDCWD;
  Resolution r;
  if (!resolve_arg(t, dirfd, args[spec.path], follows_final(spec, a.flags), a.flags, a.path, r)) return false;
  a.resolved = r.resolved;
  a.links = std::move(r.links);
  a.type = r.type;
  a.error = predicted_error(r, a.kind, a.flags, spec.decode == Decode::open || spec.decode == Decode::open2);
  if (spec.decode == Decode::path_pair) {
    Resolution r2;
    int dirfd2 = spec.dirfd2 != N ? as_fd(args[spec.dirfd2]) : AT_FDCWD;
    if (!resolve_arg(t, dirfd2, args[spec.path2], false, 0, a.path2, r2)) return false;
    a.resolved2 = r2.resolved;
    a.links2 = std::move(r2.links);
  }
  return true;
}

// Mount family and fanotify_mark. fanotify_mark without a path marks dirfd
// itself. mount's source (path2) is kept as given whenever it is readable,
// and resolved only where the kernel takes it as a path: for a bind or move
// mount, or when it is absolute (a block device); "proc", "tmpfs" and the
// like are names, not files. A second path that cannot be read (NULL) is left
// empty rather than dropping the call.
bool Tracer::decode_own_flags(Thread& t, const SyscallSpec& spec, const std::uint64_t* args, FileAccess& a) {
  constexpr std::int8_t N = tracer::kNoArg;
  auto [rule, rule2] = own_flag_rules(spec.name, a.flags);
  int dirfd = spec.dirfd != N ? as_fd(args[spec.dirfd]) : AT_FDCWD;
  Resolution r;
  if (spec.name == "fanotify_mark" && args[spec.path] == 0) {
    r = dirfd == AT_FDCWD ? resolver_.resolve("/", cwd_of(t), true, Viewer{t.tgid, t.tid}) : resolve_fd(t, dirfd);
  } else if (!resolve_arg(t, dirfd, args[spec.path], rule.follow, rule.empty_path ? AT_EMPTY_PATH : 0, a.path, r)) {
    return false;
  }
  a.resolved = r.resolved;
  a.links = std::move(r.links);
  a.type = r.type;
  a.error = r.error;
  if (spec.path2 == N) return true;
  int dirfd2 = spec.dirfd2 != N ? as_fd(args[spec.dirfd2]) : AT_FDCWD;
  if (spec.name == "mount") {
    std::optional<std::string> source = tracer::read_path(t.tid, args[spec.path2]);
    if (!source) return true;
    a.path2 = std::move(*source);
    bool is_path = (a.flags & (MS_BIND | MS_MOVE)) != 0 || a.path2.starts_with('/');
    if (!is_path) return true;
  }
  Resolution r2;
  if (resolve_arg(t, dirfd2, args[spec.path2], rule2.follow, rule2.empty_path ? AT_EMPTY_PATH : 0, a.path2, r2)) {
    a.resolved2 = r2.resolved;
    a.links2 = std::move(r2.links);
  }
  return true;
}

void Tracer::warn_about_call(Thread& t, std::uint32_t arch, const SyscallSpec& spec, const std::uint64_t* args) {
  std::uint64_t id = process_of(t).record.id;
  std::string_view name = spec.name;
  // An untraced child would keep the inherited filter with no tracer behind
  // it, and every file call it makes would fail with ENOSYS: clear the flag.
  if (name == "clone" && (args[0] & CLONE_UNTRACED)) {
    bool cleared = tracer::set_syscall_argument(t.tid, arch, 0, args[0] & ~std::uint64_t{CLONE_UNTRACED});
    warn(id, cleared ? "clone with CLONE_UNTRACED: flag cleared so that the new process is traced"
                     : "clone with CLONE_UNTRACED: the new process escapes the trace");
  } else if (name == "clone3") {
    std::uint64_t flags = 0;
    if (tracer::read_bytes(t.tid, args[0], &flags, sizeof flags) && (flags & CLONE_UNTRACED)) {
      flags &= ~std::uint64_t{CLONE_UNTRACED};
      bool cleared = tracer::write_bytes(t.tid, args[0], &flags, sizeof flags);
      warn(id, cleared ? "clone3 with CLONE_UNTRACED: flag cleared so that the new process is traced"
                       : "clone3 with CLONE_UNTRACED: the new process escapes the trace");
    }
  } else if (name == "io_uring_setup") {
    warn(id, "io_uring_setup: files opened through io_uring bypass system-call tracing and are not recorded");
  } else if (name == "seccomp" || (name == "prctl" && args[0] == PR_SET_SECCOMP)) {
    warn(id, "the tracee installs its own seccomp filter: calls it denies or traps are not seen as the program expects");
  } else if (name == "ptrace") {
    warn(id, "the tracee uses ptrace itself: a process it tries to trace may fail to attach");
  } else if (name == "open_by_handle_at") {
    warn(id, "open_by_handle_at: a file opened by handle has no path in the trace");
  }
}

void Tracer::on_new_task(Thread& parent, int event) {
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, parent.tid, nullptr, &msg);
  pid_t tid = static_cast<pid_t>(msg);
  bool is_thread = event == PTRACE_EVENT_CLONE && read_tgid(tid) == parent.tgid;
  Thread child{tid, is_thread ? parent.tgid : tid, parent.cwd, parent.cwd_valid, {}};
  threads_[tid] = child;
  ProcessState& pp = process_of(parent);
  if (is_thread) {
    if (!pp.unpinned) {
      pp.unpinned = true;
      for (auto& [other_tid, other] : threads_)
        if (other.tgid == parent.tgid) set_affinity(other_tid, false);
    }
  } else {
    ProcessState& cp = processes_[tid];
    cp.record = new_process(tid, pp.record.id);
    cp.unpinned = pp.unpinned;
    writer_.write_process(cp.record);
    ++outcome_.processes;
  }
  resume(parent);
  if (auto it = parked_.find(tid); it != parked_.end()) {
    int status = it->second;
    parked_.erase(it);
    handle_status(tid, status);
  }
}

void Tracer::on_exec(pid_t tid) {
  unsigned long former = 0;
  ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former);
  pid_t old_tid = static_cast<pid_t>(former);
  if (old_tid != tid && threads_.contains(old_tid)) {
    // execve from a non-leader thread: it took the leader's tid; the others are gone.
    Thread moved = std::move(threads_.at(old_tid));
    std::erase_if(threads_, [&](const auto& kv) { return kv.second.tgid == moved.tgid; });
    moved.tid = tid;
    threads_[tid] = std::move(moved);
  } else {
    pid_t tgid = threads_.at(tid).tgid;
    std::erase_if(threads_, [&](const auto& kv) { return kv.second.tgid == tgid && kv.first != tid; });
  }
  Thread& t = threads_.at(tid);
  if (t.pending && t.pending->spec->decode == tracer::Decode::exec) record_exec(t, *t.pending);
  t.pending.reset();
  ProcessState& p = process_of(t);
  if (p.unpinned) {
    p.unpinned = false;
    set_affinity(tid, true);
  }
  resume(t);
}

void Tracer::record_exec(Thread& t, PendingCall& call) {
  ProcessState& p = process_of(t);
  Viewer viewer{t.tgid, t.tid};
  FileAccess a = call.access;
  a.error = 0;
  a.observed = true;
  a.tid = t.tid;
  record(t, a);
  Exec exec;
  exec.time = now();
  exec.path = a.resolved;
  exec.exe = resolver_.as_seen_inside(read_link(proc_path(t.tid, "exe")).value_or(""));
  exec.argv = std::move(call.argv);
  exec.cwd = cwd_of(t);
  for (const tracer::ExecStep& step : exec_analyzer_.analyze(resolver_, a.resolved, exec.cwd, viewer)) {
    FileAccess s;
    s.tid = t.tid;
    s.syscall = a.syscall;
    s.kind = AccessKind::exec;
    s.origin = step.origin;
    s.path = step.written;
    s.observed = true;
    record_resolution(t, s, step.resolution);
    exec.interpreters.push_back(step.resolution.resolved);
  }
  const PathBytes& last = exec.interpreters.empty() ? exec.path : exec.interpreters.back();
  bool exe_known = exec.exe == last || exec.exe == exec.path ||
                   std::find(exec.interpreters.begin(), exec.interpreters.end(), exec.exe) != exec.interpreters.end();
  if (!exec.exe.empty() && !exe_known) {
    // binfmt_misc or another kernel-run program: /proc/PID/exe names it.
    FileAccess e;
    e.tid = t.tid;
    e.syscall = a.syscall;
    e.kind = AccessKind::exec;
    e.origin = AccessOrigin::exe;
    e.path = exec.exe;
    e.observed = true;
    record_resolution(t, e, resolver_.resolve("/", exec.exe, true, viewer));
  }
  struct stat st;
  if (!root_ && stat(resolver_.host_path(exec.path).c_str(), &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
    warn(p.record.id, "setuid/setgid program " + exec.path + " runs without its privileges under the tracer");
  writer_.write_exec(p.record.id, exec);
  p.record.execs.push_back(std::move(exec));
}

void Tracer::record_resolution(Thread& t, FileAccess a, const Resolution& r) {
  a.resolved = r.resolved;
  a.links = r.links;
  a.type = r.type;
  a.error = r.error;
  record(t, a);
}

void Tracer::record(Thread& t, FileAccess& a) {
  ProcessState& p = process_of(t);
  if (a.observed && a.type == FileType::none && a.error == 0 && !a.resolved.empty()) {
    struct stat st;  // a file this call created: learn its type now
    if (lstat(resolver_.host_path(a.resolved).c_str(), &st) == 0) a.type = file_type_of_mode(st.st_mode);
  }
  std::string key;
  key.reserve(a.path.size() + a.resolved.size() + a.path2.size() + 48);
  key.append(a.syscall).append(1, '\0');
  key.append(std::to_string(static_cast<int>(a.kind) | static_cast<int>(a.origin) << 8 | a.error << 12));
  key.append(1, '\0').append(std::to_string(a.flags)).append(1, '\0');
  key.append(a.path).append(1, '\0').append(a.resolved).append(1, '\0').append(a.path2);
  auto [it, inserted] = p.seen.try_emplace(std::move(key), 0, 0);
  ++it->second.second;
  ++outcome_.total_accesses;
  if (!inserted) return;
  a.id = next_access_id_++;
  a.process = p.record.id;
  it->second.first = a.id;
  writer_.write_access(a);
  ++outcome_.accesses;
}

void Tracer::warn(std::uint64_t process, const std::string& message) {
  if (!warned_.insert(message).second) return;
  outcome_.warnings.push_back(message);
  writer_.write_warning(Warning{process, message});
}

void Tracer::write_repeats(ProcessState& p) {
  for (const auto& [key, entry] : p.seen)
    if (entry.second > 1) writer_.write_repeat(entry.first, entry.second);
  p.seen.clear();
}

void Tracer::finish_process(ProcessState& p, int status) {
  p.record.exited = true;
  p.record.end = now();
  if (WIFEXITED(status)) {
    p.record.exit_code = WEXITSTATUS(status);
  } else {
    p.record.signal = WTERMSIG(status);
    p.record.core_dumped = WCOREDUMP(status);
  }
  write_repeats(p);
  writer_.write_exit(p.record);
}

void Tracer::on_task_gone(pid_t tid, int status) {
  parked_.erase(tid);
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  pid_t tgid = it->second.tgid;
  threads_.erase(it);
  if (tid != tgid) return;  // a thread; the leader reports the process's end
  std::erase_if(threads_, [&](const auto& kv) { return kv.second.tgid == tgid; });
  auto pit = processes_.find(tgid);
  if (pit == processes_.end()) return;
  finish_process(pit->second, status);
  processes_.erase(pit);
  if (tgid != main_pid_) return;
  if (WIFEXITED(status))
    outcome_.exit_code = WEXITSTATUS(status);
  else
    outcome_.signal = WTERMSIG(status);
  if (!processes_.empty()) {
    if (options_.grace <= 0)
      kill_all("the main process exited and no grace period was given");
    else
      grace_deadline_ = now() + options_.grace;
  }
}

}  // namespace

TraceOutcome record_trace(const TraceOptions& options) {
  if (options.argv.empty()) throw Error("trace: no command given");
  if (!options.user.empty() && options.sandbox.empty()) throw Error("trace: a user to run as needs a sandbox");
  Tracer tracer(options);
  return tracer.run();
}

}  // namespace tracepack
