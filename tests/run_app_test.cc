// The CLI edge (cli/run_app.cc) with commands whose actions throw: every
// exception becomes a message and an exit status, never an abort. The
// commands here are made for the test; the edge is the one both tracepack
// programs run.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "run_app.h"
#include "tracepack/error.h"

namespace tracepack::cli {
namespace {

// What the one command of the app does when run.
enum class Outcome { succeed, error, logic_error, unknown };
Outcome g_outcome = Outcome::succeed;

Action add_act_command(CLI::App& app) {
  app.add_subcommand("act", "Run the test's action");
  return [] {
    switch (g_outcome) {
      case Outcome::succeed:
        return 0;
      case Outcome::error:
        throw Error("act: it failed");
      case Outcome::logic_error:
        throw std::logic_error("vector::at: index out of range");
      case Outcome::unknown:
        throw 42;
    }
    return 0;
  };
}

struct Ended {
  int status;
  std::string err;
};

Ended run(Outcome outcome, std::vector<std::string> args) {
  g_outcome = outcome;
  args.insert(args.begin(), "tracepack");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  CLI::App app{"test"};
  ::testing::internal::CaptureStderr();
  int status = run_app(app, {add_act_command}, static_cast<int>(argv.size()), argv.data());
  return {status, ::testing::internal::GetCapturedStderr()};
}

TEST(RunApp, AnErrorExitsOneWithItsMessage) {
  Ended e = run(Outcome::error, {"act"});
  EXPECT_EQ(e.status, 1);
  EXPECT_EQ(e.err, "tracepack: error: act: it failed\n");
}

TEST(RunApp, AnyOtherExceptionIsAnInternalErrorWithStatus70) {
  Ended e = run(Outcome::logic_error, {"act"});
  EXPECT_EQ(e.status, 70);
  EXPECT_EQ(e.err, "tracepack: internal error: vector::at: index out of range (a bug in tracepack: please report it)\n");
}

TEST(RunApp, AnExceptionOfNoStandardTypeIsAnInternalErrorToo) {
  Ended e = run(Outcome::unknown, {"act"});
  EXPECT_EQ(e.status, 70);
  EXPECT_EQ(e.err, "tracepack: internal error: an unknown exception (a bug in tracepack: please report it)\n");
}

TEST(RunApp, AMistypedCommandIsAUsageErrorWithASuggestion) {
  Ended e = run(Outcome::succeed, {"acr"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.err, "tracepack: error: unknown command 'acr' (did you mean 'act'?)\n");
}

TEST(RunApp, SuccessIsZeroAndSilent) {
  Ended e = run(Outcome::succeed, {"act"});
  EXPECT_EQ(e.status, 0);
  EXPECT_EQ(e.err, "");
}

}  // namespace
}  // namespace tracepack::cli
