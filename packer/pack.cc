// The pack stage: read traces, resolve elf: closures, plan, write.
//
// Planning is pure, and which files include: globs match is only known once
// the plan is made; so the libraries those files need are found after a
// first plan, and when the plan lacks one it is made again with them
// (make_plan_with_glob_closures): at most two plans, one in the usual case.
//
// Every read goes through request.root, the file system the traces' paths lie
// in: the host's "/", or an image's unpacked root. Paths stay the traces'
// (the image's) in the plan, the manifest and the report; only the reads are
// redirected: the ELF closures (LoaderConfig::root), the plan's file system
// (HostFileSystem), the host-specific check (its dpkg database and RECORD
// files), the secrets check's contents and the writer's (source_root).
#include "tracepack/pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string_view>

#include "tracepack/atomic_file.h"
#include "tracepack/elf_closure.h"
#include "tracepack/error.h"
#include "tracepack/knowledge.h"
#include "tracepack/oci_writer.h"
#include "tracepack/posix.h"
#include "tracepack/sbom.h"
#include "tracepack/secrets.h"

namespace tracepack {
namespace {

// The inputs an SBOM names: where they lay is no part of what was built.
std::vector<std::string> file_names(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  for (const std::string& p : paths) names.push_back(std::filesystem::path(p).filename().string());
  return names;
}

// Whether the file at `path` below `root` starts with the ELF magic.
bool has_elf_magic(const PathBytes& root, const PathBytes& path) {
  PathBytes full = root == "/" ? path : root + path;
  UniqueFd fd(open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  char magic[4];
  return fd.get() >= 0 && read(fd.get(), magic, sizeof magic) == 4 &&
         std::memcmp(magic,
                     "\x7f"
                     "ELF",
                     4) == 0;
}

// The ELF files among the entries an include: rule (a glob, or an elf:
// root, whose closure is there already) brought, sorted.
std::vector<PathBytes> included_elf_files(const BundlePlan& plan, const PathBytes& root) {
  std::vector<PathBytes> files;
  for (const PlanEntry& e : plan.entries) {
    if (e.type != EntryType::regular || e.size < 64) continue;
    bool by_rule =
        std::any_of(e.reasons.begin(), e.reasons.end(), [](const PlanReason& r) { return r.source == PlanReason::Source::rule; });
    std::string_view base = std::string_view(e.path).substr(e.path.rfind('/') + 1);
    bool may_be_elf = (e.mode & 0111) != 0 || base.find(".so") != std::string_view::npos;
    if (by_rule && may_be_elf && has_elf_magic(root, e.path)) files.push_back(e.path);
  }
  return files;
}

std::string resolve_output(const PackRequest& request) {
  std::string path = request.output.empty() ? request.spec.output.path : request.output;
  if (path.empty()) throw Error("pack: no output given (use -o PATH or output.path in the spec)");
  return path;
}

std::string resolve_format(const PackRequest& request, const std::string& output) {
  if (!request.format.empty()) return request.format;
  return !request.spec.output.format.empty() ? request.spec.output.format : format_from_path(output);
}

/// Throws unless the root is a directory the packer can read below.
void check_root(const PathBytes& root) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) throw_system_error(encode_path(root) + ": cannot open the source root");
  if (!S_ISDIR(st.st_mode)) throw Error(system_error_message(encode_path(root) + ": cannot open the source root", ENOTDIR));
}

/// request.root without trailing '/' ("/" stays), so that root + "/x" is the file of "/x".
PathBytes root_of(const PackRequest& request) {
  PathBytes root = request.root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

HostSpecificOptions host_specific_options(const PathBytes& root) {
  if (root == "/") return {environment_homes()};
  return {.homes = {}, .dpkg_admin_dir = dpkg_admin_dir(root), .root = root};
}

/// The command of a spec's test as the tracer ran it.
std::vector<std::string> test_command(const TestCase& test) {
  if (!test.argv.empty()) return test.argv;
  return {"/bin/sh", "-c", test.shell};
}

/// Writes `text` at `path` atomically.
void write_text_file(const std::string& path, const std::string& text) {
  AtomicFile file(path);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(file.fd(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(path + ": cannot write");
    done += static_cast<std::size_t>(n);
  }
  file.commit(path, path + ": cannot rename into place");
}

/// pack_bundle with SBOMs: the packages found, their dpkg metadata added to
/// the plan, the SBOMs written inside by the writer.
WriteResult write_with_sbom(const BundlePlan& plan, const PackRequest& request, WriteOptions& options,
                            const std::vector<std::string>& formats) {
  PathBytes root = root_of(request);
  BundlePlan with_dpkg = plan;
  options.sbom = {.formats = formats,
                  .packages = find_sbom_packages(plan, root),
                  .traces = file_names(request.trace_files),
                  .spec = file_names({request.spec.file}).front()};
  options.generated = dpkg_status_files(options.sbom.packages, root);
  add_generated_files(with_dpkg, options.generated, request.source_date_epoch.value_or(kDefaultSourceDateEpoch));
  if (is_image_format(options.format)) options.image.labels.emplace(std::string(kSbomLabel), "/" + sbom_bundle_path(formats.front()));
  return write_bundle(with_dpkg, options);
}

}  // namespace

std::string dpkg_admin_dir(const PathBytes& root) { return (root == "/" ? "" : root) + "/var/lib/dpkg"; }

ImageConfig complete_image_config(const PackRequest& request, const BundlePlan& plan) {
  ImageConfig image = request.spec.image;
  std::optional<RunInfo> run;
  if (!plan.runs.empty()) run = plan.runs.front();
  const TestCase* test = request.spec.tests.empty() ? nullptr : &request.spec.tests.front();
  if (!image.entrypoint && !image.cmd) {
    if (test)
      image.cmd = test_command(*test);
    else if (run && !run->argv.empty())
      image.cmd = std::vector<std::string>(run->argv.begin(), run->argv.end());
    if (image.workdir.empty() && run && run->cwd.starts_with('/')) image.workdir = run->cwd;
  }
  if (image.architecture.empty() && run && !run->arch.empty()) image.architecture = oci_architecture(run->arch);
  for (const auto& [name, value] : plan.pack_env) image.env.emplace(name, value);
  if (!image.env.contains("PATH")) {
    if (test && test->env.contains("PATH"))
      image.env["PATH"] = test->env.at("PATH");
    else if (run && run->env_values.contains("PATH"))
      image.env["PATH"] = run->env_values.at("PATH");
  }
  return image;
}

void check_pack_output(const PackRequest& request, const std::vector<std::string>& other_inputs) {
  std::string output = resolve_output(request);
  std::vector<std::string> inputs = request.trace_files;
  if (!request.spec.file.empty()) inputs.push_back(request.spec.file);
  if (root_of(request) != "/") inputs.push_back(root_of(request));
  inputs.insert(inputs.end(), other_inputs.begin(), other_inputs.end());
  check_output_target(output, resolve_format(request, output), inputs);
}

PlanInputs read_plan_inputs(const PackRequest& request) {
  PathBytes root = root_of(request);
  if (root != "/") check_root(root);
  PlanInputs in;
  in.spec = request.spec;
  in.host_specific = host_specific_options(root);
  // The spec lies on the host, outside an image: its directory is no project there.
  if (!request.spec.file.empty() && root == "/")
    in.spec_dir = std::filesystem::absolute(request.spec.file).parent_path().lexically_normal().string();
  in.allow_missing = request.allow_missing;
  for (const std::string& file : request.trace_files) {
    in.traces.push_back(read_trace(file));
    std::string warning = check_trace_complete(in.traces.back(), file, request.allow_truncated);
    if (!warning.empty()) in.warnings.push_back(std::move(warning));
  }
  for (const IncludeRule& rule : request.spec.include)
    if (rule.kind == IncludeRule::Kind::elf) {
      LoaderConfig loader;
      loader.root = root;
      in.closures.push_back(elf_closure({rule.pattern}, loader));
    }
  return in;
}

namespace {

// Turns the rules of the packs that are on, triggered by `plan`, into rules
// of `in.spec`; false when none adds or leaves out anything new.
bool apply_packs(PlanInputs& in, const BundlePlan& plan, const std::vector<const KnowledgePack*>& on, const FileSystemView& fs,
                 const PathBytes& root, std::set<std::string>& applied, std::map<std::string, std::string>& env) {
  std::vector<PathBytes> paths;
  for (const PlanEntry& e : plan.entries) paths.push_back(e.path);
  bool added = false;
  LoaderConfig loader;
  loader.root = root;
  auto add_elf = [&](const PathBytes& file, const SourceLocation& where) {
    if (!applied.insert("elf:" + file).second) return;
    in.spec.include.push_back({IncludeRule::Kind::elf, file, where});
    in.closures.push_back(elf_closure({file}, loader));
    added = true;
  };
  for (const PackMatch& m : match_packs(on, paths)) {
    SourceLocation where{"pack '" + m.pack->name + "', rule '" + m.rule->name + "', as the bundle holds " + m.triggers.front(), 0, 0};
    for (const PackItem& item : m.add) {
      std::vector<PathBytes> files = pack_item_files(item, fs, root, paths);
      if (files.empty()) continue;
      if (item.kind == PackItem::Kind::glob && applied.insert("glob:" + item.pattern).second) {
        in.spec.include.push_back({IncludeRule::Kind::glob, item.pattern, where});
        added = true;
      }
      // A glob's ELF files bring their libraries as every include glob's do
      // (make_plan_with_glob_closures); an elf: or nss_modules item's are
      // elf: includes.
      if (item.kind != PackItem::Kind::glob)
        for (const PathBytes& file : files) add_elf(file, where);
    }
    for (const std::string& glob : m.rule->never)
      if (applied.insert("never:" + glob).second) {
        in.spec.exclude.push_back({glob, where});
        added = true;  // the plan is made again without them, even when the rule adds nothing new
      }
    for (const auto& [name, value] : m.rule->env) env.emplace(name, value);
  }
  return added;
}

}  // namespace

BundlePlan plan_with_packs(PlanInputs& in, const FileSystemView& fs, const PathBytes& root) {
  BundlePlan plan = make_plan(in, fs);
  if (in.spec.packs.empty()) return plan;
  std::vector<const KnowledgePack*> on;
  for (const KnowledgePack* pack : available_packs(in.spec.knowledge))
    if (std::any_of(in.spec.packs.begin(), in.spec.packs.end(), [&](const PackChoice& c) { return c.name == pack->name; })) on.push_back(pack);
  std::set<std::string> applied;
  std::map<std::string, std::string> env;
  for (int round = 0; round < 4 && apply_packs(in, plan, on, fs, root, applied, env); ++round) plan = make_plan(in, fs);
  plan.pack_env = std::move(env);
  return plan;
}

BundlePlan make_plan_with_glob_closures(const PlanInputs& inputs, const PathBytes& root) {
  HostFileSystem fs(root);
  PlanInputs in = inputs;
  BundlePlan plan = plan_with_packs(in, fs, root);
  std::vector<PathBytes> elf_files = included_elf_files(plan, root);
  if (elf_files.empty()) return plan;
  LoaderConfig loader;
  loader.root = root;
  std::set<PathBytes> held;
  for (const PlanEntry& e : plan.entries) held.insert(e.path);
  std::vector<ElfDependency> lacking_dependencies;
  std::set<PathBytes> seen;  // the paths the loader opens
  for (const PathBytes& file : elf_files) {
    ElfClosure closure;
    try {
      closure = elf_closure({file}, loader);
    } catch (const Error&) {
      continue;  // an ELF file the loader would not load (a core file, a truncated object): nothing to add
    }
    for (ElfDependency& dep : closure.dependencies) {
      bool lacking = !held.contains(dep.resolved) ||
                     std::any_of(dep.links.begin(), dep.links.end(), [&](const Symlink& link) { return !held.contains(link.path); });
      if (lacking && seen.insert(dep.path).second) lacking_dependencies.push_back(std::move(dep));
    }
  }
  if (lacking_dependencies.empty()) return plan;
  in.glob_dependencies = std::move(lacking_dependencies);
  BundlePlan again = make_plan(in, fs);
  again.pack_env = std::move(plan.pack_env);
  return again;
}

BundlePlan plan_bundle(const PackRequest& request) { return make_plan_with_glob_closures(read_plan_inputs(request), root_of(request)); }

WriteResult pack_bundle(const PackRequest& request, const BundlePlan& plan) {
  check_secrets(plan, request.spec, host_sniffer(root_of(request)));
  WriteOptions options;
  options.path = resolve_output(request);
  options.format = resolve_format(request, options.path);
  options.compression_level = request.spec.output.compression_level;
  options.reproducible = request.spec.output.reproducible;
  options.source_date_epoch = request.source_date_epoch;
  options.bundle_name = request.spec.name;
  options.source_root = root_of(request);
  options.from = request.from;
  if (is_image_format(options.format)) options.image = complete_image_config(request, plan);
  std::vector<std::string> formats = !request.sbom.empty() ? request.sbom : request.spec.sbom;
  if (formats.empty()) return write_bundle(plan, options);
  return write_with_sbom(plan, request, options, formats);
}

std::vector<std::string> write_sboms_beside(const WriteResult& written, const std::string& output) {
  std::vector<std::string> paths;
  for (const auto& [format, text] : written.sboms) {
    paths.push_back(sbom_output_path(output, format));
    write_text_file(paths.back(), text);
  }
  return paths;
}

std::vector<std::string> sbom_formats(const std::vector<std::string>& names) {
  std::vector<std::string> formats;
  for (const std::string& name : names) {
    if (std::string problem = sbom_format_problem(name); !problem.empty()) throw Error("--sbom: " + problem);
    if (std::find(formats.begin(), formats.end(), name) == formats.end()) formats.push_back(name);
  }
  return formats;
}

std::vector<std::pair<std::string, std::size_t>> count_exclusions(const BundlePlan& plan) {
  std::map<std::string, std::size_t> counts;
  for (const PlanExclusion& x : plan.excluded) ++counts[exclusion_group(x.reason)];
  return {counts.begin(), counts.end()};
}

}  // namespace tracepack
