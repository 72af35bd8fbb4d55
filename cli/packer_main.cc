// tracepack-packer: the packing commands (`tracepack pack`, `build`,
// `closure`), run by tracepack with the user's arguments unchanged.
#include "commands.h"
#include "run_app.h"

int main(int argc, char** argv) {
  CLI::App app{"tracepack: find and bundle exactly the files an application uses"};
  app.name("tracepack");
  return tracepack::cli::run_app(app, {tracepack::cli::add_pack_command, tracepack::cli::add_build_command,
                                       tracepack::cli::add_closure_command}, argc, argv);
}
