// posix/redirect-stdout-by-close-and-open — stdout redirected by close(1) + open(), which is two
// steps: another thread's open() takes descriptor 1 in between (DOMAIN.md §7, dup(2)).
//
// Story: a storage daemon silences a chatty library call. It saves the terminal with
// saved = dup(1), then redirects stdout by `close(STDOUT_FILENO); open("/dev/null")`, counting on
// open() returning the lowest free number, 1. After the call it restores stdout with
// dup2(saved, 1). Meanwhile its filestore thread opens an object file. When that open runs
// between the close and the daemon's open, the object file gets descriptor 1, and /dev/null gets
// the next number. The library's output, meant for /dev/null, is written into the object file.
// This is ceph #22954 (tracker 23492): the daemon's pre/post-fork helpers closed stdin, stdout
// and stderr and reopened /dev/null in their place "with other threads running", so they raced
// "with, say, filestore opening an object file and end up sending log output there". xen-api's
// xcp-idl #120 (CA-208547) fixed the same close-then-dup idiom for /dev/null: "if an open()
// happens in another thread" the dup does not land on stdout. The writes to fd 1 are by number,
// so they name whatever fd 1 is, as in the kernel, and nothing reports them. The model reports
// the next step that acts on the wrong descriptor: the restore, dup2(saved, 1), closes fd 1
// (dup2 closes an open newfd silently), and fd 1 is the filestore's object file. That is
// close-by-non-owner: the daemon closed a descriptor the filestore owns, which the filestore
// goes on writing (its next write lands on the terminal) and closes later.
//
// Fix: dup2(null, 1) (ceph's fix). It closes fd 1 and makes it refer to /dev/null in one atomic
// step, so no other thread's open() can take the number in between. The filestore's file gets a
// number above 2, and both dup2s act only on the daemon's own descriptors.
#include "hc/hc.hpp"
#include "hc/models/handle_table.hpp"

namespace {

using hc::models::HandleTable;
using hc::models::ObjectType;
using hc::models::RawHandle;
using hc::models::ReusePolicy;
using hc::models::ValueStyle;

void silence_library_call_while_filestore_opens(bool use_dup2) {
  HandleTable fds{{.style = ValueStyle::posix,
                   .reuse = ReusePolicy::lowest_free,
                   .name = "ceph-osd",
                   .stdio = true}};
  RawHandle object;
  hc::thread filestore("filestore", [&] {
    object = fds.create(ObjectType::file, "current/0.1f_head/rbd_data.1", "filestore");
    fds.write(object);
  });

  const RawHandle saved = fds.duplicate(fds.stdio_handle(1), fds, "daemon");  // saved = dup(1)
  if (use_dup2) {
    const RawHandle null = fds.create(ObjectType::file, "/dev/null", "daemon");
    fds.dup2(null, 1, "daemon");  // closes fd 1 and points it at /dev/null in one step
    fds.close(null, "daemon");
  } else {
    fds.close(fds.value(1), "daemon");                    // close(STDOUT_FILENO)
    fds.create(ObjectType::file, "/dev/null", "daemon");  // open("/dev/null"): "it returns 1"
  }
  fds.write(fds.value(1));       // the library's chatter, written to fd 1
  fds.dup2(saved, 1, "daemon");  // restore stdout
  fds.close(saved, "daemon");
  filestore.join();
  fds.close(object, "filestore");
}

}  // namespace

HC_SCENARIO("posix/redirect-stdout-by-close-and-open", .tags = {"posix", "i18"},
            .expect = hc::FindingKind::close_by_non_owner,
            .message =
                "'daemon' closed handle fd 1 (File 'current/0.1f_head/rbd_data.1', "
                "generation 2)",
            .summary =
                "stdout redirected by close(1) + open(\"/dev/null\"): the filestore's "
                "open takes fd 1 in between, gets the output, and the restoring dup2 "
                "closes its file",
            .pattern = "I18-dup2", .source = "ceph #22954") {
  silence_library_call_while_filestore_opens(false);
}

HC_SCENARIO("posix/redirect-stdout-by-close-and-open.fixed", .tags = {"posix", "i18", "fixed"},
            .expect = hc::clean,
            .summary =
                "dup2(null, 1) closes and reuses fd 1 atomically: no other thread's "
                "open can take the number in between",
            .pattern = "I18-dup2", .source = "ceph #22954") {
  silence_library_call_while_filestore_opens(true);
}
