// merge_traces: traces are put in a canonical order first, then their process
// and access ids are renumbered into one space, so that sharded test runs merge
// to the same file whatever order the shards finished in.
#include "tracepack/merge.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

namespace tracepack {
namespace {

auto order_key(const Trace& t) { return std::tie(t.run.label, t.run.start_time, t.run.argv, t.run.cwd); }

RunInfo merged_run_info(const std::vector<Trace>& traces) {
  RunInfo run = traces.front().run;
  run.label = "merged: " + std::to_string(traces.size()) + " trace(s)";
  run.argv.clear();
  run.env_values.clear();
  std::set<std::string> names;
  for (const Trace& t : traces) {
    names.insert(t.run.env_names.begin(), t.run.env_names.end());
    run.start_time = std::min(run.start_time, t.run.start_time);
  }
  run.env_names.assign(names.begin(), names.end());
  return run;
}

std::optional<RunEnd> merged_end(const std::vector<Trace>& traces) {
  RunEnd end;
  for (const Trace& t : traces) {
    if (!t.end) return std::nullopt;
    end.end = std::max(end.end, t.end->end);
    if (end.exit_code == 0 && end.signal == 0) {
      end.exit_code = t.end->exit_code;
      end.signal = t.end->signal;
    }
    end.timed_out = end.timed_out || t.end->timed_out;
  }
  return end;
}

}  // namespace

bool trace_order_less(const Trace& a, const Trace& b) { return order_key(a) < order_key(b); }

Trace merge_traces(std::vector<Trace> traces) {
  Trace merged;
  if (traces.empty()) return merged;
  std::stable_sort(traces.begin(), traces.end(), trace_order_less);
  merged.run = merged_run_info(traces);
  merged.end = merged_end(traces);
  std::uint64_t next_process = 1;
  std::uint64_t next_access = 1;
  for (Trace& t : traces) {
    std::unordered_map<std::uint64_t, std::uint64_t> ids{{0, 0}};
    for (Process& p : t.processes) ids[p.id] = next_process++;
    for (Process& p : t.processes) {
      p.id = ids[p.id];
      p.parent = ids.contains(p.parent) ? ids[p.parent] : 0;
      if (p.test.empty()) p.test = t.run.label;
      merged.processes.push_back(std::move(p));
    }
    for (FileAccess& a : t.accesses) {
      a.id = next_access++;
      a.process = ids[a.process];
      merged.accesses.push_back(std::move(a));
    }
    for (Warning& w : t.warnings) {
      w.process = ids.contains(w.process) ? ids[w.process] : 0;
      merged.warnings.push_back(std::move(w));
    }
  }
  return merged;
}

Trace merge_trace_files(const std::vector<std::string>& files, bool allow_truncated, std::vector<std::string>& warnings) {
  std::vector<Trace> traces;
  for (const std::string& file : files) {
    traces.push_back(read_trace(file));
    std::string warning = check_trace_complete(traces.back(), file, allow_truncated);
    if (!warning.empty()) warnings.push_back(std::move(warning));
  }
  return merge_traces(std::move(traces));
}

}  // namespace tracepack
