// Fuzzing every parser of user input with a deterministic mutation corpus: replay files,
// checkpoints, run summaries (merge) and choice strings. Each input must end in the parser's
// documented outcome, accepted or refused with a message, never a crash, a hang or an
// exception of another kind (which the CLI would report as an internal error, exit 3).
//
// `Fuzz.*` (default run): HC_FUZZ_INPUTS inputs per parser (300). `FuzzNightly.*` (labels
// fuzz and nightly): 10,000 per parser. The mutations are drawn from a fixed-seed generator,
// so a failure names an input index that reproduces.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hc/reports/replay_file.hpp"
#include "hc/reports/summary.hpp"
#include "test_support.hpp"

namespace {

/// Deterministic mutations of a valid input: byte flips, truncation, deletion, duplication,
/// and splices of tokens that break parsers (huge and negative numbers, fractions, nesting,
/// wrong types, NUL, unterminated strings).
class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::string mutate(std::string text) {
    const int rounds = 1 + static_cast<int>(pick(3));
    for (int r = 0; r < rounds && !text.empty(); ++r) {
      const std::size_t at = pick(text.size());
      switch (pick(7)) {
        case 0:
          text[at] = static_cast<char>(pick(256));
          break;
        case 1:
          text.resize(at);
          break;
        case 2:
          text.erase(at, 1 + pick(16));
          break;
        case 3:
          text.insert(at, text.substr(at, 1 + pick(64)));
          break;
        default: {
          static const char* kTokens[] = {
              "4294967296",
              "18446744073709551616",
              "-1",
              "1.5",
              "1e308",
              "null",
              "true",
              "\"\"",
              "[]",
              "{}",
              "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
              "\"\\u0000\"",
              "\"",
              ",",
              ":",
              "\\",
              "0",
              "NaN",
              "\"x\":{\"y\":[1,2,{}]}"};
          const std::string token = kTokens[pick(sizeof kTokens / sizeof *kTokens)];
          if (pick(2) == 0) {
            text.insert(at, token);
          } else {
            text.replace(at, 1 + pick(8), token);
          }
        }
      }
    }
    return text;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }
  std::mt19937_64 rng_;
};

int inputs(bool nightly) {
  return nightly ? 10000 : 300;
}

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hc-fuzz-" + name)).string();
}

void tiny_body() {
  hc::atomic<int> x{0, "x"};
  hc::thread t("t", [&] { x.fetch_add(1); });
  x.fetch_add(1);
  t.join();
  HC_CHECK(x.load() == 2, "lost");
}

std::string valid_replay_file() {
  hc::ExploreOptions o = hc::test::exhaustive();
  const hc::Result r = hc::explore(hc::test::lost_update, o);
  EXPECT_FALSE(r.findings.empty());
  return hc::reports::to_json(
      hc::reports::make_replay_file("engine/lost-update", o, r.findings[0]));
}

std::string valid_checkpoint(const std::string& path) {
  hc::ExploreOptions o = hc::test::exhaustive();
  o.checkpoint_file = path;
  o.interrupt_after_executions = 1;
  (void)hc::explore(tiny_body, o);
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void fuzz_replay_files(int n) {
  const std::string seed = valid_replay_file();
  Mutator m(1);
  int accepted = 0;
  for (int i = 0; i < n; ++i) {
    const std::string input = m.mutate(seed);
    std::string error;
    try {
      const auto file = hc::reports::parse_replay_file(input, &error);
      if (file) {
        ++accepted;
        // An accepted file must also be safe to turn into options and replay.
        const hc::Result r =
            hc::explore(hc::test::lost_update, hc::reports::replay_options(*file, false));
        (void)r;
      } else {
        EXPECT_FALSE(error.empty()) << "input " << i << " refused without a message";
      }
    } catch (const hc::usage_error&) {
      // a refusal with a message: fine
    } catch (const std::exception& e) {
      ADD_FAILURE() << "input " << i << ": " << e.what();
    }
  }
  ::testing::Test::RecordProperty("accepted", accepted);
}

void fuzz_checkpoints(int n) {
  const std::string path = temp_file("checkpoint.json");
  const std::string seed = valid_checkpoint(path);
  ASSERT_FALSE(seed.empty());
  Mutator m(2);
  for (int i = 0; i < n; ++i) {
    std::ofstream(path, std::ios::trunc) << m.mutate(seed);
    hc::ExploreOptions o = hc::test::exhaustive();
    o.resume_file = path;
    try {
      (void)hc::explore(tiny_body, o);
    } catch (const hc::usage_error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos)
          << "input " << i << ": the message names the file: " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "input " << i << ": " << e.what();
    }
  }
  std::filesystem::remove(path);
}

void fuzz_summaries(int n) {
  hc::reports::ScenarioRecord record;
  record.name = "engine/lost-update";
  record.expected = "check-failure";
  record.verdict = "check-failure";
  record.as_expected = true;
  record.strategy = "dfs";
  record.executions = 2;
  record.findings.push_back({"check-failure", "lost update", "check-failure|x.cpp:1", "f.json",
                             "handlecheck replay f.json"});
  const std::string seed = hc::reports::summary_json({record}).dump(2);
  Mutator m(3);
  for (int i = 0; i < n; ++i) {
    const std::string input = m.mutate(seed);
    try {
      std::string error;
      auto json = hc::reports::parse_summary_text(input, &error);
      if (!json) {
        EXPECT_FALSE(error.empty()) << "input " << i;
        continue;
      }
      const auto merged = hc::reports::merge_summaries({*json, *json}, &error);
      if (!merged) {
        EXPECT_FALSE(error.empty()) << "input " << i;
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "input " << i << ": " << e.what();
    }
  }
}

void fuzz_choice_strings(int n) {
  const std::string seed = "0.1.2.v1.v0.3.1.2.v4294967295.0";
  Mutator m(4);
  for (int i = 0; i < n; ++i) {
    const std::string input = m.mutate(seed);
    try {
      std::string error;
      const auto choices = hc::parse_choices(input, &error);
      if (!choices) {
        EXPECT_FALSE(error.empty()) << "input " << i;
        continue;
      }
      // Accepted: a replay of it either follows it or reports where it diverged.
      hc::ExploreOptions o;
      o.strategy = "replay";
      o.replay = *choices;
      if (o.replay.empty()) continue;
      (void)hc::explore(tiny_body, o);
    } catch (const hc::usage_error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "input " << i << ": " << e.what();
    }
  }
}

TEST(Fuzz, ReplayFiles) {
  fuzz_replay_files(inputs(false));
}
TEST(Fuzz, Checkpoints) {
  fuzz_checkpoints(inputs(false));
}
TEST(Fuzz, Summaries) {
  fuzz_summaries(inputs(false));
}
TEST(Fuzz, ChoiceStrings) {
  fuzz_choice_strings(inputs(false));
}

TEST(FuzzNightly, ReplayFiles) {
  fuzz_replay_files(inputs(true));
}
TEST(FuzzNightly, Checkpoints) {
  fuzz_checkpoints(inputs(true));
}
TEST(FuzzNightly, Summaries) {
  fuzz_summaries(inputs(true));
}
TEST(FuzzNightly, ChoiceStrings) {
  fuzz_choice_strings(inputs(true));
}

}  // namespace
