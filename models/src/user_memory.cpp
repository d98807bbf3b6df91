// Tracked user memory (hc/models/user_memory.hpp).
#include "hc/models/user_memory.hpp"

#include <span>

#include <fmt/format.h>

#include "hc/runtime.hpp"

namespace hc::models {

namespace {

/// "allocated by thread 'main' at scenarios/x.cpp:12" (construction is no step: no step number).
std::string allocated_text(const Provenance& p) {
  return fmt::format("allocated by thread '{}' at {}", p.thread_name, site(p.where));
}

}  // namespace

UserMemory::UserMemory(std::string name, const std::source_location& where)
    : name_(std::move(name)), freed_(name_ + ": allocation", false) {
  if (rt::in_execution()) allocated_by_ = here(where);
}

void UserMemory::read(const char* what, const std::source_location& where) {
  use(Access::read, "read", what, where);
}

void UserMemory::write(const char* what, const std::source_location& where) {
  use(Access::read_write, "write", what, where);
}

void UserMemory::use(Access access, const char* kind, const char* what,
                     const std::source_location& where) {
  if (rt::model_op(access, freed_.id(), std::span<const Touch>{}, what, where) == nullptr) return;
  if (!freed_.read()) return;
  const Provenance now = here(where);
  const Provenance& by = *freed_by_;
  report(FindingKind::use_after_free,
         fmt::format("use after free: '{}' used ({} by {}) at {} by thread '{}' (step {}), after "
                     "thread '{}' freed it at {} (step {}); it was {}. In production the access "
                     "lands on freed or reused heap memory: a crash or a corruption with a "
                     "different victim each run",
                     name_, kind, what, site(where), now.thread_name, now.step, by.thread_name,
                     site(by.where), by.step, allocated_text(allocated_by_)),
         where, fmt::format("use-after-free|{}|{}|{}", name_, site(where), site(by.where)),
         {.steps = {now.step, by.step}, .objects = {freed_.id()}});
}

void UserMemory::free(const std::source_location& where) {
  if (rt::model_op(Access::read_write, freed_.id(), std::span<const Touch>{}, "free", where) ==
      nullptr)
    return;
  if (freed_.read()) {
    const Provenance now = here(where);
    const Provenance& by = *freed_by_;
    report(FindingKind::double_free,
           fmt::format("double free: '{}' freed at {} by thread '{}' (step {}), after thread '{}' "
                       "already freed it at {} (step {}); it was {}. In production the heap's "
                       "free list is corrupted: a later allocation can hand the same block to "
                       "two owners",
                       name_, site(where), now.thread_name, now.step, by.thread_name,
                       site(by.where), by.step, allocated_text(allocated_by_)),
           where, fmt::format("double-free|{}|{}|{}", name_, site(where), site(by.where)),
           {.steps = {now.step, by.step}, .objects = {freed_.id()}});
  }
  freed_.set(true);
  freed_by_ = here(where);
}

}  // namespace hc::models
