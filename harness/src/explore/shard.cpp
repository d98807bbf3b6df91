// shard.cpp — hc::shard_position: --shard I/N or a batch engine's task index and count.
#include "hc/shard.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc {

ShardPosition shard_position(std::string_view flag) {
  auto number = [](const char* name, const char* text) -> std::uint32_t {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v > 1'000'000) {
      throw usage_error(fmt::format("{}='{}' is not a shard number", name, text));
    }
    return static_cast<std::uint32_t>(v);
  };
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  std::uint32_t index = 0;  // 0-based
  std::uint32_t count = 1;
  if (!flag.empty()) {
    const std::size_t slash = flag.find('/');
    if (slash == std::string::npos) {
      throw usage_error(
          fmt::format("--shard '{}': write it as I/N, e.g. --shard 2/3 (1-based)", flag));
    }
    const std::uint32_t i = number("--shard index", std::string(flag.substr(0, slash)).c_str());
    count = number("--shard count", std::string(flag.substr(slash + 1)).c_str());
    if (i < 1 || count < 1 || i > count) {
      throw usage_error(
          fmt::format("--shard '{}': the index runs from 1 to the count (1/{} .. {}/{})", flag,
                      std::max<std::uint32_t>(count, 1), count, count));
    }
    return {i - 1, count, "--shard"};
  }
  // 0-based index variables, with the variable that carries the count.
  struct Batch {
    const char* index;
    const char* count;
    bool one_based;
    const char* what;
  };
  static constexpr Batch batches[] = {
      {"HC_SHARD_INDEX", "HC_SHARD_COUNT", true, "HC_SHARD_INDEX/HC_SHARD_COUNT"},
      {"JOB_COMPLETION_INDEX", "HC_SHARD_COUNT", false, "Kubernetes Indexed Job"},
      {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", false, "Slurm job array"},
      {"CI_NODE_INDEX", "CI_NODE_TOTAL", true, "GitLab parallel job"},
      {"CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", false, "CircleCI parallelism"},
      {"BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", false, "Buildkite parallelism"},
  };
  for (const Batch& b : batches) {
    const char* i = env(b.index);
    if (i == nullptr) continue;
    const char* n = env(b.count);
    if (n == nullptr) {
      throw usage_error(
          fmt::format("{} is set ({}) but {} is not: set it to the number of shards, "
                      "or pass --shard I/N",
                      b.index, b.what, b.count));
    }
    index = number(b.index, i);
    count = number(b.count, n);
    if (std::string_view(b.index) == "SLURM_ARRAY_TASK_ID") {
      if (const char* min = env("SLURM_ARRAY_TASK_MIN"))
        index -= std::min(index, number("SLURM_ARRAY_TASK_MIN", min));
    }
    if (b.one_based) {
      if (index == 0) throw usage_error(fmt::format("{}=0: it counts from 1", b.index));
      --index;
    }
    if (count == 0 || index >= count) {
      throw usage_error(fmt::format("{}={} does not fit {}={} shards", b.index, i, b.count, n));
    }
    return {index, count, fmt::format("{} ({}={}, {}={})", b.what, b.index, i, b.count, n)};
  }
  return ShardPosition{};  // not sharded
}

}  // namespace hc
