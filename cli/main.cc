// tracepack: the program users run. It holds the tracer and the light
// commands; the packing commands, which need libarchive, OpenSSL and
// yaml-cpp, live in tracepack-packer beside it and are run through it, so
// that `tracepack trace` starts without loading those libraries.
#include <sys/auxv.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "commands.h"
#include "run_app.h"
#include "tracepack/error.h"

namespace {

// tracepack-packer beside this program. /proc/self/exe names it; where that
// cannot be read (no /proc in a container, or a root directory the user may
// not search, which makes the kernel refuse the link), the path this program
// was executed by (AT_EXECFN, which execvp fills with the directory it found)
// still does, since the working directory has not changed since.
std::string packer_program() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string path;
  if (n > 0)
    path.assign(self, static_cast<std::size_t>(n));
  else if (const char* executed = reinterpret_cast<const char*>(getauxval(AT_EXECFN)); executed != nullptr)
    path = executed;
  return path.substr(0, path.rfind('/') + 1) + "tracepack-packer";
}

// The packer's allocations (zstd's job buffers, the traces) are touched
// once each: on 4 KiB pages, faulting them in costs more than zstd's
// compression gains from a second CPU (docs/performance.md, Packing). glibc
// backs its heap with transparent huge pages when told so at start-up, by
// GLIBC_TUNABLES. The user's own value is kept in kSavedTunables for the
// packer to restore (see packer_main.cc), so that the tests it traces run in
// the environment they were given.
void ask_for_huge_pages() {
  const char* own = std::getenv("GLIBC_TUNABLES");
  std::string saved = own == nullptr ? "" : std::string("=") + own;
  std::string tunables = std::string("glibc.malloc.hugetlb=1") + (own == nullptr || *own == '\0' ? "" : ":" + std::string(own));
  setenv(tracepack::cli::kSavedTunables, saved.c_str(), 1);
  setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
}

bool is_packer_command(const char* name) {
  const tracepack::cli::CommandInfo* command = tracepack::cli::find_command_info(name);
  return command != nullptr && command->program == tracepack::cli::Program::packer;
}

// `command` names the packer's subcommand argv asks for (argv[1], or argv[2]
// after "help"); argv goes to the packer unchanged.
[[noreturn]] void run_packer(const char* command, char** argv) {
  std::string program = packer_program();
  ask_for_huge_pages();
  execv(program.c_str(), argv);
  std::fprintf(stderr, "tracepack: error: %s: cannot run %s: %s (it is built and installed beside tracepack)\n", command, program.c_str(),
               std::strerror(errno));
  _exit(127);
}

// A packer command as `tracepack help` lists it (and as the did-you-mean of
// a mistyped command knows it); main() runs the packer before any parsing.
void add_forwarding_help(CLI::App& app, const tracepack::cli::CommandInfo& command) {
  CLI::App* cmd = tracepack::cli::add_command(app, command.name);
  cmd->prefix_command();
  cmd->allow_extras();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && is_packer_command(argv[1])) run_packer(argv[1], argv);
  if (argc > 2 && std::strcmp(argv[1], "help") == 0 && is_packer_command(argv[2])) run_packer(argv[2], argv);
  CLI::App app{"tracepack: find and bundle exactly the files an application uses"};
  for (const tracepack::cli::CommandInfo& command : tracepack::cli::command_table())
    if (command.program == tracepack::cli::Program::packer) add_forwarding_help(app, command);
  return tracepack::cli::run_app(
      app, {tracepack::cli::add_trace_command, tracepack::cli::add_summary_command, tracepack::cli::add_merge_command}, argc, argv);
}
