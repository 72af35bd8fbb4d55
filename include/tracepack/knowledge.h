// Knowledge packs: rules that say "when a bundle holds X, the application
// probably needs Y as well", for what tests rarely reach (every time zone, not
// the one the test used; every codec; the NSS modules nsswitch.conf names).
// A pack is a documented data file (packer/packs/*.yaml ship with tracepack;
// a spec adds its own with `knowledge:`). Its rules act as candidates to
// review by default; a spec turns a pack on with `packs:` to include its files.
// The format is in docs/knowledge-packs.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tracepack/trace.h"

namespace tracepack {

class FileSystemView;
struct CandidateList;

/// One thing a rule adds.
struct PackItem {
  enum class Kind {
    glob,         ///< an absolute glob of files ("/usr/share/zoneinfo/**"); "${dir}" stands for a trigger's directory
    elf,          ///< an ELF file and its dependency closure, like an `- elf:` include
    nss_modules,  ///< the libnss_SERVICE.so.2 modules the named nsswitch.conf lists, each with its closure
  };
  Kind kind = Kind::glob;
  std::string pattern;  ///< the glob, the ELF file's path, or the nsswitch.conf path
};

/// One rule of a pack.
struct PackRule {
  std::string name;                        ///< unique in its pack: "zoneinfo"
  std::string why;                         ///< one line for people: why the trigger means the files are needed
  std::vector<std::string> when;           ///< globs of bundle paths; one match triggers the rule
  std::vector<PackItem> add;               ///< what it suggests
  std::vector<std::string> never;          ///< globs of host files never to ship while the pack is on
  std::map<std::string, std::string> env;  ///< environment the files need (set in an image's config while on)
  std::string where;                       ///< "file:line:col" of the rule, for messages
};

/// A pack: a name and its rules.
struct KnowledgePack {
  std::string name;         ///< "tzdata": what `packs:` names
  std::string description;  ///< one line
  std::string file;         ///< where it was read from ("tzdata.yaml (built in)", or the user's file)
  std::vector<PackRule> rules;
  std::string text;  ///< the YAML it was read from, kept in a bundle's manifest so that reports of the bundle know it
};

/// The packs that ship with tracepack, sorted by name (parsed once).
const std::vector<KnowledgePack>& builtin_packs();

/// Reads a pack file's text (the same YAML format as the built-in ones).
/// Throws Error with one "file:line:col: message" line per problem.
KnowledgePack parse_pack(std::string_view text, const std::string& file);

/// A rule that a bundle's paths trigger.
struct PackMatch {
  const KnowledgePack* pack = nullptr;
  const PackRule* rule = nullptr;
  std::vector<PathBytes> triggers;  ///< the bundle paths that matched `when`, sorted
  std::vector<PackItem> add;        ///< the rule's items, "${dir}" replaced by each trigger's directory, each once
};

/// The rules of `packs` that `paths` (a bundle's entries) trigger, in pack
/// and rule order.
std::vector<PackMatch> match_packs(const std::vector<const KnowledgePack*>& packs, const std::vector<PathBytes>& paths);

/// The files `item` names in `files` (a glob's matches, the ELF file, the NSS
/// modules; each an existing path, sorted). `root` is where `files` reads
/// from, and `bundle` the bundle's paths (the NSS modules are searched from
/// its libc.so.6).
std::vector<PathBytes> pack_item_files(const PackItem& item, const FileSystemView& files, const PathBytes& root,
                                       const std::vector<PathBytes>& bundle);

/// Every pack a spec can use: the built-in ones, then `user` (the spec's
/// `knowledge:`), sorted by name. Throws Error when a user pack reuses a name.
std::vector<const KnowledgePack*> available_packs(const std::vector<KnowledgePack>& user);

/// Candidates from the rules of `packs` that `paths` trigger, for the packs
/// not named in `on` (those are in the bundle already): each item of a
/// triggered rule whose files the bundle lacks, as kind "knowledge-pack".
void pack_candidates(const std::vector<const KnowledgePack*>& packs, const std::vector<std::string>& on,
                     const std::vector<PathBytes>& paths, const FileSystemView& files, const PathBytes& root, CandidateList& list);

}  // namespace tracepack
