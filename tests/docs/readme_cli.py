#!/usr/bin/env python3
"""docs:readme-cli — every command and option the README names exists in the CLI's --help.

Usage: readme_cli.py README HANDLECHECK

Reads `handlecheck --help` (its commands and global options) and `handlecheck <command> --help`
for every command, then checks the README against them:
  - a command line the README shows — an inline `handlecheck <command> ...` (or `<command>
    --option` for a known command), a line of a ```sh or ```yaml block that runs
    `handlecheck <command>`, a line of the command-line synopsis — names a command that exists,
    and each option after it is one of that command's (or a global one);
  - every other `--option` the README mentions outside quoted output is an option of some
    command, unless it belongs to another tool (FOREIGN below, each with its owner).
Options the CLI has and the README does not mention are fine: the README is a subset.
Exit 0 when everything exists; else 1, naming each README line and what is missing.
"""

import re
import subprocess
import sys

# Options of other tools that the README mentions, and whose they are.
FOREIGN = {
    "--gtest_filter": "GoogleTest",
    "--label-exclude": "ctest", "--test-dir": "ctest", "--output-on-failure": "ctest",
    "--parallel": "ctest/cmake --build", "--build": "cmake", "--install": "cmake",
    "--prefix": "cmake --install",
    "--dependency": "sbatch", "--array": "sbatch (#SBATCH)",
    "--for": "kubectl wait", "--timeout": "kubectl wait, tools/slurm-smoke",
    "--work": "tools/slurm-smoke",
    "--only": "hc_bench_vs_relacy", "--rounds": "hc_bench_vs_relacy, hc_bench_catalogue",
    "--update": "tests/docs/readme_excerpts.py",
}

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
LONG_OPTION = re.compile(r"(?<![\w-])(--[A-Za-z][\w-]*)")


def help_text(exe, *args):
    run = subprocess.run([exe, *args, "--help"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"'{exe} {' '.join(args)} --help' failed ({run.returncode}): {run.stderr}")
    return run.stdout


def options_of(text):
    """Option names listed in a CLI11 help text ("  -j,--jobs INT ..." gives -j and --jobs)."""
    names = set()
    for line in text.split("\n"):
        m = re.match(r"^  (-[\w,-]+)", line)
        if m:
            names.update(n for n in m.group(1).split(",") if n.startswith("-"))
    return names


def commands_of(text):
    section = text.split("Subcommands:", 1)
    if len(section) < 2:
        sys.exit(f"no 'Subcommands:' in handlecheck --help:\n{text}")
    return {m.group(1) for m in re.finditer(r"^  ([a-z][\w-]*)\s", section[1], re.M)}


def main():
    readme_path, exe = sys.argv[1], sys.argv[2]
    top = help_text(exe)
    commands = commands_of(top)
    per_command = {c: options_of(help_text(exe, c)) | options_of(top) for c in commands}
    every_option = set().union(*per_command.values())

    with open(readme_path, encoding="utf-8") as f:
        lines = f.read().split("\n")

    problems = []
    command_lines = []  # (README line, text starting at the command word)
    prose = []  # (README line, text) outside fenced blocks and quoted output
    fence = None
    after_reference = False
    for number, line in enumerate(lines, 1):
        fenced = re.match(r"^```(\S*)\s*$", line)
        if fenced and fence is None:
            fence = fenced.group(1).lower()
            synopsis = fence == "" and after_reference
            after_reference = False
            continue
        if fence is not None:
            if line.rstrip() == "```":
                fence = None
                continue
            if fence in ("sh", "yaml") or synopsis:
                text = line.split(" #")[0] if fence == "sh" else line
                for m in re.finditer(r"(?:^|[\s/])handlecheck\s+([a-z][\w-]*)(.*)", text):
                    command_lines.append((number, m.group(1) + m.group(2)))
                if fence == "yaml":
                    prose.append((number, line))
            continue
        if line.startswith("## Command-line reference"):
            after_reference = True
        prose.append((number, line))
        for span in re.findall(r"`([^`]+)`", line):
            m = re.match(r"^(?:\S*/)?handlecheck\s+([a-z][\w-]*)(.*)$", span)
            if m:
                command_lines.append((number, m.group(1) + m.group(2)))
            elif re.match(r"^([a-z][\w-]*)\s+-", span) and span.split()[0] in commands:
                command_lines.append((number, span))

    checked = 0
    for number, text in command_lines:
        command = text.split()[0]
        if command not in commands:
            problems.append(f"README.md:{number}: `handlecheck {command}` is not a command of "
                            f"`handlecheck --help` ({', '.join(sorted(commands))})")
            continue
        for option in OPTION.findall(text[len(command):]):
            checked += 1
            if option not in per_command[command]:
                problems.append(f"README.md:{number}: `handlecheck {command}` has no option "
                                f"{option} (see `handlecheck {command} --help`)")

    for number, text in prose:
        for option in LONG_OPTION.findall(text):
            checked += 1
            if option not in every_option and option not in FOREIGN:
                problems.append(f"README.md:{number}: {option} is an option of no handlecheck "
                                "command (`handlecheck <command> --help`); if it is another "
                                "tool's, add it to FOREIGN in tests/docs/readme_cli.py")

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} command(s) or option(s) of the README missing from --help",
              file=sys.stderr)
        return 1
    print(f"{len(command_lines)} command lines and {checked} option mentions of the README exist "
          f"in --help ({len(commands)} commands)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
