#!/usr/bin/env python3
"""cli:terminal — handlecheck on a terminal, as a person sees it.

Runs the CLI with stdout and stderr on pseudo-terminals of 80 columns (COLUMNS=80 too) and
checks what the terminal gets:
  - stderr (the rewritten progress line and what follows it) never has a line wider than 80
    columns, is rewritten at most about 10 times a second, shows a percentage of the budget
    and a human ETA ("15 s", "2 min 5 s"; never thousands of seconds);
  - several scenarios leave no Knuth line each: one status line, rewritten;
  - colour: on by default on a terminal, off with NO_COLOR=1 and with --color never (no escape
    code at all), on with --color always even through a pipe.

usage: terminal.py HANDLECHECK WORK_DIR
"""
import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time

HANDLECHECK, WORK = sys.argv[1], sys.argv[2]
COLUMNS = 80
SGR = re.compile(r"\x1b\[[0-9;]*m")
failures = []


def check(condition, what, text=""):
    if not condition:
        failures.append(f"expected {what}" + (f"\n--- output ---\n{text}\n---" if text else ""))


def run_on_terminal(args, env_changes=None, stdout_terminal=True):
    """Runs handlecheck with stderr (and stdout, unless told) on 80-column pseudo-terminals.
    Returns (exit code, stdout text, stderr text, seconds)."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.update({"COLUMNS": str(COLUMNS), "TERM": "xterm"})
    env.update(env_changes or {})
    masters, slaves = [], []
    for _ in range(2 if stdout_terminal else 1):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
        masters.append(master)
        slaves.append(slave)
    err_slave = slaves[-1]
    out_target = slaves[0] if stdout_terminal else subprocess.PIPE
    start = time.monotonic()
    process = subprocess.Popen([HANDLECHECK] + args, cwd=WORK, env=env, stdin=subprocess.DEVNULL,
                               stdout=out_target, stderr=err_slave)
    for slave in slaves:
        os.close(slave)
    received = {m: b"" for m in masters}
    open_masters = list(masters)
    while open_masters:
        ready, _, _ = select.select(open_masters, [], [], 60)
        if not ready:
            process.kill()
            failures.append(f"handlecheck {' '.join(args)} wrote nothing for 60 s")
            break
        for m in ready:
            try:
                data = os.read(m, 65536)
            except OSError:  # EIO: the other side closed
                data = b""
            if data:
                received[m] += data
            else:
                open_masters.remove(m)
    piped = process.stdout.read() if not stdout_terminal else b""
    rc = process.wait()
    seconds = time.monotonic() - start
    for m in masters:
        os.close(m)
    out = received[masters[0]] if stdout_terminal else piped
    err = received[masters[-1]]
    return rc, out.decode(errors="replace"), err.decode(errors="replace"), seconds


def visible_lines(text):
    """What the terminal shows line by line: \\r returns to column 0, \\n (the terminal turns
    it into \\r\\n) ends a line; colour codes take no room."""
    return [SGR.sub("", part) for part in re.split(r"[\r\n]", text)]


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

# --- a random run with an execution budget and a time budget: percentages and ETAs -----------
budget = ["run", "engine/lost-update.fixed", "--strategy", "random", "--max-executions",
          "1000000000", "--time-budget", "3", "--out", "out"]
rc, out, err, seconds = run_on_terminal(budget)
check(rc == 0, f"exit 0 for {budget}, got {rc}", out + err)
lines = visible_lines(err)
widest = max(lines, key=len)
check(len(widest) <= COLUMNS, f"no stderr line wider than {COLUMNS} columns, got {len(widest)}: "
      f"{widest!r}", err)
updates = err.count("\r")
check(updates >= 3, "the progress line shown and rewritten (at least 3 times)", err)
check(updates <= 10 * seconds + 5,
      f"at most ~10 updates a second: {updates} in {seconds:.1f} s", err)
check(re.search(r"lost-update\.fixed: \d+ executions, ", err), "a progress line", err)
check(re.search(r"\d+% of (1000000000|3 s), ETA", err), "a percentage of the budget", err)
etas = re.findall(r"ETA ([^,\r\n]*)", err)
check(etas, "an ETA", err)
human = re.compile(r"(at most ~)?(> 1 year|\d+ d( \d+ h)?|\d+ h( \d+ min)?|\d+ min( \d+ s)?|"
                   r"\d{1,2} s)\s*$")
for eta in etas:
    check(human.match(eta), f"a human ETA, got 'ETA {eta}'", err)
check("\x1b" not in err, "no escape code on stderr (the line is rewritten with \\r and spaces)",
      err)
check(SGR.search(out), "colour on stdout by default on a terminal", out)
check(re.search(r"\x1b\[[0-9;]*mPASS\x1b\[0m  engine/lost-update.fixed", out),
      "PASS coloured", out)

# --- several scenarios on a terminal: no Knuth line per scenario ------------------------------
rc, out, err, _ = run_on_terminal(["run", "engine/lost-update", "engine/racy-flag",
                                   "engine/lost-update.fixed", "--out", "out"])
check(rc == 0, f"exit 0 for three scenarios, got {rc}", out + err)
check("Knuth" not in err, "no Knuth line per scenario with several scenarios on a terminal", err)
printed = [line for line in visible_lines(err) if line.strip()]
check(len(printed) <= 1, f"stderr ends with at most one line (time:), got {printed}", err)
check(out.count("PASS") == 3, "three PASS lines", out)

# --- colour: NO_COLOR, --color never, --color always -----------------------------------------
rc, out, err, _ = run_on_terminal(["run", "engine/racy-flag", "--out", "out"], {"NO_COLOR": "1"})
check(rc == 0 and "PASS" in out, f"NO_COLOR run passes (exit {rc})", out)
check("\x1b" not in out + err, "no escape code with NO_COLOR=1", out + err)
check("finding: data-race" in out, "the finding printed plainly with NO_COLOR", out)

rc, out, err, _ = run_on_terminal(["run", "engine/racy-flag", "--color", "never", "--out", "out"])
check("\x1b" not in out + err, "no escape code with --color never", out + err)

rc, out, err, _ = run_on_terminal(["run", "engine/racy-flag", "--color", "always", "--out", "out"],
                                  {"NO_COLOR": "1"}, stdout_terminal=False)
check(re.search(r"\x1b\[[0-9;]*mPASS", out), "--color always colours PASS through a pipe, "
      "NO_COLOR notwithstanding", out)
check(re.search(r"finding: (\x1b\[[0-9;]*m)+data-race\x1b\[0m", out),
      "--color always colours the finding's kind", out)

rc, out, err, _ = run_on_terminal(["run", "engine/racy-flag", "--color", "blue"])
check(rc == 2, f"exit 2 for --color blue, got {rc}", out + err)
check("--color 'blue': say auto, always or never" in err, "a message naming --color", err)

if failures:
    print("\n\n".join(failures))
    sys.exit(1)
print("cli:terminal: all checks passed")
