// engine/racy-flag — message passing through a plain flag.
//
// Story: a producer fills a payload and raises a plain bool `ready`; a consumer polls
// `ready` and then reads the payload. Nothing orders the producer's writes before the
// consumer's reads, so the compiler and the CPU may reorder them: a data race on the flag
// (and through it on the payload). The handle-world form: publishing a freshly opened raw
// handle value to another thread through a plain field.
// Fix: make the flag an atomic; its store/load pair is the happens-before edge that also
// orders the payload.
#include "hc/hc.hpp"

namespace {

bool read_flag(hc::var<bool>& flag) {
  return flag.read();
}
bool read_flag(hc::atomic<bool>& flag) {
  return flag.load();
}

template <class Flag>
void publish(Flag& ready) {
  hc::var<int> payload{0, "payload"};
  hc::thread producer("producer", [&] {
    payload = 42;
    ready = true;
  });
  hc::thread consumer("consumer", [&] {
    if (read_flag(ready)) {
      HC_CHECK(payload.read() == 42, "consumer saw ready but payload {}", payload.peek());
    }
  });
  producer.join();
  consumer.join();
}

}  // namespace

HC_SCENARIO("engine/racy-flag", .tags = {"engine", "demo"}, .expect = hc::FindingKind::data_race,
            .message = "data race on var 'ready'",
            .summary = "payload published through a plain bool: a data race",
            .pattern = "engine demo", .source = "handlecheck") {
  hc::var<bool> ready{false, "ready"};
  publish(ready);
}

HC_SCENARIO("engine/racy-flag.fixed", .tags = {"engine", "demo", "fixed"}, .expect = hc::clean,
            .summary = "the flag is an hc::atomic: correct message passing, no race",
            .pattern = "engine demo", .source = "handlecheck") {
  hc::atomic<bool> ready{false, "ready"};
  publish(ready);
}
