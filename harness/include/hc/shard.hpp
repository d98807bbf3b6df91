// hc/shard.hpp — which shard of a batch this process is: --shard I/N, or the index and count
// a batch engine (Kubernetes Indexed Job, Slurm array, CI matrix) gives its tasks.
//
//   hc::ShardPosition p = hc::shard_position(flag);  // flag: "" or "2/3"; throws usage_error
//   options.shard_index = p.index; options.shard_count = p.count;
//
// The explorer's side of sharding (units u with u % count == index) is in hc/explorer.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hc {

struct ShardPosition {
  std::uint32_t index = 0;  // 0-based
  std::uint32_t count = 1;  // 1: not sharded
  std::string source;       // "--shard", or the batch engine and its variables
};

/// --shard I/N (1-based) when `flag` is not empty; else HC_SHARD_INDEX/HC_SHARD_COUNT,
/// JOB_COMPLETION_INDEX (+HC_SHARD_COUNT), SLURM_ARRAY_TASK_ID/COUNT (less
/// SLURM_ARRAY_TASK_MIN), CI_NODE_INDEX/TOTAL, CIRCLE_NODE_INDEX/TOTAL or
/// BUILDKITE_PARALLEL_JOB/_COUNT, the first that is set; else {0, 1}. Throws hc::usage_error
/// naming the flag or variable that is malformed or inconsistent.
ShardPosition shard_position(std::string_view flag);

}  // namespace hc
