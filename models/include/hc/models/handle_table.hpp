// hc/models/handle_table.hpp — a simulated process handle table (Win32 HANDLEs or POSIX file
// descriptors) over reference-counted kernel objects (DOMAIN.md §6, §7).
//
//   hc::models::HandleTable table{{.style = hc::models::ValueStyle::win32}};
//   hc::models::RawHandle log = table.create(hc::models::ObjectType::file, "log");
//   table.write(log);                      // typed use: a scheduling point
//   table.close(log);                      // the value goes back to the free list
//   hc::models::RawHandle ready = table.create(hc::models::ObjectType::event, "ready");
//   table.write(log);  // finding: stale-handle-use, 0x4 now names Event 'ready' (LIFO reuse)
//
// Values. Win32: index << 2, 0 never valid, the two low tag bits ignored on lookup. POSIX: the
// descriptor number (0-2 are stdio, so the first open returns 3 by default). With
// `HandleTableOptions::stdio` 0-2 are ordinary descriptors of the table, pre-opened on File
// 'stdin', 'stdout' and 'stderr': close(0) then open() returns 0, as on Linux.
//
// POSIX descriptors (issue 18; DOMAIN.md §7, [MAN-DUP], fork(2), execve(2), fcntl(2)):
//
//   hc::models::HandleTable fds{{.style = ValueStyle::posix, .reuse = ReusePolicy::lowest_free,
//                                .stdio = true}};
//   RawHandle log = fds.create(ObjectType::file, "out.log", OpenFlags::cloexec);  // fd 3
//   fds.dup2(log, 1);                      // atomically: close fd 1, fd 1 -> out.log
//   RawHandle db = fds.create(ObjectType::file, "db");                            // fd 4
//   fds.set_cloexec(db);                   // fcntl(F_SETFD, FD_CLOEXEC): a separate step
//   std::unique_ptr<HandleTable> child = fds.fork("child");   // copies fds 0-4
//   child->exec("/bin/sh");                // closes the child's FD_CLOEXEC descriptors
//
// FD_CLOEXEC belongs to the descriptor, not to the open file description (the kernel object):
// a dup() of a CLOEXEC descriptor is not CLOEXEC, dup3(O_CLOEXEC) sets it on the new one. A
// child's descriptors refer to the parent's kernel objects (one more open handle each): the
// object lives while any process holds a descriptor for it.
// Intent (descriptor-inherited). The program says a descriptor is private to this process by
// calling fcntl(fd, F_SETFD, FD_CLOEXEC) on it (on any copy, at any time of the execution), or
// for every descriptor it opens at once with `HandleTableOptions::descriptors_private` (stdio
// 0-2 excepted: a redirected stdout is meant to be inherited). A descriptor meant private that
// an exec'd child still holds is a descriptor-inherited finding, reported at the exec when the
// intent is already known, else at the fcntl that states it: typically it was created without
// O_CLOEXEC and a concurrent fork copied it before the fcntl (corefx #14238, hiredis #555).
//
// Provenance. Every RawHandle the table hands out carries the slot and generation it was
// created for, who created it (thread, step, source line) and its owner label. Any use or
// close through a RawHandle is checked against the slot: a value whose generation was closed
// and that now names another object is a stale-handle-use (a double-close when closing) —
// the bug that is silent in production. A value that names nothing fails as Windows or POSIX
// fail (FALSE + ERROR_INVALID_HANDLE, -1 + EBADF); with `invalid_use = raise` (a debugger,
// gflags bhd, AppVerifier) it is a finding at once.
//
// Reuse policies (which free value the next allocation gets): see ReusePolicy.
//
// What it touches (the footprint each operation declares; dpor orders two steps only when
// their footprints share an object and one writes; the footprint audit checks every access).
// The table's state is in cells, one engine object each:
//   T      the table ("handle table 'NAME'", the object create and close are announced on):
//          every slot's current generation and kernel object, the slot count, the objects
//          created here (for open). Written only by what installs a handle (create, open,
//          duplicate into this table); read by every lookup.
//   S[s]   one per slot ("... slot 0x4"): the generation closed last (the slot is open while
//          T's generation is newer) and the threads waiting through it. Written by close and
//          by a wait; read by every lookup of that slot.
//   F      the free list(s) ("... free list"), the reuse policy's state.
//   K      one per kernel object ("File 'log'", the object typed uses are announced on): its
//          signal count and open-handle count. Type, name and reset mode never change.
//   E      a waitable kernel object's engine event.
// Operation (announced object, access; then the rest of its footprint) on a RawHandle h the
// table handed out (its provenance fixes the slot S[h] and the kernel object K(h) of its
// generation, whatever the table holds by the time the call runs: a stale value fails or is a
// finding and touches nothing else):
//   create / create_event   T write; F read-write. Which slot it takes depends on F, so it
//                           writes no slot cell: what it installs is in T (any slot: a sound
//                           over-approximation). The new K and E are born in the step.
//   create_child(p, ...)    as create, plus S[p] read, K(p) read (and K(p)'s parent, read).
//   Every use and close of a child handle also reads K(parent) (is the parent still open?).
//   open                    T write; every model object (kAllModelObjects): it searches every
//                           kernel object created here for a live one of that name.
//   duplicate(h, target)    target's T write; T read, S[h] read, K(h) read-write (one more
//                           handle), target's F read-write.
//   close(h)                T read; S[h] read-write, F read-write, K(h) read-write.
//   read / use              K(h) read;  T read, S[h] read.
//   write                   K(h) write; T read, S[h] read.
//   signal / reset          K(h) write; T read, S[h] read, E(h) write.
//   wait                    K(h) read;  T read, S[h] read-write (registers the waiter); then
//                           the blocked part: E sync; S[h] read-write, K(h) read-write.
//   --- POSIX descriptors (stdio, dup2/dup3, FD_CLOEXEC, fork, exec) ---
//   construction with stdio no scheduling point: the three stdio objects are born with the
//                           table, before any thread can see it.
//   create(..., OpenFlags)  as create; the descriptor's FD_CLOEXEC is in T (what install
//                           writes), so O_CLOEXEC costs nothing more.
//   dup2 / dup3(old, newfd) T write; every model object (kAllModelObjects): which object the
//                           number newfd names (and closes) is known only when the call runs.
//                           One step: nobody can take newfd between its close and its reuse.
//   set_cloexec(h)          (fcntl F_SETFD) T read; S[h] read-write (the descriptor flags of
//                           its generation live in S[h]); a bare number: every model object.
//   fork(name)              T read; every model object: it reads every slot and its flags and
//                           adds a handle to every open kernel object. The child table's cells
//                           are born in the step.
//   exit_process            T write; every model object: it closes every descriptor.
//   exec(program)           (on the child) T write; every model object: it closes the
//                           FD_CLOEXEC descriptors and checks what survives against the
//                           parent's intent (bookkeeping shared with the parent's descriptors,
//                           which fcntl in the parent also reads: both declare S or more).
// Table identity. A RawHandle remembers the table that handed it out. Passing it to another
// table is a bug the kernel cannot see: a handle value is an index into the handle table of the
// process that received it (DuplicateHandle's target value is valid only in the target process,
// §6.1), so in another table it names nothing or an unrelated object. Such a call is an
// invalid-handle-use finding whenever the number names an open object there (production would
// silently use or close that unrelated object), and, like any value that names nothing, under
// InvalidUse::raise otherwise (else it fails with ERROR_INVALID_HANDLE / EBADF).
// A value without this table's provenance (a bare number from value(), another table's value)
// names whatever its slot holds when the call runs, unknown when it is announced: such a call
// is announced on T (read) and declares every model object (kAllModelObjects); SetEvent,
// ResetEvent and a wait on such a value may touch an event known only then and declare no
// footprint (they conflict with everything). A number that can never name a slot (0, stdio)
// touches T only. Every footprint is thus a function of the call and its arguments, never of
// the table's state when the thread parked. Uses of different objects commute; a use commutes
// with a close of another slot, not with a create (which may recycle the use's slot); closes and
// creates all meet on F.
//
// GetLastError / errno are per thread, as on Windows and POSIX, and one value per thread
// whatever table set it (models::last_error(), kept by the engine as thread state): each
// thread's last error is touched by that thread only, so it is no dependence between threads
// and is not a cell.
//
// Finding bookkeeping (plain members): each slot's generations with their provenance, owner
// and closer, for messages and reports. What the table does reads only each generation's
// kernel object there (K(h)), which never changes once the generation exists.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hc/model_cell.hpp"
#include "hc/models/common.hpp"
#include "hc/operation.hpp"

namespace hc::models {

enum class ValueStyle : std::uint8_t { win32, posix };

/// Which free value the next allocation reuses.
enum class ReusePolicy : std::uint8_t {
  lifo,         // the most recently freed value first (Windows' normal mode: the worst case)
  nt_batched,   // NT's two free lists (§6.2): frees go to LastFree; when FirstFree is empty the
                // whole LastFree chain moves over at once, most recent first; grow if none
  strict_fifo,  // Application Verifier / handle tracing: the chain moves reversed (FIFO), and
                // only when at least `strict_fifo_min_free` entries are free; else grow
  lowest_free,  // POSIX: the lowest free number
  never,        // never reuse: every allocation takes a new value
  explore,      // which free value (or a new one) is an explored choice
};

std::string_view reuse_policy_name(ReusePolicy policy);

enum class ObjectType : std::uint8_t {
  file,
  event,
  mutex,
  semaphore,
  section,
  thread,
  process,
  user
};

std::string_view object_type_name(ObjectType type);  // "File", "Event", ...

/// What a call on a value that names nothing does.
/// The default is `raise`: a use of a closed value that names nothing is a bug whether or not
/// production notices, and `fail` would make it a silent error return that an exhaustive search
/// explores without a word. `fail` is for code whose error path is what is being tested (a
/// ReleaseHandle whose CloseHandle returns FALSE, a retry loop on EBADF).
enum class InvalidUse : std::uint8_t {
  fail,   // return FALSE + ERROR_INVALID_HANDLE (POSIX: -1 + EBADF), as in production
  raise,  // report an invalid-handle-use (or double-close) finding, as under a debugger
};

struct HandleTableOptions {
  ValueStyle style = ValueStyle::win32;
  ReusePolicy reuse = ReusePolicy::lifo;  // POSIX programs want lowest_free
  std::uint32_t strict_fifo_min_free = 100;
  std::uint32_t first_fd = 3;  // POSIX: the first descriptor an open returns
  InvalidUse invalid_use = InvalidUse::raise;
  bool report_leaks = true;   // handles still open when the table is destroyed are a finding
  bool fault_close = false;   // close may fail transiently (an explored fault): Win32 leaves the
                              // handle open; POSIX frees the number first, then says EINTR
  bool fault_create = false;  // create/open may fail (allocation failure, an explored fault)
  std::string_view name = "process";  // the table's name in reports
  // --- POSIX descriptors (issue 18) ---
  /// POSIX: descriptors 0-2 are ordinary numbers of the table, pre-opened on File 'stdin',
  /// 'stdout', 'stderr' (first_fd is then 0: the first open still returns 3). Descriptors 0-2
  /// open at the end are not leaks (a process exits with its stdio open).
  bool stdio = false;
  /// POSIX: every descriptor the program opens (0-2 excepted) is private to this process: one
  /// that an exec'd child still holds is a descriptor-inherited finding even if the program
  /// never called fcntl(F_SETFD) on it (the "never marked" O_CLOEXEC bug, libvips #2497).
  bool descriptors_private = false;
};

/// open()/socket()/pipe2() flags the model knows (POSIX).
enum class OpenFlags : std::uint32_t {
  none = 0,
  cloexec = 1,  // O_CLOEXEC / SOCK_CLOEXEC: FD_CLOEXEC set atomically with the new descriptor
};

/// Win32 error codes / errno values the model returns.
inline constexpr std::uint32_t kErrorSuccess = 0;
inline constexpr std::uint32_t kErrorInvalidHandle = 6;  // ERROR_INVALID_HANDLE
inline constexpr std::uint32_t kErrorNotEnoughMemory = 8;
inline constexpr std::uint32_t kErrorInvalidFunction = 1;
inline constexpr std::uint32_t kEBADF = 9;
inline constexpr std::uint32_t kEINTR = 4;
inline constexpr std::uint32_t kEMFILE = 24;
inline constexpr std::uint32_t kEINVAL = 22;

/// A raw handle value with its provenance: what CreateFile, open() or DangerousGetHandle give.
/// Copying it copies the number, as copying an IntPtr does; the provenance lets the table tell
/// a recycled value from an invalid one.
struct RawHandle {
  std::uint64_t value = 0;       // the number the program sees (0x1C, or fd 5)
  std::uint32_t slot = 0;        // 0: no slot (an invalid value, or made up by the program)
  std::uint32_t generation = 0;  // which opening of the slot this value came from
  std::string owner;             // who owns it ("" = nobody in particular)
  Provenance created;            // who created it, when and where
  ObjectId table = kNoObject;    // the table that handed it out (HandleTable::id())
  std::string_view table_name;   // that table's name (HandleTableOptions::name), for findings

  bool valid() const { return slot != 0; }
  friend bool operator==(const RawHandle& a, const RawHandle& b) {
    return a.value == b.value && a.slot == b.slot && a.generation == b.generation;
  }
};

/// GetLastError() / errno: the calling simulated thread's last error, set by the last call of
/// any handle table (or set_last_error) on this thread. One value per thread (DOMAIN.md §1.3,
/// §6.3), not per table: a failed CloseHandle on one table followed by a successful call on
/// another reads kErrorSuccess.
std::uint32_t last_error();
/// SetLastError(code) / errno = code on the calling simulated thread.
void set_last_error(std::uint32_t code);

/// Saves the calling thread's last error and restores it when the scope ends normally: the
/// runtime does this around ReleaseHandle (SafeHandle's InternalRelease, CriticalHandle's
/// Cleanup; DOMAIN.md §1.3 [RT-SH][CF-35612]), because ReleaseHandle can run implicitly while
/// another P/Invoke's result is being unmarshalled. The runtime's save and restore are two
/// statements around the call, not a finally block (`int lastError =
/// Marshal.GetLastPInvokeError(); ReleaseHandle(); Marshal.SetLastPInvokeError(lastError);`), so
/// when ReleaseHandle throws the error is left as it set it: so here.
class LastErrorPreserver {
 public:
  LastErrorPreserver() : saved_(last_error()), exceptions_(std::uncaught_exceptions()) {}
  ~LastErrorPreserver() {
    if (std::uncaught_exceptions() == exceptions_) set_last_error(saved_);
  }
  LastErrorPreserver(const LastErrorPreserver&) = delete;
  LastErrorPreserver& operator=(const LastErrorPreserver&) = delete;

 private:
  std::uint32_t saved_;
  int exceptions_;
};

/// The result of a call: ok, or the error code the API reports.
struct Status {
  bool ok = true;
  std::uint32_t error = kErrorSuccess;  // Win32 error or errno
  explicit operator bool() const { return ok; }
};

class HandleTable {
 public:
  explicit HandleTable(HandleTableOptions options = {},
                       const std::source_location& where = std::source_location::current());
  ~HandleTable();  // reports leaks (options.report_leaks)
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  /// CreateFile / CreateEvent / open(): a new kernel object and a handle to it. `owner` labels
  /// who must close it ("" = anyone). Fails (invalid RawHandle) only by an injected fault.
  RawHandle create(ObjectType type, std::string_view name, std::string_view owner = {},
                   const std::source_location& where = std::source_location::current());
  /// An event (manual or auto reset), initially set or not.
  RawHandle create_event(std::string_view name, bool manual_reset, bool initially_set,
                         std::string_view owner = {},
                         const std::source_location& where = std::source_location::current());
  /// A child object opened through `parent` (a handle of this table): a request through its
  /// connection or session (WinHttpOpenRequest), a registry subkey, a file through a directory
  /// handle. The child is usable only while its parent object is open (some handle names it):
  /// a use or close of the child after the parent's last handle closed is a
  /// child-used-after-parent-release finding naming both (B12). The parent value is resolved
  /// like any use (a stale or closed one fails or is a finding). Fails (invalid RawHandle and
  /// the last error) when `parent` names nothing.
  RawHandle create_child(const RawHandle& parent, ObjectType type, std::string_view name,
                         std::string_view owner = {},
                         const std::source_location& where = std::source_location::current());
  /// OpenEvent & co.: a new handle to an existing named object of this table.
  RawHandle open(std::string_view name, std::string_view owner = {},
                 const std::source_location& where = std::source_location::current());
  /// DuplicateHandle / dup(): a new handle, in `target` (this table or another), to the same
  /// kernel object; the object lives until its last handle closes.
  RawHandle duplicate(const RawHandle& source, HandleTable& target, std::string_view owner = {},
                      const std::source_location& where = std::source_location::current());

  /// CloseHandle / close(). `closer` is who closes it: closing a handle owned by someone else
  /// is a finding. A second close of the same generation is a double-close when the value now
  /// names another object (or always, with InvalidUse::raise).
  Status close(const RawHandle& handle, std::string_view closer = {},
               const std::source_location& where = std::source_location::current());

  /// Typed uses. A value of the wrong object type is a wrong-type-use finding.
  Status read(const RawHandle& h,
              const std::source_location& where = std::source_location::current());
  Status write(const RawHandle& h,
               const std::source_location& where = std::source_location::current());
  /// SetEvent / ReleaseMutex / ReleaseSemaphore.
  Status signal(const RawHandle& h,
                const std::source_location& where = std::source_location::current());
  /// ResetEvent.
  Status reset(const RawHandle& h,
               const std::source_location& where = std::source_location::current());
  /// WaitForSingleObject: blocks the simulated thread until the object is signalled. Closing
  /// the handle from another thread meanwhile is a close-while-waiting finding.
  /// POSIX tables (i18-io): the call is worded as a blocking read ("read", "read (blocked)"),
  /// and close() from another thread does not wake it, as on Linux (close(2) NOTES): no
  /// finding at the close; if nothing else wakes it, the deadlock finding's line for the
  /// waiter names the close and close(2)'s behaviour (see posix_io.hpp for pipes and sockets).
  Status wait(const RawHandle& h,
              const std::source_location& where = std::source_location::current());
  /// Any other call that takes the handle (a native API): only checks the value.
  Status use(const RawHandle& h, const char* api,
             const std::source_location& where = std::source_location::current());

  /// A value the program made up or read from somewhere, without provenance.
  RawHandle value(std::uint64_t number) const;

  // --- POSIX descriptors (issue 18): O_CLOEXEC, dup2/dup3, fcntl(F_SETFD), fork, exec -------
  /// open() with flags: OpenFlags::cloexec sets FD_CLOEXEC on the new descriptor in the same
  /// step (O_CLOEXEC).
  RawHandle create(ObjectType type, std::string_view name, OpenFlags flags,
                   std::string_view owner = {},
                   const std::source_location& where = std::source_location::current());
  /// dup2(old, newfd) (POSIX tables): one step that closes `newfd` if it is open and makes it
  /// refer to old's kernel object (FD_CLOEXEC clear): no other thread can take the number in
  /// between. old == newfd: nothing changes, returns old. An invalid old fails with EBADF and
  /// leaves newfd open. The descriptor it closes is closed by `owner` (a close-by-non-owner
  /// finding when it is owned by someone else), and the new one is owned by `owner`. A newfd
  /// below first_fd (0-2 without `stdio`) fails with EBADF.
  RawHandle dup2(const RawHandle& old, std::uint64_t newfd, std::string_view owner = {},
                 const std::source_location& where = std::source_location::current());
  /// dup3(old, newfd, flags): as dup2, FD_CLOEXEC set with OpenFlags::cloexec; old == newfd
  /// fails with EINVAL.
  RawHandle dup3(const RawHandle& old, std::uint64_t newfd, OpenFlags flags,
                 std::string_view owner = {},
                 const std::source_location& where = std::source_location::current());
  /// fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0): this descriptor's close-on-exec flag, a step of
  /// its own (the open-then-fcntl race with a concurrent fork). Setting it states that the
  /// descriptor is private (see the header, "Intent").
  Status set_cloexec(const RawHandle& h, bool on = true,
                     const std::source_location& where = std::source_location::current());
  /// fork(): a child process's table whose descriptors copy this table's at this step (same
  /// numbers, same FD_CLOEXEC flags), each referring to the same kernel object (one more handle
  /// each). The child is named `child` in reports (the string must outlive the table); its
  /// leftover descriptors are not reported as leaks (its program's business).
  std::unique_ptr<HandleTable> fork(
      std::string_view child, const std::source_location& where = std::source_location::current());
  /// execve() in a forked child: closes its FD_CLOEXEC descriptors; the rest are inherited by
  /// `program`. A descriptor meant private that survives is a descriptor-inherited finding.
  Status exec(std::string_view program,
              const std::source_location& where = std::source_location::current());
  /// _exit() of the process this table belongs to (a forked child, typically): one step that
  /// closes every descriptor it holds, so kernel objects that only it still held are released
  /// (a pipe's write end inherited by a child keeps the pipe open until the child exits).
  Status exit_process(const std::source_location& where = std::source_location::current());
  /// Inspection (no scheduling point): whether `h` (open) has FD_CLOEXEC; how many open
  /// descriptors (in every table) name the kernel object of `h`'s generation (a bare number:
  /// of the object it names now; 0 when it names nothing).
  bool cloexec(const RawHandle& h) const;
  std::uint32_t handle_count(const RawHandle& h) const;
  /// The stdio descriptor `fd` (0-2) as pre-opened (with provenance), for a `stdio` table.
  RawHandle stdio_handle(std::uint64_t fd) const;

  // --- inspection without scheduling points (tests, invariants, other models) ---------------
  std::size_t open_count() const;
  /// True while `h` (its slot and generation) is still open.
  bool is_open(const RawHandle& h) const;
  /// "File 'log'" for the object `h` names now ("" when it names nothing).
  std::string describe_object(const RawHandle& h) const;
  /// What happened to the value of `h`: created by ..., closed by ..., now ... (for reports).
  std::string history(const RawHandle& h) const;
  /// What history(h) refers to, appended to `refs` for a finding that quotes it: the steps it
  /// mentions in its order (each generation's creation, then its close), the objects of the
  /// value's generations (its owner and closer when they are objects of the execution, known
  /// by their labels, then the kernel object), then this table.
  void add_history_refs(const RawHandle& h, FindingRefs& refs) const;
  const HandleTableOptions& options() const { return options_; }
  /// models::last_error(): the calling thread's error code of its last call (GetLastError /
  /// errno: per thread, shared by every table), kErrorSuccess after success.
  std::uint32_t last_error() const { return models::last_error(); }
  ObjectId id() const { return table_.id(); }
  std::string format_value(std::uint64_t value) const;

  // --- For a model whose own operation takes a handle (async_io.hpp; added by i18-async) ------
  // Such a model announces ONE scheduling point whose footprint includes use_touches(h), then
  // calls use_in_step(h, ...) from it: the checks of use(h) without a scheduling point of their
  // own (a stale value is a stale-handle-use, a value that names nothing fails or is a finding).
  /// Writes into `out` what a use of `h` touches (T read, S[h] read, K(h) `access`, K(parent)
  /// read; a value without this table's provenance: kAllModelObjects) and returns the count
  /// (at most 4).
  std::size_t use_touches(const RawHandle& h, Access access, std::span<Touch> out) const;
  /// use(h, api)'s checks in the calling step (which declared use_touches(h)). Returns the
  /// handle with this table's provenance for the generation it names (`h` itself when it has
  /// it), or an invalid RawHandle and `*failure` (the last error is set) when it names nothing.
  RawHandle use_in_step(const RawHandle& h, const char* api, const std::source_location& where,
                        Status* failure);
  /// K(h): the engine object (cell) of the kernel object `h`'s generation names, for ever
  /// (`h` from this table: use_in_step's result).
  ObjectId kernel_object(const RawHandle& h) const;
  /// K(h)'s open-handle count, in any table (an audited read: the step declared K(h)).
  std::uint32_t kernel_handles(const RawHandle& h, const std::source_location& where =
                                                       std::source_location::current()) const;
  /// "File 'log'": the kernel object `h`'s generation names, whatever the slot holds now.
  std::string kernel_label(const RawHandle& h) const;
  // --- end of the i18-async additions ---------------------------------------------------------

  struct KernelObject;  // shared between tables by duplicate()
  struct Generation;    // one opening of a slot (finding bookkeeping)
  struct ForkNote;      // a descriptor copied by fork: its intent and the children that kept it

 private:
  /// T: what the slots hold (see the header).
  struct SlotEntry {
    std::uint32_t generation = 0;          // openings so far (0: never used)
    std::shared_ptr<KernelObject> object;  // the kernel object of the latest generation
    bool cloexec = false;  // POSIX: FD_CLOEXEC as installed (O_CLOEXEC, dup3, fork's copy)
  };
  struct TableState {
    std::vector<SlotEntry> slots;                        // index = slot number; slot 0 unused
    std::vector<std::shared_ptr<KernelObject>> objects;  // every object created here, in order
  };
  /// S[s].
  struct SlotState {
    std::uint32_t closed = 0;       // the latest generation closed (open while T's is newer)
    std::vector<ThreadId> waiters;  // threads waiting on the object through this slot
    // POSIX: fcntl(F_SETFD) on generation `flags_generation` set FD_CLOEXEC to `cloexec`
    // (it overrides T's flag for that generation only).
    std::uint32_t flags_generation = 0;
    bool cloexec = false;
  };
  /// F.
  struct FreeLists {
    std::vector<std::uint32_t> first;  // lifo / nt_batched / strict_fifo: allocation pops back
    std::vector<std::uint32_t> last;   // nt_batched / strict_fifo: frees push back
  };
  /// A footprint under construction (beside the announced object).
  struct Touches {
    std::array<Touch, kMaxExtraTouches> entries{};
    std::size_t size = 0;
    void add(ObjectId object, Access access);
    std::span<const Touch> view() const { return {entries.data(), size}; }
  };

  RawHandle create_object(ObjectType type, std::string_view name, bool manual_reset,
                          bool initially_set, std::string_view owner,
                          const std::source_location& where);
  RawHandle make_object(ObjectType type, std::string_view name, bool manual_reset,
                        bool initially_set, std::string_view owner,
                        const std::source_location& where, std::shared_ptr<KernelObject> parent,
                        std::uint64_t parent_value);
  /// A use or close of `child` (through `h`) while its parent has no open handle: the finding.
  /// Reads K(parent), which the caller's footprint declares.
  void check_parent(KernelObject& child, const RawHandle& h, const char* api, bool closing,
                    const std::source_location& where);
  std::uint32_t allocate_slot();
  void free_slot(std::uint32_t slot);
  RawHandle install(std::shared_ptr<KernelObject> object, bool counted, std::string_view owner,
                    const std::source_location& where);
  /// Whether `h` carries this table's provenance (a RawHandle it handed out): then what a call
  /// on it may touch is fixed (its slot, its generation's kernel object) whatever the state.
  bool own(const RawHandle& h) const { return h.slot != 0 && h.table == id(); }
  /// The slot a bare number would name in a table large enough (0: none, ever).
  std::uint32_t raw_slot(std::uint64_t value) const;
  /// The kernel object of `h`'s generation (`h` is own()).
  KernelObject* object_of(const RawHandle& h) const;
  /// The slot `h` designates, checked: 0 (and a status or a finding) when it does not name the
  /// object it was created for.
  std::uint32_t resolve(const RawHandle& h, const char* api, bool closing,
                        const std::source_location& where, Status* failure,
                        std::string_view closer = {});
  Status fail(const char* api, const RawHandle& h, const std::source_location& where, bool closing);
  /// A call on another table's value `h` (see the header, "Table identity"): a finding when the
  /// number names an open object here (`open_slot`, 0: none) or under InvalidUse::raise, else
  /// ERROR_INVALID_HANDLE / EBADF. Returns 0 (the call touches nothing).
  std::uint32_t foreign(const RawHandle& h, const char* api, bool closing,
                        const std::source_location& where, std::uint32_t open_slot,
                        Status* failure);
  /// One scheduling point for a typed use: `slot_access` on S[h], `access` on K(h) (and a write
  /// of E(h) when `event`). `*object` and `*slot`: what the value names, when the call succeeds.
  Status typed(const RawHandle& h, const char* api, Access access, std::uint32_t allowed,
               Access slot_access, bool event, const std::source_location& where,
               KernelObject** object, std::uint32_t* slot);
  std::uint64_t value_of(std::uint32_t slot) const;
  std::uint32_t slot_of(std::uint64_t value, std::size_t slots) const;
  bool open_now(std::uint32_t slot) const;  // no audit: inspection and reports
  void set_error(std::uint32_t code);

  // --- POSIX descriptors (issue 18; the block at the end of handle_table.cpp) ---
  struct ForkTag {};
  /// fork()'s child: the parent's options under another name, no stdio of its own, no leaks.
  HandleTable(ForkTag, const HandleTableOptions& parent, std::string_view child);
  /// The three stdio objects and descriptors, born with the table (stdio option).
  void open_stdio(const std::source_location& where);
  /// The close's bookkeeping for slot `s` (open) inside a step that declares S[s], K and F
  /// (dup2's implicit close, exec): the generation closed at `at` by `closer`.
  void drop(std::uint32_t s, const Provenance& at, std::string_view closer, bool free_number);
  /// FD_CLOEXEC of open slot `s` (reads T and S[s]).
  bool cloexec_of(std::uint32_t s) const;
  RawHandle dup_onto(const RawHandle& old, std::uint64_t newfd, bool dup3, bool cloexec,
                     std::string_view owner, const std::source_location& where);
  /// A descriptor-inherited finding for `note` (its first kept copy), at `where`.
  [[noreturn]] void report_inherited(const ForkNote& note, const std::source_location& where);
  /// options with `stdio` applied (first_fd 0), and T's initial value (the stdio slots).
  static HandleTableOptions effective_options(HandleTableOptions options);
  static TableState initial_table(const HandleTableOptions& options);
  /// A RawHandle with provenance for the current generation of slot `s`.
  RawHandle handle_of(std::uint32_t s) const;
  bool child_ = false;  // made by fork(): its descriptors' fate is its program's business

  HandleTableOptions options_;
  ModelCell<TableState> table_;  // T; its id is the table's engine object
  ModelCell<FreeLists> free_;    // F
  // S[s] (slot_cells_[0] is null). The vector grows with T's slots, in the step that writes T.
  std::vector<std::unique_ptr<ModelCell<SlotState>>> slot_cells_;
  // Finding bookkeeping: history_[s][g - 1] is generation g of slot s (for messages and
  // reports, and the kernel object a RawHandle's generation names, which never changes).
  std::vector<std::vector<Generation>> history_;
};

}  // namespace hc::models
