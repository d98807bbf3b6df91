// icordebug/disposed-handle-in-variables-cache — a debugger's variable manager keeps a handle
// value that the func-eval which produced it has already disposed; the next request that walks
// the cache meets CORDBG_E_HANDLE_HAS_BEEN_DISPOSED, and a Continue request that stops at that
// error leaves the debuggee suspended for ever (DOMAIN.md §10 B17, §4.2, §8).
//
// Story (SharpDbg, MattParkerDev/sharpdbg#24 [SDBG-24]; CordbHandleValue::Dispose [DI-VAL]):
// expanding a member whose value needs a function evaluation (a record's EqualityContract)
// runs the func-eval on an evaluator, which stores the result — an ICorDebugHandleValue, the
// kind of value that survives Continue — in the variable manager's cache for later expansions,
// and then disposes it when its evaluation scope ends. The cache still holds the disposed
// handle. Meanwhile the DAP thread serves requests: a redraw of the variables pane dereferences
// every cached value, and the Continue request re-validates the cached values before it
// resumes the debuggee. Each call on the disposed handle answers
// CORDBG_E_HANDLE_HAS_BEEN_DISPOSED (0x80131C01); SharpDbg threw on it, so "every later
// HandleContinueRequest throws ... retrying never recovers, and the debuggee stays suspended
// forever. Only Disconnect releases it" — the stuck-suspended outcome. The model reports the
// first call on the disposed handle (handle-used-after-dispose), at the line of that call,
// naming the evaluator's Dispose and the outcome.
//
// Fix ("invalidate caches when disposing", B17): the evaluator removes the entry from the cache
// under the cache lock and disposes it while still holding that lock, and the readers walk the
// cache under the same lock, so no reader can hold a pointer to a handle between its removal
// and its Dispose. (Removing the entry without the lock is not enough: a redraw that copied
// the entry before the removal still dereferences it after the Dispose.)
#include <algorithm>
#include <vector>

#include "hc/hc.hpp"
#include "hc/models/neuter.hpp"
#include "hc/models/process.hpp"

namespace {

using hc::models::HandleValue;
using hc::models::Process;
namespace cordbg = hc::models::cordbg;

/// The variable manager's cache of values kept across requests (and across Continue).
struct VariablesCache {
  hc::mutex lock{"variables cache"};
  std::vector<HandleValue*> values;
};

/// Dereferences every cached value (a redraw, or the Continue request's re-validation); false
/// when one fails, which SharpDbg turned into an exception that ended the request.
bool refresh_all(VariablesCache& cache) {
  // hc::mutex's own lock()/unlock(): each step is located here (a std::lock_guard would
  // locate them in <mutex>).
  cache.lock.lock();
  bool ok = true;
  for (HandleValue* value : cache.values) {
    ok = cordbg::succeeded(value->dereference());
    if (!ok) break;
  }
  cache.lock.unlock();
  return ok;
}

void expand_then_continue(bool fixed) {
  Process p("debuggee");  // stopped at a breakpoint
  VariablesCache cache;
  HandleValue result(p, "EqualityContract");  // the func-eval's result
  result.add_ref();                           // the evaluator's reference

  hc::thread evaluator("evaluator", [&] {
    cache.lock.lock();
    cache.values.push_back(&result);  // kept for the next expansion
    cache.lock.unlock();
    // The evaluation scope ends: `using var value = ...` disposes the result handle.
    if (fixed) {
      cache.lock.lock();
      cache.values.erase(std::remove(cache.values.begin(), cache.values.end(), &result),
                         cache.values.end());
      HC_CHECK(result.dispose() == cordbg::S_OK, "Dispose of the func-eval result failed");
      cache.lock.unlock();
    } else {
      HC_CHECK(result.dispose() == cordbg::S_OK, "Dispose of the func-eval result failed");
    }
  });
  // The DAP thread: a redraw of the variables pane while the evaluation completes.
  const bool redrawn = refresh_all(cache);
  // The Continue request waits for outstanding evaluations, re-validates the cache, resumes.
  evaluator.join();
  const bool valid = refresh_all(cache);
  HC_CHECK(redrawn && valid, "a cached value failed: the Continue request stops here");
  HC_CHECK(cordbg::succeeded(p.continue_()), "Continue failed");
  p.stop();  // the next breakpoint
  result.release();
  p.exit();
}

}  // namespace

HC_SCENARIO("icordebug/disposed-handle-in-variables-cache",
            .tags = {"icordebug", "b17", "handle-value"},
            .expect = hc::FindingKind::handle_used_after_dispose,
            .message = "CORDBG_E_HANDLE_HAS_BEEN_DISPOSED (0x80131C01). Outcome stuck-suspended",
            .summary =
                "the variable manager keeps a func-eval result the evaluator disposed; "
                "the redraw or the Continue request meets the disposed handle, and a "
                "Continue that stops there leaves the debuggee suspended",
            .pattern = "B17", .source = "DOMAIN.md") {
  expand_then_continue(false);
}

HC_SCENARIO("icordebug/disposed-handle-in-variables-cache.fixed",
            .tags = {"icordebug", "b17", "handle-value", "fixed"}, .expect = hc::clean,
            .summary =
                "the evaluator drops the cache entry and disposes the handle under the "
                "cache lock the readers walk it with: nobody dereferences it after",
            .pattern = "B17", .source = "DOMAIN.md") {
  expand_then_continue(true);
}
