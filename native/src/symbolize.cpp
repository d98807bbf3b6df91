// symbolize.cpp — return addresses to the call sites the engine prints (native_state.hpp, site()).
//
// libdw (elfutils) reads the DWARF of every module mapped into the process, in process: the line
// table gives the innermost frame at a pc, the inlined-subroutine scopes (dwarf_getscopes) the
// call sites of the frames around it. An `addr2line -i` child per pc was the alternative; it
// costs a process start (milliseconds) per pc instead of microseconds, and a fork from a fiber.
// Each pc is resolved once per process: a small per-OS-thread table in front of a global one
// (under a spin lock: the workers of --jobs share it; libdw's Dwfl is not thread-safe).
//
// std::source_location has no public constructor from a file and a line. The engine takes
// std::source_location everywhere, so sites are made the way the compiler makes them: a
// std::source_location is one pointer to a record {file, function, line, column}
// (libstdc++ 12, <source_location>: `const __impl* _M_impl`). LocationRecord has that layout;
// the static_asserts below and native_test's SourceLocationLayout test check it.
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <execinfo.h>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "native_state.hpp"

namespace hc::native::detail {
namespace {

/// libstdc++'s std::source_location::__impl, field for field.
struct LocationRecord {
  const char* file;
  const char* function;
  unsigned line;
  unsigned column;
};
static_assert(sizeof(std::source_location) == sizeof(const LocationRecord*),
              "std::source_location is one pointer to its record (libstdc++)");

std::source_location make_location(const LocationRecord* record) {
  std::source_location where;
  std::memcpy(static_cast<void*>(&where), static_cast<const void*>(&record), sizeof record);
  return where;
}

struct Frame {
  std::string file;
  unsigned line = 0;
};

/// Whether a frame is library code the user did not write: the standard library's headers
/// and the system's.
bool system_file(std::string_view file) {
  return file.empty() || file.starts_with("/usr/include/") || file.starts_with("/usr/lib/") ||
         file.find("/include/c++/") != std::string_view::npos;
}

/// A spin lock that calls nothing: a std::mutex would go through the interposers.
class SpinLock {
 public:
  void lock() noexcept {
    while (flag_.test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock() noexcept { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

class Symbolizer {
 public:
  /// The frames of pc's inlined chain, innermost first; empty when nothing is known.
  std::vector<Frame> frames(std::uintptr_t pc) {
    std::vector<Frame> out;
    if (!open()) return out;
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_addrdie(dwfl_, pc, &bias);
    if (cu == nullptr) return out;
    const char* comp_dir = nullptr;
    Dwarf_Attribute attr;
    if (dwarf_attr(cu, DW_AT_comp_dir, &attr) != nullptr) comp_dir = dwarf_formstring(&attr);
    Frame innermost;
    if (Dwfl_Line* line = dwfl_getsrc(dwfl_, pc)) {
      int lineno = 0;
      if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
        innermost.file = absolute(file, comp_dir);
        innermost.line = static_cast<unsigned>(lineno);
      }
    }
    out.push_back(std::move(innermost));
    // dwarf_getscopes gives the innermost inlined instance and then its abstract origin's
    // scopes; the instances around it are the concrete parents of that DIE
    // (dwarf_getscopes_die), one inlining level at a time.
    Dwarf_Die* scopes = nullptr;
    const int n = dwarf_getscopes(cu, pc - bias, &scopes);
    Dwarf_Files* files = nullptr;
    std::size_t n_files = 0;
    if (n > 0 && dwarf_getsrcfiles(cu, &files, &n_files) == 0) {
      Dwarf_Die instance;
      bool found = false;
      for (int i = 0; i < n && !found; ++i) {
        const int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_subprogram) break;
        if (tag == DW_TAG_inlined_subroutine) {
          instance = scopes[i];
          found = true;
        }
      }
      while (found) {
        Dwarf_Attribute a;
        Dwarf_Word file_index = 0, line = 0;
        if (dwarf_formudata(dwarf_attr(&instance, DW_AT_call_file, &a), &file_index) != 0 ||
            dwarf_formudata(dwarf_attr(&instance, DW_AT_call_line, &a), &line) != 0 ||
            file_index >= n_files)
          break;
        const char* file = dwarf_filesrc(files, file_index, nullptr, nullptr);
        out.push_back(Frame{file != nullptr ? absolute(file, comp_dir) : std::string(),
                            static_cast<unsigned>(line)});
        Dwarf_Die* parents = nullptr;
        const int m = dwarf_getscopes_die(&instance, &parents);
        found = false;
        for (int i = 1; i < m && !found; ++i) {
          const int tag = dwarf_tag(&parents[i]);
          if (tag == DW_TAG_subprogram) break;
          if (tag == DW_TAG_inlined_subroutine) {
            instance = parents[i];
            found = true;
          }
        }
        free(parents);  // NOLINT: libdw's malloc'd array
      }
    }
    free(scopes);  // NOLINT: libdw's malloc'd array
    return out;
  }

  /// "libfoo.so+0x1a2b": a pc without line information, module-relative (no address).
  std::string module_offset(std::uintptr_t pc) {
    if (!open()) return "?";
    Dwfl_Module* module = dwfl_addrmodule(dwfl_, pc);
    if (module == nullptr) return "?";
    Dwarf_Addr start = 0;
    const char* name =
        dwfl_module_info(module, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
    std::string_view base = name != nullptr ? name : "?";
    if (const std::size_t slash = base.find_last_of('/'); slash != std::string_view::npos)
      base.remove_prefix(slash + 1);
    return fmt::format("{}+{:#x}", base, pc - start);
  }

  /// Opens every loaded module's ELF and debug information now. libdw keeps their files open:
  /// done lazily, inside an execution, that would shift the descriptor numbers the code under
  /// test gets (descriptors.cpp) between an execution and its re-run.
  void load_all_modules() {
    if (!open()) return;
    dwfl_getmodules(
        dwfl_,
        [](Dwfl_Module* module, void**, const char*, Dwarf_Addr, void*) {
          Dwarf_Addr bias = 0;
          (void)dwfl_module_getdwarf(module, &bias);
          return static_cast<int>(DWARF_CB_OK);
        },
        nullptr, 0);
  }

 private:
  bool open() {
    if (tried_) return dwfl_ != nullptr;
    tried_ = true;
    static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = nullptr,
        .debuginfo_path = nullptr,
    };
    dwfl_ = dwfl_begin(&callbacks);
    if (dwfl_ == nullptr) return false;
    if (dwfl_linux_proc_report(dwfl_, getpid()) != 0 || dwfl_report_end(dwfl_, nullptr, nullptr)) {
      dwfl_end(dwfl_);
      dwfl_ = nullptr;
    }
    return dwfl_ != nullptr;
  }

  static std::string absolute(const char* file, const char* comp_dir) {
    std::filesystem::path p(file);
    if (p.is_relative() && comp_dir != nullptr) p = std::filesystem::path(comp_dir) / p;
    return p.lexically_normal().string();
  }

  Dwfl* dwfl_ = nullptr;
  bool tried_ = false;
};

struct Global {
  SpinLock lock;
  Symbolizer symbolizer;
  std::unordered_map<std::uintptr_t, const LocationRecord*> by_pc;
  std::unordered_map<std::uintptr_t, bool> system_pc;  // pc's own chain is library code only
  std::deque<LocationRecord> records;                  // never freed: sites outlive executions
  std::deque<std::string> strings;
  std::unordered_map<std::string, const char*> interned;

  const char* intern(const std::string& s) {
    auto it = interned.find(s);
    if (it != interned.end()) return it->second;
    const char* c = strings.emplace_back(s).c_str();
    interned.emplace(s, c);
    return c;
  }
  const LocationRecord* record(const Frame& f) {
    return &records.emplace_back(LocationRecord{intern(f.file), "", f.line, 0});
  }
  /// The user frame of pc's own chain (nullptr when it has none), and the innermost frame.
  const LocationRecord* resolve(std::uintptr_t pc, const LocationRecord** innermost) {
    const std::vector<Frame> chain = symbolizer.frames(pc);

    if (chain.empty() || chain.front().line == 0) {
      *innermost = record(Frame{symbolizer.module_offset(pc), 0});
      return nullptr;
    }
    *innermost = record(chain.front());
    for (std::size_t i = 0; i < chain.size(); ++i) {
      if (!system_file(chain[i].file)) return i == 0 ? *innermost : record(chain[i]);
    }
    return nullptr;
  }
};

Global& global() {
  static Global* g = new Global;  // never destroyed: hooks may run during exit
  return *g;
}

/// The site of `pc` (a return address: the call is at pc - 1); *cacheable is false when it
/// depends on the caller.
const LocationRecord* lookup(std::uintptr_t pc, bool* cacheable) {
  Global& g = global();
  g.lock.lock();
  const LocationRecord* found = nullptr;
  if (auto it = g.by_pc.find(pc); it != g.by_pc.end()) {
    found = it->second;
  } else {
    const LocationRecord* innermost = nullptr;
    const LocationRecord* user = g.resolve(pc - 1, &innermost);
    found = user != nullptr ? user : innermost;
    g.by_pc.emplace(pc, found);
    g.system_pc.emplace(pc, user == nullptr);
  }
  const bool system = g.system_pc[pc];
  g.lock.unlock();
  *cacheable = !system;
  if (!system) return found;
  // Library code only at pc (an out-of-line std:: function: -O0, or code the compiler did not
  // inline): the first caller with a user frame names the site. Not cached: it depends on
  // the caller.
  std::array<void*, 24> stack{};
  const int depth = backtrace(stack.data(), static_cast<int>(stack.size()));
  int at = 0;
  while (at < depth && reinterpret_cast<std::uintptr_t>(stack[at]) != pc)
    ++at;
  for (int i = at + 1; i < depth; ++i) {
    const auto caller = reinterpret_cast<std::uintptr_t>(stack[i]);
    g.lock.lock();
    const LocationRecord* r = nullptr;
    bool caller_system = true;
    if (auto it = g.by_pc.find(caller); it != g.by_pc.end()) {
      r = it->second;
      caller_system = g.system_pc[caller];
    } else {
      const LocationRecord* innermost = nullptr;
      const LocationRecord* user = g.resolve(caller - 1, &innermost);
      r = user != nullptr ? user : innermost;
      g.by_pc.emplace(caller, r);
      g.system_pc.emplace(caller, user == nullptr);
      caller_system = user == nullptr;
    }
    g.lock.unlock();
    if (!caller_system) return r;
  }
  return found;
}

/// The per-OS-thread table in front of the global one (direct-mapped).
struct Cache {
  struct Slot {
    std::uintptr_t pc = 0;
    const LocationRecord* record = nullptr;
  };
  std::array<Slot, 1024> slots{};
};
thread_local Cache t_cache;

}  // namespace

void load_symbols() noexcept {
  Global& g = global();
  std::lock_guard lock(g.lock);
  g.symbolizer.load_all_modules();
}

std::source_location site(const void* pc) {
  const auto key = reinterpret_cast<std::uintptr_t>(pc);
  Cache::Slot& slot = t_cache.slots[(key >> 2) % t_cache.slots.size()];
  if (slot.pc == key) return make_location(slot.record);
  bool cacheable = false;
  const LocationRecord* record = lookup(key, &cacheable);
  if (cacheable) slot = Cache::Slot{key, record};  // a caller-dependent site is not
  return make_location(record);
}

}  // namespace hc::native::detail
