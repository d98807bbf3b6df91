# The sanitizer job (ctest -L sanitizers): builds this source tree with AddressSanitizer and
# UndefinedBehaviorSanitizer in ${WORK_DIR} and runs its default suite there. The engine tells
# ASan about every fiber switch (runtime/execution.cpp); UBSan findings abort the test.
#   -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=...
# Left out, with the reason:
#  - leak detection (detect_leaks=0): threads still suspended when an execution ends are
#    unwound, but a thread a fault stops (a crash, the watchdog), or one that cannot be unwound
#    (execution.hpp, "Teardown"), is abandoned with the heap its locals own, and the tests make
#    such threads on purpose: LeakSanitizer would report them at exit;
#  - the relacy label: Relacy replaces the global allocator and the thread-local machinery of
#    the code it checks, which conflicts with ASan's interceptors;
#  - handlecheck::native and its tests (native/CMakeLists.txt leaves them out of an ASan
#    build): the code under test there is compiled with -fsanitize=thread, which the compilers
#    refuse beside -fsanitize=address;
#  - the nightly label (too long under the sanitizers' slowdown) and the slurm label (it starts
#    a Slurm cluster on the host; the default run leaves it out too).
set(flags "-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined")
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR} -G ${GENERATOR}
          -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS=${flags}"
          "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the sanitizer build failed (${rc})")
endif()
# GoogleTest discovery runs the test binaries while building: the same options apply then
# (Relacy's allocator replacement trips ASan's alloc/dealloc matching during discovery).
set(ENV{ASAN_OPTIONS}
    "detect_leaks=0:alloc_dealloc_mismatch=0:detect_stack_use_after_return=0")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR} --parallel 2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building with the sanitizers failed (${rc})")
endif()
# handlecheck reports the code under test's SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT as
# findings (runtime/faults.hpp): ASan must leave those signals to it.
set(ENV{ASAN_OPTIONS}
    "detect_leaks=0:detect_stack_use_after_return=0:allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0")
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR} --output-on-failure
                        --parallel 2 --label-exclude "nightly|slurm|relacy|sanitizers|consumer"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the default suite is not clean under ASan+UBSan (${rc}): see above")
endif()
