#!/usr/bin/env python3
"""Runs a nightly example of examples/nightly/ on this machine the way its engine would.

    batch_engines.py kubernetes WORK JOB.yaml MERGE.yaml
    batch_engines.py slurm      WORK SUBMIT.sh [--requeue TASK]
    batch_engines.py github     WORK WORKFLOW.yml
    batch_engines.py gitlab     WORK PIPELINE.yml
    common option: --leave-out I   do not run the I-th shard (1-based): a negative control

Every shard is run, one after the other, with the variables its engine sets, in the working
directory its engine gives it (WORK is created empty); then the merge step, only if every shard
succeeded, as the engine's dependency would. The commands are read from the example files, never
copied here:

  kubernetes  the Indexed Job's container (command + args, env, workingDir on its volume) for
              JOB_COMPLETION_INDEX = 0 .. completions-1; then the merge Job's container. Each
              persistentVolumeClaim is one directory shared by every pod.
  slurm       the submit script runs with a stand-in `sbatch` on PATH that records each
              submission (options from the command line and the script's #SBATCH lines). Then
              each array task runs the script copy sbatch took, with its interpreter (#!), from
              the submit directory, with SLURM_ARRAY_TASK_ID, _COUNT, _MIN, _MAX, _STEP,
              SLURM_ARRAY_JOB_ID, SLURM_JOB_ID, SLURM_CPUS_PER_TASK, SLURM_SUBMIT_DIR; a job
              with --dependency=afterok runs once every task of those jobs exited 0.
              --requeue TASK runs that task a second time, as Slurm runs a requeued task
              (SLURM_RESTART_COUNT=1), before the dependent job.
  github      each job in `needs` order; a matrix job once per combination, in a fresh
              workspace, ${{ matrix.* }} and ${{ strategy.job-index / job-total }} substituted,
              `run` steps under their shell (bash: bash --noprofile --norc -eo pipefail),
              actions/upload-artifact and actions/download-artifact (name, pattern, path,
              merge-multiple) emulated with a local store; `if: always()` honoured.
  gitlab      each job in stage order; `parallel: N` as N jobs with CI_NODE_INDEX (1-based) and
              CI_NODE_TOTAL, in fresh directories; `script` lines in one bash (set -eo
              pipefail); artifacts:paths handed to the jobs that `need` them (or to later
              stages), at the same relative paths. `workflow: rules` is not evaluated.

Anything an example uses that this emulation does not know is an error, never skipped. The
environment is this process's minus every batch engine's own variables, plus the engine's.
Prints what it runs; the last lines say where the merge ran ("merge directory: D"), how many
shards there were ("shards: N") and where each shard ran ("shard directory: D"). Exit 0 when
every shard and the merge succeeded; 1 otherwise, saying which step failed.
"""
import fnmatch
import glob
import itertools
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

ENGINE_VARIABLES = re.compile(
    r"^(HC_SHARD_|JOB_COMPLETION_INDEX$|SLURM_|CI$|CI_|GITLAB_|GITHUB_|RUNNER_|CIRCLE|BUILDKITE)")


class Failure(Exception):
    pass


def base_environment():
    return {k: v for k, v in os.environ.items() if not ENGINE_VARIABLES.match(k)}


def run(argv, cwd, env, what, log=None):
    print(f"--- {what}: {' '.join(argv)} (in {cwd})", flush=True)
    p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    out = p.stdout
    if log is not None:
        with open(log, "a") as f:
            f.write(out)
    tail = out.splitlines()[-6:]
    for line in tail:
        print(f"    {line}")
    print(f"    exit {p.returncode}", flush=True)
    return p.returncode, out


def load_yaml(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def report(merge_dir, shard_dirs, shards=None):
    print(f"shards: {len(shard_dirs) if shards is None else shards}")
    for d in sorted(set(shard_dirs)):
        print(f"shard directory: {d}")
    print(f"merge directory: {merge_dir}")


# ---------------------------------------------------------------------------------------------
# Kubernetes


def k8s_job(path, indexed):
    docs = [d for d in load_yaml(path) if d.get("kind") == "Job"]
    if len(docs) != 1:
        raise Failure(f"{path}: expected exactly one Job, found {len(docs)}")
    job = docs[0]
    spec = job.get("spec", {})
    if indexed != (spec.get("completionMode") == "Indexed"):
        raise Failure(f"{path}: expected {'an Indexed' if indexed else 'a non-indexed'} Job")
    return job


def k8s_container_run(job, path, work, extra_env, what):
    pod = job["spec"]["template"]["spec"]
    containers = pod.get("containers", [])
    if len(containers) != 1 or pod.get("initContainers"):
        raise Failure(f"{path}: the emulation runs pods of exactly one container")
    c = containers[0]
    volumes = {}
    for v in pod.get("volumes", []):
        if "persistentVolumeClaim" in v:
            key = v["persistentVolumeClaim"]["claimName"]
        elif "emptyDir" in v:
            key = f"emptyDir-{what}-{v['name']}"
        else:
            raise Failure(f"{path}: volume '{v['name']}' is of a kind the emulation does not know")
        volumes[v["name"]] = os.path.join(work, "volumes", re.sub(r"[^A-Za-z0-9_.-]", "_", key))
    mounts = []
    for m in c.get("volumeMounts", []):
        if m["name"] not in volumes:
            raise Failure(f"{path}: volumeMount '{m['name']}' names no volume")
        mounts.append((m["mountPath"].rstrip("/"), volumes[m["name"]]))
    workdir = c.get("workingDir")
    cwd = None
    if workdir is not None:
        for mount_path, local in mounts:
            if workdir.rstrip("/") == mount_path or workdir.startswith(mount_path + "/"):
                cwd = local + workdir[len(mount_path):]
        if cwd is None:
            raise Failure(f"{path}: workingDir {workdir} is on no volume (the image's file system "
                          "is not emulated)")
    else:
        cwd = os.path.join(work, "pods", what)
    os.makedirs(cwd, exist_ok=True)
    for _, local in mounts:
        os.makedirs(local, exist_ok=True)
    env = base_environment()
    env.update(extra_env)
    for e in c.get("env", []):
        if "value" not in e:
            raise Failure(f"{path}: env {e.get('name')} has no plain value (valueFrom is not "
                          "emulated)")
        env[e["name"]] = k8s_expand(str(e["value"]), env)
    if "command" not in c:
        raise Failure(f"{path}: the container has no command (the image's entrypoint is not "
                      "emulated)")
    argv = [k8s_expand(str(a), env) for a in c["command"] + c.get("args", [])]
    rc, _ = run(argv, cwd, env, what)
    return rc, cwd


def k8s_expand(text, env):
    """Kubernetes' $(VAR) references in command, args and env; $$ is a literal $."""
    def one(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, text)


def kubernetes(work, files, leave_out):
    if len(files) != 2:
        raise Failure("kubernetes: JOB.yaml MERGE.yaml")
    job = k8s_job(files[0], indexed=True)
    completions = int(job["spec"]["completions"])
    shard_dirs = []
    shards = 0
    failed = []
    for i in range(completions):
        if leave_out == i + 1:
            print(f"--- index {i}: left out (--leave-out)")
            continue
        rc, cwd = k8s_container_run(job, files[0], work, {"JOB_COMPLETION_INDEX": str(i)},
                                    f"index {i}")
        shard_dirs.append(cwd)
        shards += 1
        if rc != 0:
            failed.append(i)
    if failed:
        raise Failure(f"indexes {failed} of the Indexed Job failed: the Job does not complete, "
                      "so the merge Job is never applied")
    merge = k8s_job(files[1], indexed=False)
    if int(merge["spec"].get("completions", 1)) != 1:
        raise Failure(f"{files[1]}: the merge Job should run one pod")
    rc, cwd = k8s_container_run(merge, files[1], work, {}, "merge")
    if rc != 0:
        raise Failure(f"the merge Job failed (exit {rc})")
    report(cwd, shard_dirs, shards)


# ---------------------------------------------------------------------------------------------
# Slurm

SBATCH_OPTIONS = {  # long name: takes a value; short forms below
    "array": True, "cpus-per-task": True, "job-name": True, "time": True, "output": True,
    "error": True, "dependency": True, "chdir": True, "partition": True, "mem": True,
    "nodes": True, "ntasks": True, "kill-on-invalid-dep": True, "requeue": False,
    "no-requeue": False, "parsable": False,
}
SBATCH_SHORT = {"a": "array", "c": "cpus-per-task", "J": "job-name", "t": "time", "o": "output",
                "e": "error", "d": "dependency", "D": "chdir", "p": "partition", "N": "nodes",
                "n": "ntasks"}


def sbatch_parse(args, where):
    opts = {}
    rest = []
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-") or rest:
            rest.append(a)
            i += 1
            continue
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
        else:
            name, eq, value = SBATCH_SHORT.get(a[1:2], a[1:2]), "", a[2:]
            eq = "=" if value else ""
        if name not in SBATCH_OPTIONS:
            raise Failure(f"{where}: sbatch option '{a}' is not emulated")
        if SBATCH_OPTIONS[name] and not eq:
            i += 1
            if i >= len(args):
                raise Failure(f"{where}: sbatch option '{a}' needs a value")
            value = args[i]
        opts[name] = value if SBATCH_OPTIONS[name] else True
        i += 1
    return opts, rest


def sbatch_directives(script):
    """The #SBATCH lines before the first command, as sbatch reads them."""
    args = []
    with open(script) as f:
        lines = f.read().splitlines()
    if not lines or not lines[0].startswith("#!"):
        raise Failure(f"{script}: sbatch needs a script starting with #! (it refuses others)")
    for line in lines[1:]:
        s = line.strip()
        if s.startswith("#SBATCH"):
            args += s[len("#SBATCH"):].split()
        elif s and not s.startswith("#"):
            break
    return args


def fake_sbatch(queue_file, args):
    """Stands in for sbatch inside the submit script: records the submission, prints its id."""
    opts, rest = sbatch_parse(args, "sbatch command line")
    if len(rest) < 1:
        raise Failure("sbatch: the emulation needs a script file (no --wrap)")
    script = rest[0]
    directives, _ = sbatch_parse(sbatch_directives(script), f"{script} #SBATCH")
    directives.update(opts)  # the command line wins
    with open(queue_file) as f:
        queue = json.load(f)
    job_id = 1000 + 10 * len(queue)
    spool = os.path.join(os.path.dirname(queue_file), f"spool-{job_id}")
    os.makedirs(spool)
    copy = os.path.join(spool, "slurm_script")
    shutil.copyfile(script, copy)  # sbatch takes a copy at submission
    queue.append({"id": job_id, "script": copy, "args": rest[1:], "options": directives,
                  "submit_dir": os.path.abspath(directives.get("chdir", os.getcwd()))})
    with open(queue_file, "w") as f:
        json.dump(queue, f)
    print(job_id if directives.get("parsable") else f"Submitted batch job {job_id}")


def slurm_array(spec):
    spec = spec.split("%")[0]
    tasks = []
    step = 1
    for part in spec.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", part)
        if not m:
            raise Failure(f"--array={spec}: not an array specification")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        step = int(m.group(3)) if m.group(3) else 1
        tasks += list(range(lo, hi + 1, step))
    return sorted(set(tasks)), step


def slurm_output(pattern, job_id, array_id, task):
    pattern = pattern or ("slurm-%A_%a.out" if task is not None else "slurm-%j.out")
    return (pattern.replace("%A", str(array_id)).replace("%a", str(task))
            .replace("%j", str(job_id)))


def slurm_task(job, task, tasks, step, restart_count):
    o = job["options"]
    job_id = job["id"] if task is None else job["id"] + 1 + tasks.index(task)
    env = base_environment()
    env.update({"SLURM_JOB_ID": str(job_id), "SLURM_JOBID": str(job_id),
                "SLURM_JOB_NAME": o.get("job-name", os.path.basename(job["script"])),
                "SLURM_SUBMIT_DIR": job["submit_dir"], "SLURM_JOB_NUM_NODES": "1",
                "SLURM_NNODES": "1", "SLURM_CLUSTER_NAME": "emulated"})
    if "cpus-per-task" in o:
        env["SLURM_CPUS_PER_TASK"] = str(o["cpus-per-task"])
    if task is not None:
        env.update({"SLURM_ARRAY_JOB_ID": str(job["id"]), "SLURM_ARRAY_TASK_ID": str(task),
                    "SLURM_ARRAY_TASK_COUNT": str(len(tasks)),
                    "SLURM_ARRAY_TASK_MIN": str(tasks[0]), "SLURM_ARRAY_TASK_MAX": str(tasks[-1]),
                    "SLURM_ARRAY_TASK_STEP": str(step)})
    if restart_count:
        env["SLURM_RESTART_COUNT"] = str(restart_count)
    with open(job["script"]) as f:
        interpreter = f.readline()[2:].split()
    out = os.path.join(job["submit_dir"],
                       slurm_output(o.get("output"), job_id, job["id"], task))
    what = f"job {job['id']}" + (f" task {task}" if task is not None else "")
    if restart_count:
        what += f" (requeued: SLURM_RESTART_COUNT={restart_count})"
    rc, _ = run(interpreter + [job["script"]] + job["args"], job["submit_dir"], env, what, out)
    return rc


def slurm(work, files, leave_out, requeue):
    if len(files) != 1:
        raise Failure("slurm: SUBMIT.sh")
    submit_dir = os.path.join(work, "submit")
    state = os.path.join(work, "slurm-state")
    bindir = os.path.join(state, "bin")
    os.makedirs(submit_dir)
    os.makedirs(bindir)
    queue_file = os.path.join(state, "queue.json")
    with open(queue_file, "w") as f:
        json.dump([], f)
    sbatch = os.path.join(bindir, "sbatch")
    with open(sbatch, "w") as f:
        f.write(f"#!/bin/sh\nexec {sys.executable} {os.path.abspath(__file__)} "
                f"--fake-sbatch {queue_file} \"$@\"\n")
    os.chmod(sbatch, 0o755)
    env = base_environment()
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    with open(files[0]) as f:
        interpreter = f.readline()[2:].split() or ["sh"]
    rc, _ = run(interpreter + [os.path.abspath(files[0])], submit_dir, env, "submit")
    if rc != 0:
        raise Failure(f"the submit script failed (exit {rc})")
    with open(queue_file) as f:
        queue = json.load(f)
    outcome = {}  # job id -> every task exited 0
    shard_dirs = []
    shards = 0
    merge_dir = None
    for job in queue:
        o = job["options"]
        dep = o.get("dependency")
        if dep:
            m = re.fullmatch(r"afterok:([\d:]+)", dep)
            if not m:
                raise Failure(f"--dependency={dep}: only afterok:ID[:ID...] is emulated")
            needed = [int(x) for x in m.group(1).split(":")]
            unknown = [n for n in needed if n not in outcome]
            if unknown:
                raise Failure(f"job {job['id']} depends on unknown jobs {unknown}")
            if not all(outcome[n] for n in needed):
                raise Failure(
                    f"job {job['id']} depends on afterok:{m.group(1)}, which failed: Slurm "
                    + ("cancels it (--kill-on-invalid-dep)" if o.get("kill-on-invalid-dep")
                       in ("yes", True) else "leaves it pending forever (DependencyNeverSatisfied)"))
        if "array" in o:
            tasks, step = slurm_array(o["array"])
            ok = True
            for n, task in enumerate(tasks):
                if leave_out == n + 1:
                    print(f"--- job {job['id']} task {task}: left out (--leave-out)")
                    continue
                ok = slurm_task(job, task, tasks, step, 0) == 0 and ok
                shards += 1
            if requeue is not None:
                if requeue not in tasks:
                    raise Failure(f"--requeue {requeue}: not a task of --array={o['array']}")
                if not o.get("requeue"):
                    raise Failure("--requeue: the array job was not submitted with --requeue")
                ok = slurm_task(job, requeue, tasks, step, 1) == 0 and ok
            outcome[job["id"]] = ok
            shard_dirs.append(job["submit_dir"])
        else:
            rc = slurm_task(job, None, None, 1, 0)
            outcome[job["id"]] = rc == 0
            merge_dir = job["submit_dir"]
    failed = [j for j, ok in outcome.items() if not ok]
    if failed:
        raise Failure(f"jobs {failed} failed")
    if merge_dir is None:
        raise Failure("the submit script submitted no job besides the array (no merge)")
    report(merge_dir, shard_dirs, shards)


# ---------------------------------------------------------------------------------------------
# GitHub Actions


def gh_expand(text, context, where):
    def one(m):
        expr = m.group(1).strip()
        if expr in context:
            return str(context[expr])
        raise Failure(f"{where}: the expression '${{{{ {expr} }}}}' is not emulated")
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


def gh_order(jobs):
    done, order = set(), []
    while len(order) < len(jobs):
        ready = [j for j, spec in jobs.items() if j not in done and
                 all(n in done for n in gh_needs(spec))]
        if not ready:
            raise Failure("the jobs' needs form a cycle or name a job that does not exist")
        for j in ready:
            done.add(j)
            order.append(j)
    return order


def gh_needs(spec):
    needs = spec.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def gh_combinations(spec, where):
    matrix = (spec.get("strategy") or {}).get("matrix")
    if matrix is None:
        return [{}]
    if not isinstance(matrix, dict) or any(k in matrix for k in ("include", "exclude")):
        raise Failure(f"{where}: only a matrix of lists is emulated (no include/exclude)")
    keys = list(matrix)
    return [dict(zip(keys, values)) for values in itertools.product(*(matrix[k] for k in keys))]


def gh_shell(step, job, workflow):
    shell = (step.get("shell") or ((job.get("defaults") or {}).get("run") or {}).get("shell")
             or ((workflow.get("defaults") or {}).get("run") or {}).get("shell"))
    if shell is None:
        return ["bash", "-e"]
    if shell == "bash":
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    if shell == "sh":
        return ["sh", "-e"]
    raise Failure(f"shell '{shell}' is not emulated")


def gh_upload(store, cwd, with_, where):
    name = with_.get("name", "artifact")
    dest = os.path.join(store, name)
    if os.path.exists(dest):
        raise Failure(f"{where}: an artifact named '{name}' exists already (v4 refuses it)")
    files = []
    for pattern in str(with_.get("path", "")).split("\n"):
        pattern = pattern.strip()
        if not pattern:
            continue
        if pattern.startswith("!"):
            raise Failure(f"{where}: exclusion patterns are not emulated")
        for match in glob.glob(os.path.join(cwd, pattern), recursive=True):
            if os.path.isdir(match):
                for root, _, names in os.walk(match):
                    files += [os.path.join(root, n) for n in names]
            else:
                files.append(match)
    if not files:
        if with_.get("if-no-files-found", "warn") == "error":
            raise Failure(f"{where}: no files for artifact '{name}'")
        print(f"    warning: no files for artifact '{name}'")
        return
    root = os.path.commonpath([os.path.dirname(f) for f in files])  # the least common ancestor
    for f in files:
        target = os.path.join(dest, os.path.relpath(f, root))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(f, target)
    print(f"    uploaded artifact '{name}': {len(files)} files")


def gh_download(store, cwd, with_, where):
    names = sorted(os.listdir(store)) if os.path.isdir(store) else []
    if "name" in with_:
        if with_["name"] not in names:
            raise Failure(f"{where}: no artifact named '{with_['name']}'")
        selected, single = [with_["name"]], True
    else:
        pattern = with_.get("pattern")
        selected = [n for n in names if pattern is None or fnmatch.fnmatchcase(n, pattern)]
        single = False
    path = os.path.join(cwd, with_.get("path", "."))
    merge = with_.get("merge-multiple") in (True, "true")
    for n in selected:
        target = path if single or merge else os.path.join(path, n)
        shutil.copytree(os.path.join(store, n), target, dirs_exist_ok=True)
    print(f"    downloaded artifacts {selected}")


def github(work, files, leave_out):
    if len(files) != 1:
        raise Failure("github: WORKFLOW.yml")
    workflow = load_yaml(files[0])[0]
    jobs = workflow["jobs"]
    store = os.path.join(work, "artifacts")
    succeeded = {}
    shard_dirs, merge_dir = [], None
    for job_name in gh_order(jobs):
        spec = jobs[job_name]
        needs = gh_needs(spec)
        if not all(succeeded[n] for n in needs):
            raise Failure(f"job '{job_name}' needs {needs}, which did not all succeed: it is "
                          "skipped")
        combos = gh_combinations(spec, job_name)
        ok = True
        for index, combo in enumerate(combos):
            if len(combos) > 1 and leave_out == index + 1:
                print(f"--- {job_name} {combo}: left out (--leave-out)")
                continue
            context = {f"matrix.{k}": v for k, v in combo.items()}
            context.update({"strategy.job-index": index, "strategy.job-total": len(combos)})
            label = job_name + (f" ({', '.join(str(v) for v in combo.values())})" if combo
                                else "")
            cwd = os.path.join(work, "workspaces", f"{job_name}-{index}")
            os.makedirs(cwd)
            env = base_environment()
            env.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_JOB": job_name,
                        "GITHUB_WORKSPACE": cwd})
            for scope in (workflow.get("env") or {}, spec.get("env") or {}):
                for k, v in scope.items():
                    env[k] = gh_expand(v, context, f"{job_name}.env.{k}")
            failed = False
            for n, step in enumerate(spec["steps"]):
                where = f"{job_name}.steps[{n}]"
                condition = str(step.get("if", "success()")).strip()
                if condition.startswith("${{"):
                    condition = condition[3:-2].strip()
                if condition not in ("success()", "always()"):
                    raise Failure(f"{where}: if: {condition} is not emulated")
                if failed and condition != "always()":
                    continue
                step_env = dict(env)
                for k, v in (step.get("env") or {}).items():
                    step_env[k] = gh_expand(v, context, f"{where}.env.{k}")
                with_ = {k: gh_expand(v, context, f"{where}.with.{k}") if isinstance(v, str)
                         else v for k, v in (step.get("with") or {}).items()}
                if "run" in step:
                    if "working-directory" in step:
                        raise Failure(f"{where}: working-directory is not emulated")
                    script = os.path.join(work, "scripts", f"{job_name}-{index}-{n}.sh")
                    os.makedirs(os.path.dirname(script), exist_ok=True)
                    with open(script, "w") as f:
                        f.write(gh_expand(step["run"], context, where))
                    rc, _ = run(gh_shell(step, spec, workflow) + [script], cwd, step_env,
                                f"{label}: {gh_expand(step.get('name', 'run'), context, where)}")
                    failed = failed or rc != 0
                elif str(step.get("uses", "")).startswith("actions/upload-artifact@"):
                    gh_upload(store, cwd, with_, where)
                elif str(step.get("uses", "")).startswith("actions/download-artifact@"):
                    gh_download(store, cwd, with_, where)
                else:
                    raise Failure(f"{where}: step {step.get('uses')} is not emulated")
            ok = ok and not failed
            if len(combos) > 1:
                shard_dirs.append(cwd)
            else:
                merge_dir = cwd
        succeeded[job_name] = ok
        if not ok:
            raise Failure(f"job '{job_name}' failed")
    report(merge_dir, shard_dirs)


# ---------------------------------------------------------------------------------------------
# GitLab CI

GITLAB_RESERVED = {"stages", "default", "workflow", "variables", "include", "image", "services",
                   "before_script", "after_script", "cache"}


def gitlab(work, files, leave_out):
    if len(files) != 1:
        raise Failure("gitlab: PIPELINE.yml")
    ci = load_yaml(files[0])[0]
    for key in ("include", "before_script", "after_script"):
        if key in ci or key in (ci.get("default") or {}):
            raise Failure(f"{key} is not emulated")
    stages = ci.get("stages", ["build", "test", "deploy"])
    jobs = {k: v for k, v in ci.items() if k not in GITLAB_RESERVED and not k.startswith(".")}
    for name, spec in jobs.items():
        for key in ("extends", "rules", "only", "except", "when", "before_script",
                    "after_script", "dependencies", "trigger"):
            if key in spec:
                raise Failure(f"job '{name}': {key} is not emulated")
    variables = {k: str(v) for k, v in (ci.get("variables") or {}).items()}
    order = sorted(jobs, key=lambda j: stages.index(jobs[j].get("stage", "test")))
    instances = {}  # job -> [(directory, succeeded)]
    shard_dirs, merge_dir = [], None
    for name in order:
        spec = jobs[name]
        stage = stages.index(spec.get("stage", "test"))
        if "needs" in spec:
            sources = [n if isinstance(n, str) else n["job"] for n in spec["needs"]]
        else:
            sources = [j for j in instances if stages.index(jobs[j].get("stage", "test")) < stage]
        if not all(ok for j in sources for _, ok in instances[j]):
            raise Failure(f"job '{name}': the jobs before it did not all succeed: it does not run")
        parallel = spec.get("parallel", 1)
        if not isinstance(parallel, int):
            raise Failure(f"job '{name}': only parallel: N is emulated")
        script = spec["script"] if isinstance(spec["script"], list) else [spec["script"]]
        instances[name] = []
        for i in range(1, parallel + 1):
            if parallel > 1 and leave_out == i:
                print(f"--- {name} {i}/{parallel}: left out (--leave-out)")
                continue
            label = name if parallel == 1 else f"{name} {i}/{parallel}"
            cwd = os.path.join(work, "builds", label.replace(" ", "-").replace("/", "-of-"))
            os.makedirs(cwd)
            for j in sources:  # artifacts of the jobs it depends on, at their paths
                for d, _ in instances[j]:
                    artifacts = os.path.join(d, ".artifacts")
                    if os.path.isdir(artifacts):
                        shutil.copytree(artifacts, cwd, dirs_exist_ok=True)
            env = base_environment()
            env.update({"CI": "true", "GITLAB_CI": "true", "CI_JOB_NAME": label,
                        "CI_JOB_STAGE": spec.get("stage", "test"), "CI_PROJECT_DIR": cwd,
                        "CI_PIPELINE_SOURCE": "schedule"})
            if parallel > 1:
                env.update({"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(parallel)})
            env.update(variables)
            env.update({k: str(v) for k, v in (spec.get("variables") or {}).items()})
            script_file = os.path.join(work, "scripts", label.replace(" ", "-").replace("/", "-"))
            os.makedirs(os.path.dirname(script_file), exist_ok=True)
            with open(script_file, "w") as f:
                f.write("set -eo pipefail\n" + "\n".join(str(line) for line in script) + "\n")
            rc, _ = run(["bash", script_file], cwd, env, label)
            ok = rc == 0
            artifacts = spec.get("artifacts") or {}
            when = artifacts.get("when", "on_success")
            if artifacts.get("exclude"):
                raise Failure(f"job '{name}': artifacts:exclude is not emulated")
            if when == "always" or (when == "on_success") == ok:
                keep = os.path.join(cwd, ".artifacts")
                for pattern in artifacts.get("paths", []):
                    for match in glob.glob(os.path.join(cwd, pattern), recursive=True):
                        target = os.path.join(keep, os.path.relpath(match, cwd))
                        if os.path.isdir(match):
                            shutil.copytree(match, target, dirs_exist_ok=True)
                        else:
                            os.makedirs(os.path.dirname(target), exist_ok=True)
                            shutil.copy2(match, target)
            instances[name].append((cwd, ok))
            if parallel > 1:
                shard_dirs.append(cwd)
            else:
                merge_dir = cwd
        if not all(ok for _, ok in instances[name]):
            raise Failure(f"job '{name}' failed")
    report(merge_dir, shard_dirs)


def main(argv):
    if len(argv) >= 2 and argv[0] == "--fake-sbatch":
        try:
            fake_sbatch(argv[1], argv[2:])
        except Failure as e:
            print(f"sbatch (emulated): {e}", file=sys.stderr)
            return 1
        return 0
    leave_out = None
    requeue = None
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--leave-out":
            leave_out = int(argv[i + 1])
            i += 2
        elif argv[i] == "--requeue":
            requeue = int(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    engine, work, files = args[0], os.path.abspath(args[1]), [os.path.abspath(f) for f in args[2:]]
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    try:
        if engine == "kubernetes":
            kubernetes(work, files, leave_out)
        elif engine == "slurm":
            slurm(work, files, leave_out, requeue)
        elif engine == "github":
            github(work, files, leave_out)
        elif engine == "gitlab":
            gitlab(work, files, leave_out)
        else:
            raise Failure(f"unknown engine '{engine}'")
    except Failure as e:
        print(f"{engine}: {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
