#!/usr/bin/env python3
"""instructions.py: the engine benchmarks' figures as instructions, which do not move with the
machine's speed.

hc_bench_engine's figures are times, and on a machine whose CPUs change speed by tens of
percent within minutes (docs/benchmarks.md) a change of a few percent needs many adjacent pairs
to show. The instructions a benchmark executes are the same from run to run: this script runs
each benchmark under Valgrind's callgrind, takes away what the program costs without it (start,
benchmark library), and divides by the benchmark's units, which it counts from callgrind's call
counts (no benchmark prints how many iterations it ran under Valgrind's slowdown):

  ping-pong      instructions per scheduling point (each execution: 2 x 1000 steps and 2 joins,
                 after spawning its threads: the difference of a short and a long run leaves
                 the spawns out)
  fixed cost     instructions per execution of explore() (200,000 per explore)
  run alone      instructions per Execution::run of the two empty threads
  dfs 3x5        instructions per execution (756,756 per explore)

Fewer instructions is not always less time (a cache miss or a mispredicted branch costs more
than many instructions), so a change is judged by both: the instructions here, then the time
(docs/benchmarks.md, adjacent pairs). Needs valgrind (apt-get install valgrind); takes about three
minutes.

  bench/instructions.py [build/bench/hc_bench_engine] [--only NAME]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

# benchmark regex, printed name, unit, (function whose calls count the units, units per call)
BENCHMARKS = [
    ("BM_PingPongSchedulingPoint$", "ping-pong", "point",
     ("hc::detail::Execution::run(", 2 * 1000 + 2)),
    ("BM_FixedCostPerExecution$", "fixed cost", "execution", ("hc::explore(", 200000)),
    ("BM_ExecutionRunEmpty2$", "run alone", "execution", ("hc::detail::Execution::run(", 1)),
    ("BM_DfsExhaust3x5", "dfs 3x5", "execution", ("hc::explore(", 756756)),
]


def callgrind(binary, bench_filter, out, min_time="0.02"):
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, binary,
           "--benchmark_filter=" + bench_filter, "--benchmark_min_time=" + min_time]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("instructions.py: %s failed (exit %d):\n%s" %
                 (" ".join(cmd), done.returncode, done.stderr[-2000:]))
    return parse(out)


def parse(path):
    """Total instructions, and calls per called function name."""
    names, calls, total, pending = {}, {}, None, None
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m.group(2) is not None:
                    names[m.group(1)] = m.group(2)
                pending = m.group(1) if line.startswith("cfn=") else None
            elif line.startswith("calls=") and pending is not None:
                n = int(line.split()[0][len("calls="):])
                calls[pending] = calls.get(pending, 0) + n
                pending = None
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
    by_name = {}
    for fid, n in calls.items():
        name = names.get(fid, "")
        by_name[name] = by_name.get(name, 0) + n
    if total is None:
        sys.exit("instructions.py: no total in " + path)
    return total, by_name


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary", nargs="?", default="build/bench/hc_bench_engine")
    parser.add_argument("--only", help="one of: " + ", ".join(b[1] for b in BENCHMARKS))
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit("instructions.py: no benchmark binary at %s: build the project first, or name "
                 "the binary (bench/instructions.py path/to/hc_bench_engine)" % args.binary)
    try:
        subprocess.run(["valgrind", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        sys.exit("instructions.py: valgrind is not installed (apt-get install valgrind)")
    chosen = [b for b in BENCHMARKS if args.only in (None, b[1])]
    if not chosen:
        sys.exit("instructions.py: no benchmark named %r; the names are: %s" %
                 (args.only, ", ".join(b[1] for b in BENCHMARKS)))
    def measure(regex, name, counter, per_call, min_time, tmp):
        total, calls = callgrind(args.binary, regex, os.path.join(tmp, "bench.out"), min_time)
        # The function itself, not the lambdas defined in it (whose names start the same).
        called = sum(n for fn, n in calls.items()
                     if fn.startswith(counter) and "::{lambda" not in fn)
        if called == 0:
            sys.exit("instructions.py: %s: no call of %s recorded" % (name, counter))
        return total, called * per_call

    with tempfile.TemporaryDirectory() as tmp:
        base, _ = callgrind(args.binary, "^$", os.path.join(tmp, "base.out"))
        for regex, name, unit, (counter, per_call) in chosen:
            # Two runs of different lengths: the difference is the units' own cost, without
            # the program's and without a set-up per benchmark iteration (ping-pong spawns
            # its two threads in each). A benchmark that runs the same units either way (a
            # fixed iteration count) is measured against the program alone.
            short, short_units = measure(regex, name, counter, per_call, "0.02", tmp)
            long, long_units = measure(regex, name, counter, per_call, "0.3", tmp)
            if long_units > short_units:
                per_unit = (long - short) / (long_units - short_units)
                how = "the difference of %d and %d %ss" % (long_units, short_units, unit)
            else:
                per_unit = (long - base) / long_units
                how = "%d %ss" % (long_units, unit)
            print("%-11s %9.1f instructions per %s (%s)" % (name, per_unit, unit, how))


if __name__ == "__main__":
    main()
