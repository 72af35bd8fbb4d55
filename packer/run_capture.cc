// Running a helper program in a root and reading what it prints (run_capture.h).
#include "run_capture.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tracepack/error.h"
#include "tracepack/posix.h"

namespace tracepack {

std::string run_capturing(const std::vector<std::string>& argv, const PathBytes& root) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  UniqueFd read_end(out[0]), write_end(out[1]);
  std::vector<char*> cargv;
  for (const std::string& arg : argv) cargv.push_back(const_cast<char*>(arg.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(write_end.get(), STDOUT_FILENO);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, STDIN_FILENO);
      dup2(null, STDERR_FILENO);
    }
    if (root != "/" && (chroot(root.c_str()) != 0 || chdir("/") != 0)) _exit(126);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  write_end.reset();
  std::string output;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(read_end.get(), buffer, sizeof buffer);
    if (n > 0) {
      output.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 126) throw Error(root + ": cannot chroot into it");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) throw Error("cannot run it");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status)) : "killed by signal " + std::to_string(WTERMSIG(status)));
  return output;
}

ScratchFile::ScratchFile(const PathBytes& dir, const std::string& text) {
  std::string name = (dir.empty() ? std::string("/tmp") : dir) + "/tracepack-imports-XXXXXX";
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  UniqueFd fd(mkstemp(buffer.data()));
  if (fd.get() < 0) throw Error(name + ": cannot create: " + std::strerror(errno));
  path_ = buffer.data();
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    unlink(path_.c_str());
    throw Error(path_ + ": cannot write: " + std::strerror(errno));
  }
}

ScratchFile::~ScratchFile() { unlink(path_.c_str()); }

PathBytes scratch_dir_for(const PathBytes& root) {
  const char* tmpdir = std::getenv("TMPDIR");
  return root == "/" ? PathBytes(tmpdir && *tmpdir ? tmpdir : "/tmp") : root + "/tmp";
}

PathBytes path_inside(const PathBytes& root, const PathBytes& host_path) { return root == "/" ? host_path : host_path.substr(root.size()); }

}  // namespace tracepack
