// dpor's wakeup trees (strategy/dpor_search.hpp): following a sequence takes the subtree's
// storage (WakeupTree::take_below) instead of copying it (copy_below), and must leave both
// trees as the copy would: the new one with the subtree, the one it was taken from with its
// branch as a leaf, its version and its counts of sequences added below the branch.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "strategy/dpor_search.hpp"

namespace {

using hc::detail::dpor::Ev;
using hc::detail::dpor::WakeupTree;

Ev ev(hc::ThreadId t) {
  Ev e;
  e.thread = t;
  return e;
}

/// The tree below node `n` as text: each child's thread, then its subtree in brackets.
std::string shape(const WakeupTree& tree, std::uint32_t n = 0) {
  std::string s;
  for (std::uint32_t c : tree.nodes[n].children) {
    s += fmt::format("{}", tree.nodes[c].ev.thread);
    if (!tree.nodes[c].children.empty()) s += "[" + shape(tree, c) + "]";
    s += " ";
  }
  return s;
}

/// A decision's tree whose root has one branch, thread 1, followed by 2 and then either 3 (with
/// 0 after it) or 0: root -> 1 -> 2 -> {3 -> 0, 0}. Returns the node of 2 (what is followed).
std::uint32_t one_branch(WakeupTree& tree, std::uint32_t& branch) {
  branch = tree.add_child(0, ev(1));
  const std::uint32_t two = tree.add_child(branch, ev(2));
  tree.add_child(tree.add_child(two, ev(3)), ev(0));
  tree.add_child(two, ev(0));
  tree.added_below(branch);
  tree.added_below(branch);
  return two;
}

TEST(WakeupTree, TakingTheSubtreeLeavesWhatCopyingIt) {
  WakeupTree copied_from;
  std::uint32_t branch = 0;
  const std::uint32_t at = one_branch(copied_from, branch);
  WakeupTree copy;
  copy.copy_below(copied_from, at);

  WakeupTree taken_from;
  const std::uint32_t at2 = one_branch(taken_from, branch);
  const std::uint64_t version = taken_from.version;
  WakeupTree taken;
  const std::uint32_t leaf = taken.take_below(taken_from, at2);

  EXPECT_EQ(shape(copy), "3[0 ] 0 ");
  EXPECT_EQ(shape(taken), shape(copy));
  // The tree it was taken from: its root and its branch, now a leaf, named by `leaf`.
  EXPECT_EQ(shape(taken_from), "1 ");
  ASSERT_EQ(taken_from.nodes[0].children.size(), 1u);
  EXPECT_EQ(taken_from.nodes[0].children.front(), leaf);
  EXPECT_EQ(taken_from.nodes[leaf].ev.thread, 1);
  EXPECT_EQ(taken_from.version, version);
  EXPECT_EQ(taken_from.additions_below(leaf), 2u);
  // Both trees go on growing independently.
  taken_from.add_child(0, ev(4));
  taken.add_child(0, ev(5));
  EXPECT_EQ(shape(taken_from), "1 4 ");
  EXPECT_EQ(shape(taken), "3[0 ] 0 5 ");
}

}  // namespace
