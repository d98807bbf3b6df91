// hc/models/user_memory.hpp — UserMemory: tracked memory of the user's own objects (a native
// buffer, a C++ object behind a wrapper, a block a finalizer frees), with the lifetime checks a
// debug heap or AddressSanitizer makes: a use after the owner freed it is a use_after_free
// finding, a second free a double_free finding, each naming who freed it and where (DOMAIN.md
// §10 B2: "native resource freed while call C still active").
//
//   hc::models::UserMemory pixels("pixels");   // allocated here (malloc / new), by this thread
//   pixels.read("sk_canvas_draw_bitmap");      // a read through the memory (a scheduling point)
//   pixels.write("sk_canvas_draw_bitmap");     // a write
//   pixels.free();                             // free / delete (a scheduling point)
//   // any read, write or free after that, on any thread:
//   //   use after free: 'pixels' used (write by sk_canvas_draw_bitmap) at scenario.cpp:41 by
//   //   thread 'main' (step 9), after thread 'finalizer' freed it at scenario.cpp:30 (step 7)
//
// One UserMemory is one allocation: constructing it allocates (the memory exists from that
// line on, owned by whoever holds it), free() ends it. The C++ object is never released by the
// model — "freed" is a state — so a late use is a finding, not a crash: keep the UserMemory
// alive (a local of the scenario, a member of the object that owns the memory) for as long as
// any thread may still touch it, and give the user's code a pointer or reference to it where
// it would hold the raw pointer. The `what` of read/write is a static string (the function or
// field that touches the memory); it names the use in traces and findings.
//
// Why in models/ and not in the engine: it is a model of a resource's lifetime like a handle
// table's slots (state in a cell, footprinted operations, findings in the domain's words),
// built on the same public model API (hc::ModelCell, rt::model_op, models/common.hpp); the
// engine stays free of lifetime semantics.
//
// What it touches (DPOR footprints, checked by the footprint audit). The allocation is one
// cell ("<name>: allocation": allocated or freed). Each operation announces that cell and
// touches nothing else:
//   read                       the allocation (read): two reads commute, a read and a free
//                              do not
//   write, free                the allocation (write)
// Construction is no operation (nobody else can reach the new memory yet, as for Gc::make).
// Finding bookkeeping (who allocated and freed it, and where) stays in plain members.
#pragma once

#include <optional>
#include <source_location>
#include <string>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"

namespace hc::models {

class UserMemory {
 public:
  /// Allocates the memory named `name` ("pixels", "SkBitmap 'b1' pixels") at `where`.
  explicit UserMemory(std::string name,
                      const std::source_location& where = std::source_location::current());
  UserMemory(const UserMemory&) = delete;
  UserMemory& operator=(const UserMemory&) = delete;

  /// A read through the memory; after free() a use_after_free finding.
  void read(const char* what = "read",
            const std::source_location& where = std::source_location::current());
  /// A write through the memory; after free() a use_after_free finding.
  void write(const char* what = "write",
             const std::source_location& where = std::source_location::current());
  /// free / delete: ends the allocation; a second free is a double_free finding.
  void free(const std::source_location& where = std::source_location::current());

  /// For a model whose own operation writes the memory (async_io.hpp: an I/O completion writing
  /// into a buffer or an OVERLAPPED): whether it is freed, read by the calling step, which
  /// declared this allocation (id(), write) in its footprint. No scheduling point, no finding:
  /// the caller reports in its own words.
  bool freed_in_step(const std::source_location& where = std::source_location::current()) const {
    return freed_.read(where);
  }

  // --- peeks (no scheduling point, not audited: tests, reports) --------------------------------
  const std::string& name() const noexcept { return name_; }
  bool freed() const noexcept { return freed_.peek(); }
  const Provenance& allocated_by() const noexcept { return allocated_by_; }
  const std::optional<Provenance>& freed_by() const noexcept { return freed_by_; }
  ObjectId id() const noexcept { return freed_.id(); }

 private:
  void use(Access access, const char* kind, const char* what, const std::source_location& where);

  std::string name_;
  hc::ModelCell<bool> freed_;  // the allocation: false while allocated
  // Finding bookkeeping.
  Provenance allocated_by_;
  std::optional<Provenance> freed_by_;
};

}  // namespace hc::models
