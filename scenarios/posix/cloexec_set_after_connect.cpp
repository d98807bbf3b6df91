// posix/cloexec-set-after-connect — FD_CLOEXEC set by fcntl() after the socket exists, while
// another thread forks and execs a helper: the child inherits the socket (DOMAIN.md §7,
// fcntl(2), execve(2)).
//
// Story: a service talks to Redis through hiredis, whose connect creates its socket without
// SOCK_CLOEXEC. The service marks the socket private afterwards with
// fcntl(fd, F_SETFD, FD_CLOEXEC), the workaround hiredis #555 describes ("One can always call
// fcntl and set O_CLOEXEC after establishing a connection, but this can lead to race conditions
// if a different thread is trying to fork"). Meanwhile a worker thread runs a report script with
// fork() + execve(). When the fork lands between the socket's creation and the fcntl, the
// child's copy of the descriptor has no FD_CLOEXEC, survives the exec, and the script holds the
// Redis connection open: the server keeps it alive after the service closes its side, and the
// descriptor leaks into every grandchild. corefx #14238 describes the same race for
// Process.Start (a handle created while another thread spawns "a long running service" is kept
// by it), and coreclr #11982 shows children holding dozens of the runtime's descriptors. The
// model reports descriptor-inherited at the exec when the fcntl already ran, else at the fcntl
// that states the intent: the fcntl is what says the program meant the socket private.
//
// Fix: create the descriptor with the flag, socket(..., SOCK_CLOEXEC) (hiredis #557/#1301,
// corefx's pipe2(O_CLOEXEC)), so FD_CLOEXEC is set in the same step as the descriptor and no
// fork can copy it without the flag.
#include <memory>

#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::HandleTable;
using hc::models::ObjectType;
using hc::models::OpenFlags;
using hc::models::RawHandle;
using hc::models::ReusePolicy;
using hc::models::ValueStyle;

void connect_while_worker_spawns_script(bool sock_cloexec) {
  HandleTable fds{{.style = ValueStyle::posix,
                   .reuse = ReusePolicy::lowest_free,
                   .name = "service",
                   .stdio = true}};
  hc::thread worker("worker", [&] {
    std::unique_ptr<HandleTable> child = fds.fork("report.sh");  // fork()
    child->exec("/usr/local/bin/report.sh");                     // execve() in the child
  });

  // redisConnect(): socket() + connect().
  const RawHandle redis = fds.create(ObjectType::file, "socket to redis:6379",
                                     sock_cloexec ? OpenFlags::cloexec : OpenFlags::none);
  if (!sock_cloexec) fds.set_cloexec(redis);  // fcntl(fd, F_SETFD, FD_CLOEXEC)
  fds.write(redis);                           // redisCommand(ctx, "PING")
  worker.join();
  fds.close(redis);  // redisFree(ctx)
}

}  // namespace

HC_SCENARIO("posix/cloexec-set-after-connect", .tags = {"posix", "i18"},
            .expect = hc::FindingKind::descriptor_inherited,
            .message =
                "descriptor inherited: fd 3 (File 'socket to redis:6379') of process "
                "'service'",
            .summary =
                "FD_CLOEXEC set by fcntl after the socket was created: a concurrent "
                "fork copies it without the flag and the exec'd script inherits it",
            .pattern = "I18-cloexec", .source = "hiredis #555, corefx #14238") {
  connect_while_worker_spawns_script(false);
}

HC_SCENARIO("posix/cloexec-set-after-connect.fixed", .tags = {"posix", "i18", "fixed"},
            .expect = hc::clean,
            .summary =
                "the socket is created with SOCK_CLOEXEC: no fork can copy it without "
                "the flag",
            .pattern = "I18-cloexec", .source = "hiredis #555, corefx #14238") {
  connect_while_worker_spawns_script(true);
}
