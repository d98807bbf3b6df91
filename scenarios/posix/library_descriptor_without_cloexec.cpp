// posix/library-descriptor-without-cloexec — a library opens its files without O_CLOEXEC and
// never marks them, while the application's other thread starts a child process: the child
// inherits the library's descriptor (DOMAIN.md §7, open(2), execve(2)).
//
// Story: an image service decodes uploads with libvips. The library opens each input file with a
// plain open(), no O_CLOEXEC, and never sets FD_CLOEXEC afterwards: it never meant to give the
// descriptor to anyone. On another thread the service starts a helper process (an encoder) with
// fork() + execve(). When the fork lands while the library has the file open, the encoder
// inherits the descriptor and keeps the file open for as long as it runs: the service closes its
// copy, but the file stays open and, on Windows, locked against deletion and overwriting. This is
// libvips #2497 ("Ensure newly created file descriptors are non-inheritable", fixing
// net-vips #139), which cites Python's PEP 446 and Rust's choice to make every new descriptor
// non-inheritable by default. No call in the program states the intent per descriptor, so the
// scenario states it for the whole process: HandleTableOptions::descriptors_private (every
// descriptor above 2 is private), and the model reports descriptor-inherited at the exec.
//
// Fix: open with O_CLOEXEC (libvips' vips__open adds it, _O_NOINHERIT on Windows): the exec'd
// child never holds the library's files.
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

void decode_while_service_spawns_encoder(bool o_cloexec) {
  HandleTable fds{{.style = ValueStyle::posix,
                   .reuse = ReusePolicy::lowest_free,
                   .name = "image-service",
                   .stdio = true,
                   .descriptors_private = true}};
  hc::thread spawner("spawner", [&] {
    std::unique_ptr<HandleTable> child = fds.fork("encoder");  // Process.Start: fork()
    child->exec("/usr/bin/cwebp");                             // execve() in the child
  });

  // vips_image_new_from_file("upload.jpg"): vips__open(filename, O_RDONLY)
  const RawHandle image =
      fds.create(ObjectType::file, "upload.jpg", o_cloexec ? OpenFlags::cloexec : OpenFlags::none);
  fds.read(image);   // decode
  fds.close(image);  // g_object_unref(image): the library closes its descriptor
  spawner.join();
}

}  // namespace

HC_SCENARIO("posix/library-descriptor-without-cloexec", .tags = {"posix", "i18"},
            .expect = hc::FindingKind::descriptor_inherited,
            .message =
                "descriptor inherited: fd 3 (File 'upload.jpg') of process "
                "'image-service'",
            .summary =
                "a library opens its files without O_CLOEXEC and never marks them: a "
                "child started meanwhile by another thread inherits the descriptor",
            .pattern = "I18-cloexec", .source = "libvips #2497") {
  decode_while_service_spawns_encoder(false);
}

HC_SCENARIO("posix/library-descriptor-without-cloexec.fixed", .tags = {"posix", "i18", "fixed"},
            .expect = hc::clean,
            .summary = "the library opens with O_CLOEXEC: an exec'd child never holds its files",
            .pattern = "I18-cloexec", .source = "libvips #2497") {
  decode_while_service_spawns_encoder(true);
}
