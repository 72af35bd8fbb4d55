// outputs_of: which paths a run made before anything else used them.
#include <gtest/gtest.h>

#include <vector>

#include "tracepack/trace.h"

namespace tracepack {
namespace {

FileAccess access(AccessKind kind, PathBytes resolved, PathBytes resolved2 = {}, int error = 0) {
  FileAccess a;
  a.kind = kind;
  a.resolved = std::move(resolved);
  a.resolved2 = std::move(resolved2);
  a.error = error;
  return a;
}

std::vector<PathBytes> output_paths(const Trace& trace) {
  std::vector<PathBytes> paths;
  for (const auto& [path, made_by] : outputs_of(trace)) paths.push_back(path);
  return paths;
}

TEST(OutputsOf, WhatTheRunMadeFirstIsAnOutput) {
  Trace t;
  t.accesses = {access(AccessKind::create, "/w/new.o"), access(AccessKind::read, "/w/new.o"), access(AccessKind::mkdir, "/w/dir"),
                access(AccessKind::symlink, "", "/w/link"), access(AccessKind::rename, "/w/tmp", "/w/final")};
  EXPECT_EQ(output_paths(t), (std::vector<PathBytes>{"/w/dir", "/w/final", "/w/link", "/w/new.o"}));
  EXPECT_EQ(outputs_of(t).at("/w/final")->kind, AccessKind::rename);
}

TEST(OutputsOf, WhatTheRunUsedBeforeMakingItIsAnInput) {
  Trace t;
  t.accesses = {access(AccessKind::read, "/w/config"),      access(AccessKind::write, "/w/config"),
                access(AccessKind::stat, "/w/dir"),         access(AccessKind::mkdir, "/w/dir"),
                access(AccessKind::rename, "/w/a", "/w/b"), access(AccessKind::rename, "/w/b", "/w/a")};
  // /w/a was seen as the first rename's source: the second one does not make it.
  EXPECT_EQ(output_paths(t), (std::vector<PathBytes>{"/w/b"}));
}

TEST(OutputsOf, FailedAccessesNeitherMakeNorUse) {
  Trace t;
  t.accesses = {access(AccessKind::read, "/w/out", "", 2), access(AccessKind::create, "/w/out"),
                access(AccessKind::create, "/w/x", "", 13)};
  EXPECT_EQ(output_paths(t), (std::vector<PathBytes>{"/w/out"}));
  EXPECT_TRUE(made_path(t.accesses[2]).empty());
  EXPECT_EQ(made_path(t.accesses[1]), "/w/out");
}

}  // namespace
}  // namespace tracepack
