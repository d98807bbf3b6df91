#!/bin/sh
# Submits the nightly to Slurm from the current directory (where the results go): the job
# array of slurm-shard.sbatch, then slurm-merge.sbatch, which runs once every task exited 0.
# Prints the two job ids. Run it from a fresh directory each night.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable "$here/slurm-shard.sbatch")
array=${array%%;*}  # --parsable prints "id" or "id;cluster"
merge=$(sbatch --parsable --dependency=afterok:"$array" "$here/slurm-merge.sbatch")
merge=${merge%%;*}
echo "$array $merge"
