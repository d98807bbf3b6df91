// own_model_test.cpp — the README's "Writing a model of your own": a reference-counted resource
// modelled with hc::ModelCell. Each operation is one rt::model_op whose footprint names the
// cells it touches; dpor relies on those footprints, and the footprint audit checks them. The
// excerpt-begin/excerpt-end lines mark what the README shows (docs:readme-excerpts compares).
#include <gtest/gtest.h>

#include "hc/gtest.hpp"
#include "hc/hc.hpp"
#include "hc/model_cell.hpp"

namespace {

/// A resource with a reference count: AddRef, Release (the last one frees it) and Use, which
/// checks that the resource is not freed. `declare_freed` false is a model bug: Release then
/// leaves the cell it writes out of its footprint.
// excerpt-begin: model
class CountedResource {
  hc::ObjectId id_ = hc::rt::register_object(hc::ObjectKind::model, "resource");
  hc::ModelCell<int> count_{"refcount", 1};
  hc::ModelCell<bool> freed_{"freed", false};

 public:
  // Release: writes the count, and frees the resource when it drops to zero.
  void release() {
    const hc::Touch footprint[] = {count_.writes(), freed_.writes()};
    if (hc::rt::model_op(hc::Access::read_write, id_, footprint, "Release") == nullptr) return;
    if (--count_.write() == 0) freed_.set(true);
  }
  // excerpt-end: model

  void add_ref() {
    const hc::Touch footprint[] = {count_.writes()};
    if (hc::rt::model_op(hc::Access::read_write, id_, footprint, "AddRef") == nullptr) return;
    ++count_.write();
  }

  void use() {
    const hc::Touch footprint[] = {freed_.reads()};
    if (hc::rt::model_op(hc::Access::read, id_, footprint, "Use") == nullptr) return;
    HC_CHECK(!freed_.read(), "Use after the last Release freed the resource");
  }

  /// Release with a footprint that leaves out `freed`: what the audit catches.
  void release_undeclared() {
    const hc::Touch footprint[] = {count_.writes()};
    if (hc::rt::model_op(hc::Access::read_write, id_, footprint, "Release") == nullptr) return;
    if (--count_.write() == 0) freed_.set(true);
  }
};

/// The owner drops its reference while a user uses the resource; with `user_holds_reference`
/// the owner AddRefs for the user first and the user releases after its use.
void use_while_releasing(bool user_holds_reference) {
  CountedResource resource;
  if (user_holds_reference) resource.add_ref();
  hc::thread user("user", [&] {
    resource.use();
    if (user_holds_reference) resource.release();
  });
  hc::thread owner("owner", [&] { resource.release(); });
}

const hc::gtest::Options kDporAudited{.strategy = "dpor", .audit_footprints = true};

TEST(OwnModel, UseWithoutReferenceIsFound) {
  HC_EXPECT_FINDING(
      hc::FindingKind::check_failure, [] { use_while_releasing(false); }, kDporAudited);
}

TEST(OwnModel, UseUnderReferenceIsCleanOnEveryTrace) {
  HC_EXPECT_CLEAN([] { use_while_releasing(true); }, kDporAudited);
}

TEST(OwnModel, TheAuditCatchesAnUndeclaredWrite) {
  hc::ExploreOptions options;
  options.strategy = "dpor";
  options.audit_footprints = true;
  const hc::Result r = hc::explore(
      [] {
        CountedResource resource;
        resource.release_undeclared();
      },
      options);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings.front().kind, hc::FindingKind::internal_error);
  EXPECT_NE(r.findings.front().message.find("freed"), std::string::npos)
      << r.findings.front().message;
}

}  // namespace
