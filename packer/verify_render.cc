// render_verify_text and render_verify_json: a VerifyResult as
// `tracepack verify` prints it, for a terminal or as a JSON document
// (docs/verify.md). Only what the result holds is rendered; nothing is
// looked up again.
#include <nlohmann/json.hpp>

#include "tracepack/verify.h"

namespace tracepack {

std::string render_verify_text(const VerifyResult& result) {
  std::string text;
  for (const TestVerdict& r : result.tests) {
    text += "test '" + r.test + "': " + (r.passed ? "passed in the bundle" : "FAILED in the bundle: " + r.failure) + "\n";
    for (const MissingFile& m : r.missing) {
      text += "  missing: " + encode_path(m.path) + (m.directory ? "/ (a directory)" : "") + "\n";
      std::string process = "pid " + std::to_string(m.pid) + (m.command.empty() ? "" : " (" + m.command + ")");
      if (m.looked_up)
        text += "    wanted by " + process + ", " + m.syscall + "\n";
      else
        text += "    read by " + process + ", " + m.syscall + ", in the traced run; the run in the bundle never looked it up\n";
    }
    if (!r.passed && r.missing.empty())
      text += "  no file the traced run used was missing from the bundle: the test fails for another reason\n";
  }
  if (!result.include_lines.empty()) text += "add to the spec:\n" + result.include_lines;
  return text;
}

std::string render_verify_json(const VerifyResult& result) {
  nlohmann::json tests = nlohmann::json::array();
  for (const TestVerdict& r : result.tests) {
    nlohmann::json missing = nlohmann::json::array();
    for (const MissingFile& m : r.missing)
      missing.push_back({{"path", encode_path(m.path)},
                         {"directory", m.directory},
                         {"test", m.test},
                         {"pid", m.pid},
                         {"command", m.command},
                         {"syscall", m.syscall},
                         {"looked_up", m.looked_up}});
    tests.push_back({{"test", r.test}, {"passed", r.passed}, {"failure", r.failure}, {"missing", missing}});
  }
  nlohmann::json doc = {{"format", "tracepack-verify"}, {"version", 1}, {"passed", result.passed}, {"tests", tests}};
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace tracepack
