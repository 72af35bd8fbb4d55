// tracepack-packer: the commands the command table (commands.cc) gives to
// the packer (pack, build, closure, verify, exec, why, diff, report), run by
// tracepack with the user's arguments unchanged.
#include <cstdlib>

#include "commands.h"
#include "run_app.h"

namespace {

// Puts back the GLIBC_TUNABLES tracepack replaced before running this program
// (see main.cc): glibc read it at start-up, and the tests `build` traces
// inherit this environment.
void restore_tunables() {
  const char* saved = std::getenv(tracepack::cli::kSavedTunables);
  if (saved == nullptr) return;
  if (saved[0] == '=')
    setenv("GLIBC_TUNABLES", saved + 1, 1);
  else
    unsetenv("GLIBC_TUNABLES");
  unsetenv(tracepack::cli::kSavedTunables);
}

}  // namespace

int main(int argc, char** argv) {
  restore_tunables();
  CLI::App app{"tracepack: find and bundle exactly the files an application uses"};
  app.name("tracepack");
  return tracepack::cli::run_app(app,
                                 {tracepack::cli::add_pack_command, tracepack::cli::add_build_command, tracepack::cli::add_closure_command,
                                  tracepack::cli::add_verify_command, tracepack::cli::add_exec_command, tracepack::cli::add_why_command,
                                  tracepack::cli::add_diff_command, tracepack::cli::add_report_command},
                                 argc, argv);
}
