// hc/models/neuter.hpp — ICorDebug-style right-side objects and neutering (DOMAIN.md §4.1,
// §4.2): RsObject (CordbCommonBase: the 64-bit mixed reference count, the sticky neutered and
// NeuterAtWill bits, the method-call wrapper answering CORDBG_E_OBJECT_NEUTERED), strong
// children and weak back-pointers, NeuterList, LeftSideResourceCleanupList, LeftSideResource
// (a debuggee-side resource: GC handle, func-eval buffer), the DeferredCleanupQueue that fixes
// B18, and HandleValue (CordbHandleValue: Dispose, CORDBG_E_HANDLE_HAS_BEEN_DISPOSED).
//
//   hc::models::Process p("debuggee");                      // hc/models/process.hpp
//   hc::models::RsObject frame(p, "CordbILFrame", "frame");
//   frame.add_ref();                                         // the client's reference
//   p.add_refresh_stack_list("main").add(frame);            // internal reference
//   p.continue_();                                           // neuters frame
//   auto hr = frame.call("GetIP", hc::models::NeuterCheck::fail_if_neutered,
//                        [] { return hc::models::cordbg::S_OK; });
//   // hr == CORDBG_E_OBJECT_NEUTERED; with NeuterCheck::unchecked (a method that forgot
//   // FAIL_IF_NEUTERED) the success is a neutered_object_call finding.
//   frame.release();                                         // external 0: deleted
//
// Subclass RsObject for objects with duties: override on_neuter (release what you hold),
// neuter_left_side_resources (free debuggee resources: runs in sweeps, Stop-Go held) and, for
// buggy variants, on_final_external_release / on_destroy (they run in destructor context, where
// Neuter, IPC and left-side cleanup are heavy_cleanup_in_destructor findings).
//
// Findings: neutered_object_call (an unchecked method succeeding on a neutered object; any
// checked call when Process::neutered_calls is report; locks or IPC inside an OK_IF_NEUTERED
// method of a neutered object), refcount_underflow (an extra external or internal Release),
// use_after_destruction (a call, AddRef or Neuter on a deleted object),
// heavy_cleanup_in_destructor, left_side_cleanup_while_running, and check_failure for the
// product's debug asserts ("ICorDebug assertion failed": Neuter / NeuterAndClear without the
// process lock, deletion of an object that was never neutered, a cycle of strong references).
//
// What it touches (DPOR footprints, checked by the footprint audit). The model's state lives in
// cells (hc::ModelCell): per object its count word ("<type> <name>: count": the mixed count and
// the NeuterAtWill bit) and its state word ("...: state": the neutered and deleted bits, whether
// the weak back-pointer was released, the strong children); per list its nodes; per
// LeftSideResource whether it was freed; per DeferredCleanupQueue its items; per HandleValue
// whether its handle was cleared ("...: handle"); per Process its state (process.hpp). Each
// scheduling point names the cell it announces first:
//   RsObject::add_ref, internal_add_ref   the count word (read_write), the state word (read:
//                              a deleted object is a finding)
//   RsObject::release          the count word (read_write), plus final_release_footprint()
//                              (what on_final_external_release touches: a HandleValue's handle)
//   RsObject::internal_release the count word (read_write)
//   (deletion, when the whole count reaches 0) "delete": the state word (write); when the
//                              destructor body performed operations, "delete: destructor
//                              returned", the state word (write), marks it deleted
//   RsObject::neuter           the state word (write); then each strong child's operations
//   RsObject::call             the state word (read) at entry; then the body's operations
//   RsObject::query_neuter_at_will   the count word (read) and the state word (read)
//   RsObject::add_strong_child the child's InternalAddRef, which also writes this object's
//                              state word (its children)
//   NeuterList::add            process lock (sync), the list (write), the object's
//                              InternalAddRef, which also writes the list (the new node)
//   NeuterList::neuter_and_clear     the list (write), each node's neuter and internal release
//   NeuterList::sweep_all_neuter_at_will   process lock, the list (write), each node's
//                              IsNeuterAtWill, which also writes the list (a survivor goes
//                              back), and neuter + internal release of the dead ones
//   LeftSideResourceCleanupList::sweep_neuter_left_side_resources
//                              process state (read), process lock, the list (write: take the
//                              head), per node as above, process lock, the list (write: splice)
//   LeftSideResource::free     the resource (write), the process state (read: O5)
//   DeferredCleanupQueue::enqueue / drain   its leaf lock (sync), the queue (write), frees
//   HandleValue::dispose       Dispose's call (state word), Stop-Go, IsSynchronized (process
//                              state), process lock, "Dispose: clear the handle": the handle
//                              (read_write), then the GC handle's free
//   HandleValue::dereference   Dereference's call: the state word and the handle (read); then
//                              IsSynchronized
//   HandleValue::neuter_left_side_resources   "CordbHandleValue::NeuterLeftSideResources":
//                              the handle (read_write); the GC handle's free; process lock;
//                              Neuter
// Finding bookkeeping stays in plain members: who neutered or deleted an object and when, the
// Continue it was neutered at, who freed a resource; a weak back-pointer's target is
// configuration (set before the object is shared), its release is in the state word.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/operation.hpp"

namespace hc::models {

class Process;
class RSLock;

/// ICorDebug result codes (DOMAIN.md §8).
namespace cordbg {
using HRESULT = std::int32_t;
inline constexpr HRESULT S_OK = 0;
inline constexpr HRESULT S_FALSE = 1;
inline constexpr HRESULT E_FAIL = static_cast<HRESULT>(0x80004005u);
inline constexpr HRESULT CORDBG_E_PROCESS_TERMINATED = static_cast<HRESULT>(0x80131301u);
inline constexpr HRESULT CORDBG_E_PROCESS_NOT_SYNCHRONIZED = static_cast<HRESULT>(0x80131302u);
inline constexpr HRESULT CORDBG_E_OBJECT_NEUTERED = static_cast<HRESULT>(0x8013134Fu);
inline constexpr HRESULT CORDBG_E_PROCESS_DETACHED = static_cast<HRESULT>(0x80131335u);
inline constexpr HRESULT CORDBG_E_HANDLE_HAS_BEEN_DISPOSED = static_cast<HRESULT>(0x80131C01u);
/// A Continue with no outstanding stop (corerror.h: "Return from a call to Continue that was not
/// matched with a stopping event"; CordbProcess::ContinueInternal).
inline constexpr HRESULT CORDBG_E_SUPERFLOUS_CONTINUE = static_cast<HRESULT>(0x8013132Fu);
constexpr bool succeeded(HRESULT hr) noexcept {
  return hr >= 0;
}
/// "CORDBG_E_OBJECT_NEUTERED (0x8013134F)", "S_OK", or "0x80004005".
std::string hresult_name(HRESULT hr);
}  // namespace cordbg

/// How a method treats a neutered object (FAIL_IF_NEUTERED / OK_IF_NEUTERED), or `unchecked`:
/// an implementation that forgot the check (the buggy variants of B16).
enum class NeuterCheck : std::uint8_t { fail_if_neutered, ok_if_neutered, unchecked };

/// A right-side object (CordbCommonBase). Created with a count of 0 and not neutered; the
/// Process is its strong back-pointer (it must outlive the object). The C++ object is never
/// freed by the model: "deleted" is a state (signature 0x0dead0b1), so a late use is a
/// finding, not a crash.
class RsObject {
 public:
  static constexpr std::uint32_t kLiveSignature = 0x0d00d96a;
  static constexpr std::uint32_t kDeadSignature = 0x0dead0b1;

  RsObject(Process& process, std::string type_name, std::string name);
  virtual ~RsObject();
  RsObject(const RsObject&) = delete;
  RsObject& operator=(const RsObject&) = delete;

  // --- identity and peeks (no scheduling point, not audited: tests, reports) ----------------
  const std::string& type_name() const noexcept { return type_name_; }
  const std::string& name() const noexcept { return name_; }
  std::string description() const;  // "CordbILFrame 'frame'"
  Process& process() const noexcept { return process_; }
  std::uint64_t mixed_count() const noexcept { return count_.peek().count; }
  std::uint32_t external_count() const noexcept {
    return static_cast<std::uint32_t>(mixed_count() >> 32);
  }
  std::uint32_t internal_count() const noexcept {
    return static_cast<std::uint32_t>(mixed_count());
  }
  bool neutered() const noexcept { return state_.peek().neutered; }
  bool neuter_at_will() const noexcept { return count_.peek().neuter_at_will; }
  bool deleted() const noexcept { return state_.peek().deleted; }
  std::uint32_t signature() const noexcept { return deleted() ? kDeadSignature : kLiveSignature; }
  /// Who neutered it, and during which Continue (0: not during a Continue).
  const std::optional<Provenance>& neutered_by() const noexcept { return neutered_by_; }
  std::uint32_t neutered_at_continue() const noexcept { return neutered_at_continue_; }
  const std::optional<Provenance>& deleted_by() const noexcept { return deleted_by_; }
  ObjectId count_id() const noexcept { return count_.id(); }
  ObjectId state_id() const noexcept { return state_.id(); }

  // --- reference counts (§4.1) -----------------------------------------------------------------
  /// External AddRef (BaseAddRef); returns the external count.
  std::uint32_t add_ref(const std::source_location& where = std::source_location::current());
  /// External Release (BaseRelease); returns the external count. At external 0 it sets
  /// NeuterAtWill and runs on_final_external_release (destructor context); at whole 0 the
  /// object is deleted. An extra Release is refcount_underflow (the product asserts and
  /// ignores it, returning 0).
  std::uint32_t release(const std::source_location& where = std::source_location::current());
  void internal_add_ref(const std::source_location& where = std::source_location::current());
  void internal_release(const std::source_location& where = std::source_location::current());
  /// Reads the count word: NeuterAtWill or already neutered (what sweeps ask).
  bool query_neuter_at_will(const std::source_location& where = std::source_location::current());

  // --- neutering -------------------------------------------------------------------------------
  /// Neuter(): idempotent, under the process lock (asserted). Sets the sticky bit, runs
  /// on_neuter, releases the weak back-pointer, neuters and releases every strong child.
  void neuter(const std::source_location& where = std::source_location::current());
  /// NeuterLeftSideResources(): called by the LeftSideResource sweep (Stop-Go held, process
  /// lock not held). The default neuters under the process lock.
  virtual void neuter_left_side_resources(
      const std::source_location& where = std::source_location::current());

  // --- object graph ----------------------------------------------------------------------------
  /// A strong child: an internal reference, neutered and released by this object's Neuter.
  void add_strong_child(RsObject& child,
                        const std::source_location& where = std::source_location::current());
  /// A peek (tests).
  const std::vector<RsObject*>& strong_children() const noexcept { return state_.peek().children; }
  /// A weak back-pointer (no reference), nulled by this object's Neuter, i.e. by its parent's.
  /// Configuration: set it before the object is shared (in the constructor).
  void set_weak_back_pointer(RsObject* target) noexcept { weak_ = target; }
  /// Peeks the state word: call it from the object's own destructor (on_destroy runs in its
  /// "delete" step, which writes the state word) or when no other thread runs.
  RsObject* weak_back_pointer() const noexcept {
    return state_.peek().weak_released ? nullptr : weak_;
  }

  // --- methods ---------------------------------------------------------------------------------
  /// Calls `body` (returning an HRESULT) as the method `method` (a static string) of this
  /// object. fail_if_neutered: a neutered object answers CORDBG_E_OBJECT_NEUTERED without
  /// running the body (or, with Process::neutered_calls == report, a neutered_object_call
  /// finding). ok_if_neutered: the body runs; inside it locks and IPC are findings. unchecked:
  /// the body runs, and if it succeeds on a neutered object that is a neutered_object_call.
  /// A call on a deleted object is use_after_destruction.
  template <class Body>
  cordbg::HRESULT call(const char* method, NeuterCheck check, Body&& body,
                       const std::source_location& where = std::source_location::current()) {
    return call_touching(method, check, {}, std::forward<Body>(body), where);
  }

 protected:
  /// call(), for a body that reads model state of the object before its first operation:
  /// `also` (at most kMaxExtraTouches entries; the call announces the state word) joins the
  /// entry's footprint (it must outlive the entry's scheduling point).
  template <class Body>
  cordbg::HRESULT call_touching(const char* method, NeuterCheck check, std::span<const Touch> also,
                                Body&& body, const std::source_location& where) {
    cordbg::HRESULT refused = cordbg::S_OK;
    const CallTicket ticket = enter_call(method, check, also, refused, where);
    if (ticket.entry == CallEntry::refused) return refused;
    const cordbg::HRESULT hr = std::forward<Body>(body)();
    leave_call(method, ticket, hr, where);
    return hr;
  }

  /// What on_final_external_release touches (runs inside the Release step): joins Release's
  /// footprint. At most kMaxExtraTouches entries; the storage must live as long as the object.
  virtual std::span<const Touch> final_release_footprint() const { return {}; }

  /// The derived part of Neuter (release what the object holds); runs once, process lock held.
  virtual void on_neuter(const std::source_location& /*where*/) {}
  /// Runs when the external count reaches 0, in destructor context: keep it trivial.
  virtual void on_final_external_release(const std::source_location& /*where*/) {}
  /// The destructor: runs when the whole count reaches 0, in destructor context.
  virtual void on_destroy(const std::source_location& /*where*/) {}

 private:
  enum class CallEntry : std::uint8_t { normal, refused, neutered_ok, neutered_unchecked };
  struct CallTicket {
    CallEntry entry = CallEntry::normal;
    std::uint32_t step = 0;
    const RsObject* previous_object = nullptr;
    const char* previous_method = nullptr;
  };
  CallTicket enter_call(const char* method, NeuterCheck check, std::span<const Touch> also,
                        cordbg::HRESULT& refused, const std::source_location& where);
  void leave_call(const char* method, const CallTicket& ticket, cordbg::HRESULT hr,
                  const std::source_location& where);
  void destroy(const std::source_location& where);
  /// InternalAddRef whose step also touches `also` (the list or parent the new reference is
  /// stored in, written by the caller right after); false during teardown.
  bool internal_add_ref_touching(Touch also, const std::source_location& where);
  /// IsNeuterAtWill whose step also touches `also`.
  bool query_neuter_at_will_touching(Touch also, const std::source_location& where);
  /// `on`: the engine object of the operation that used it (its count or its state).
  [[noreturn]] void report_deleted_use(const char* what, ObjectId on,
                                       const std::source_location& where);
  bool reaches(const RsObject* target) const;  // peeks (the cycle assert)

  friend class NeuterList;
  friend class LeftSideResourceCleanupList;

  /// The count word (CordbCommonBase::m_RefCount and the NeuterAtWill bit).
  struct CountWord {
    std::uint64_t count = 0;  // high 32 external, low 32 internal
    bool neuter_at_will = false;
  };
  /// The state word: the sticky bits, the weak pointer's release and the strong children.
  struct StateWord {
    bool neutered = false;
    bool deleted = false;  // signature 0x0dead0b1
    bool weak_released = false;
    std::vector<RsObject*> children;
  };

  Process& process_;
  std::string type_name_;
  std::string name_;
  hc::ModelCell<CountWord> count_;
  hc::ModelCell<StateWord> state_;
  RsObject* weak_ = nullptr;  // configuration (see set_weak_back_pointer)
  // Finding bookkeeping.
  std::uint32_t neutered_at_continue_ = 0;
  std::optional<Provenance> neutered_by_;
  std::optional<Provenance> deleted_by_;
};

/// A NeuterList: objects queued to be neutered at a safe time, each node holding an internal
/// reference. Nodes are neutered newest first (the product's singly linked list).
class NeuterList {
 public:
  NeuterList(Process& process, std::string name);
  virtual ~NeuterList();
  NeuterList(const NeuterList&) = delete;
  NeuterList& operator=(const NeuterList&) = delete;

  const std::string& name() const noexcept { return name_; }
  /// Peeks (tests; a program deciding on them must hold the process lock, which every change of
  /// the list holds).
  std::size_t size() const noexcept { return nodes_.peek().size(); }
  bool empty() const noexcept { return nodes_.peek().empty(); }
  bool contains(const RsObject& object) const noexcept;
  ObjectId id() const noexcept { return nodes_.id(); }

  /// Add: takes the process lock, takes an internal reference.
  void add(RsObject& object, const std::source_location& where = std::source_location::current());
  /// NeuterAndClear: requires the process lock; neuters and releases every node.
  void neuter_and_clear(const std::source_location& where = std::source_location::current());
  /// SweepAllNeuterAtWillObjects: takes the process lock; neuters and releases the nodes whose
  /// object is NeuterAtWill or already neutered, keeps the others.
  void sweep_all_neuter_at_will(
      const std::source_location& where = std::source_location::current());

 protected:
  Process& process_;
  std::string name_;
  hc::ModelCell<std::vector<RsObject*>> nodes_;  // oldest first
};

/// The LeftSideResourceCleanupList: objects holding debuggee-side resources.
class LeftSideResourceCleanupList : public NeuterList {
 public:
  using NeuterList::NeuterList;
  /// SweepNeuterLeftSideResources: requires the Stop-Go lock, a synchronized process and not
  /// the process lock (else left_side_cleanup_while_running); takes the head under the process
  /// lock, releases it, calls NeuterLeftSideResources on each NeuterAtWill / neutered node and
  /// releases it, then splices the survivors back under the lock.
  void sweep_neuter_left_side_resources(
      const std::source_location& where = std::source_location::current());
  /// NeuterLeftSideResources on every node and clear (Exit / Detach), same preconditions.
  void neuter_left_side_resources_and_clear(
      const std::source_location& where = std::source_location::current());

 private:
  void sweep(bool all, const char* label, const std::source_location& where);
};

/// A debuggee-side ("left-side") resource: a GC handle, a func-eval buffer. free() is the IPC
/// that releases it, allowed only under O5 (stopped, Stop-Go held, process lock not held) and
/// never from a destructor.
class LeftSideResource {
 public:
  LeftSideResource(Process& process, std::string name);  // name: "GC handle 'hv'"
  LeftSideResource(const LeftSideResource&) = delete;
  LeftSideResource& operator=(const LeftSideResource&) = delete;

  const std::string& name() const noexcept { return name_; }
  bool freed() const noexcept { return freed_.peek(); }  // a peek (tests)
  const std::optional<Provenance>& freed_by() const noexcept { return freed_by_; }
  ObjectId id() const noexcept { return freed_.id(); }
  /// Frees it (checks O5 and the destructor context). False if it was already freed.
  bool free(const std::source_location& where = std::source_location::current());

 private:
  Process& process_;
  std::string name_;
  hc::ModelCell<bool> freed_;
  std::optional<Provenance> freed_by_;  // finding bookkeeping
};

/// The fix of B18: a Release or destructor does not free debuggee resources, it queues them
/// here (cheap: a leaf lock, allowed anywhere); the next safe point (Continue, Exit, Detach)
/// privatizes the queue under that small lock and frees the resources outside it.
class DeferredCleanupQueue {
 public:
  DeferredCleanupQueue(Process& process, std::string name);
  ~DeferredCleanupQueue();
  DeferredCleanupQueue(const DeferredCleanupQueue&) = delete;
  DeferredCleanupQueue& operator=(const DeferredCleanupQueue&) = delete;

  std::size_t size() const noexcept { return items_.peek().size(); }  // peeks (tests)
  bool empty() const noexcept { return items_.peek().empty(); }
  ObjectId id() const noexcept { return items_.id(); }
  RSLock& lock() noexcept { return *lock_; }

  void enqueue(LeftSideResource& resource,
               const std::source_location& where = std::source_location::current());
  /// Frees everything queued (each free checks O5: call it at a safe point).
  void drain(const std::source_location& where = std::source_location::current());

 private:
  Process& process_;
  std::string name_;
  hc::ModelCell<std::vector<LeftSideResource*>> items_;
  std::unique_ptr<RSLock> lock_;
};

/// CordbHandleValue: a value that owns a GC handle in the debuggee and lives across Continue.
/// Construction creates the handle and puts the object on the process's LeftSideResource list.
class HandleValue : public RsObject {
 public:
  /// What the final external Release does with the GC handle.
  enum class ReleaseCleanup : std::uint8_t {
    deferred,         // the fix: NeuterAtWill only; the LeftSideResource sweep frees it later
    free_in_release,  // the v1.0 bug: frees it inside Release, on whatever thread releases
  };

  HandleValue(Process& process, std::string name, ReleaseCleanup cleanup = ReleaseCleanup::deferred,
              const std::source_location& where = std::source_location::current());

  /// ICorDebugHandleValue::Dispose: FAIL_IF_NEUTERED; CORDBG_E_PROCESS_NOT_SYNCHRONIZED when
  /// running; CORDBG_E_HANDLE_HAS_BEEN_DISPOSED the second time; else takes Stop-Go, clears the
  /// handle under the process lock and frees the GC handle (IPC) outside it.
  cordbg::HRESULT dispose(const std::source_location& where = std::source_location::current());
  /// ICorDebugReferenceValue::Dereference: FAIL_IF_NEUTERED;
  /// CORDBG_E_HANDLE_HAS_BEEN_DISPOSED after Dispose; CORDBG_E_PROCESS_NOT_SYNCHRONIZED when
  /// running; else S_OK.
  cordbg::HRESULT dereference(const std::source_location& where = std::source_location::current());
  // Both, on a handle value already disposed, are a handle_used_after_dispose finding unless
  // Process::disposed_handle_calls is return_hresult (B17: a variables cache that still holds
  // the disposed value; the message names the Dispose and the stuck-suspended outcome).

  bool disposed() const noexcept { return disposed_.peek(); }  // a peek (tests)
  /// Who disposed the handle (Dispose, a sweep's cleanup, a final Release), if it was.
  const std::optional<Provenance>& disposed_by() const noexcept { return disposed_by_; }
  LeftSideResource& gc_handle() noexcept { return gc_handle_; }

  void neuter_left_side_resources(
      const std::source_location& where = std::source_location::current()) override;

 protected:
  void on_final_external_release(const std::source_location& where) override;
  std::span<const Touch> final_release_footprint() const override { return {&handle_touch_, 1}; }

 private:
  ReleaseCleanup cleanup_;  // configuration
  LeftSideResource gc_handle_;
  /// A call `method` on the disposed handle: the finding (policy report), at the current step.
  void disposed_use(const char* method, const std::source_location& where) const;
  void mark_disposed(const char* how, const std::source_location& where);

  hc::ModelCell<bool> disposed_;  // the handle was cleared (Dispose or cleanup)
  Touch handle_touch_;            // disposed_, read_write: the final Release's extra footprint
  // Finding bookkeeping: who cleared the handle, and how ("Dispose", "the Continue sweep").
  std::optional<Provenance> disposed_by_;
  const char* disposed_how_ = "";
};

}  // namespace hc::models
