// The tracer's start-up, run in this process (record_trace, not the CLI) so
// that what it leaves behind can be counted: when starting the command fails
// with an exception, every pipe the tracer opened to its child is closed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tracepack/error.h"
#include "tracepack/tracer.h"

namespace tracepack {
namespace {

namespace fs = std::filesystem;

// The descriptors this process has open, as /proc/self/fd lists them (the
// listing's own descriptor is among them both times it is taken).
std::set<std::string> open_fds() {
  std::set<std::string> fds;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc/self/fd"))
    fds.insert(entry.path().filename().string() + " -> " + fs::read_symlink(entry.path()).string());
  return fds;
}

// A bundle whose /var is a file: the sandbox's child cannot make /var/tmp
// in it, reports the step and exits before the tracer seizes it.
TEST(TracerStart, AFailedSandboxStepLeaksNoDescriptor) {
  fs::path dir = fs::path(SPAWN_TMP_DIR) / ("spawn-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "bundle");
  std::ofstream(dir / "bundle" / "var") << "a file where a directory belongs\n";
  TraceOptions options;
  options.argv = {"/bin/true"};
  options.output = (dir / "t.jsonl").string();
  options.sandbox = (dir / "bundle").string();
  options.pin_cpu = false;  // this process is the tracer: leave its CPU mask alone
  std::set<std::string> before = open_fds();
  std::string message;
  try {
    record_trace(options);
  } catch (const Error& e) {
    message = e.what();
  }
  std::set<std::string> after = open_fds();
  fs::remove_all(dir);
  if (message.starts_with("sandbox: cannot create namespaces")) GTEST_SKIP() << "this kernel gives no namespaces here: " << message;
  EXPECT_EQ(message, "sandbox: cannot create /tmp and /var/tmp in the root: Not a directory");
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace tracepack
