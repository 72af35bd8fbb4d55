// `tracepack closure FILE...`: the shared libraries the dynamic loader would
// load for each file, where it would find them and why.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "tracepack/elf_closure.h"

namespace tracepack::cli {
namespace {

struct ClosureOptions {
  std::vector<std::string> files;
  std::vector<std::string> library_path;
  std::string root = "/";
  bool no_cache = false;
  bool json = false;
};

nlohmann::json to_json(const ElfClosure& closure) {
  // Paths may be any bytes; encode_path keeps the JSON valid UTF-8.
  nlohmann::json out{{"roots", nlohmann::json::array()}, {"dependencies", nlohmann::json::array()}, {"missing", nlohmann::json::array()}};
  for (const PathBytes& root : closure.roots) out["roots"].push_back(encode_path(root));
  for (const std::string& missing : closure.missing) out["missing"].push_back(encode_path(missing));
  for (const ElfDependency& dep : closure.dependencies) {
    nlohmann::json links = nlohmann::json::array();
    for (const Symlink& link : dep.links) links.push_back({{"path", encode_path(link.path)}, {"target", encode_path(link.target)}});
    out["dependencies"].push_back({{"needed", encode_path(dep.needed)},
                                   {"needed_by", encode_path(dep.needed_by)},
                                   {"path", encode_path(dep.path)},
                                   {"resolved", encode_path(dep.resolved)},
                                   {"links", std::move(links)},
                                   {"found_via", dep.found_via}});
  }
  return out;
}

void print_text(const ElfClosure& closure) {
  for (const ElfDependency& dep : closure.dependencies)
    std::printf("%s => %s (%s) via %s, needed by %s\n", dep.needed.c_str(), encode_path(dep.path).c_str(),
                encode_path(dep.resolved).c_str(), dep.found_via.c_str(), encode_path(dep.needed_by).c_str());
}

int run_closure(const ClosureOptions& options) {
  LoaderConfig config;
  config.root = options.root;
  config.library_path.assign(options.library_path.begin(), options.library_path.end());
  config.use_ld_so_cache = !options.no_cache;
  ElfClosure closure = elf_closure({options.files.begin(), options.files.end()}, config);
  if (options.json)
    std::printf("%s\n", to_json(closure).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else
    print_text(closure);
  for (const std::string& missing : closure.missing) std::fprintf(stderr, "tracepack: warning: not found: %s\n", missing.c_str());
  return closure.missing.empty() ? 0 : 1;
}

}  // namespace

Action add_closure_command(CLI::App& app) {
  auto options = std::make_shared<ClosureOptions>();
  CLI::App* cmd = add_command(app, "closure");
  cmd->add_option("files", options->files, "ELF executables or libraries")->required();
  cmd->add_flag("--json", options->json, "Print JSON instead of text");
  cmd->add_option("-L,--library-path", options->library_path, "Directory list searched like LD_LIBRARY_PATH");
  cmd->add_option("--root", options->root, "Resolve inside this file system tree")->capture_default_str();
  cmd->add_flag("--no-ld-so-cache", options->no_cache, "Search the directories of <root>/etc/ld.so.conf instead of <root>/etc/ld.so.cache");
  cmd->footer(exit_status_footer(
      {{"0", "every library was found"}, {"1", "a library was not found (a warning names it), or an error (message on stderr)"}}));
  return [options] { return run_closure(*options); };
}

}  // namespace tracepack::cli
