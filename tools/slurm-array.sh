#!/bin/bash
# slurm-array.sh - one cifar-act job split over a Slurm job array: `sbatch
# tools/slurm-array.sh`. Each array task runs one shard, `--shard auto` (K =
# SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT), into the
# same --out and --logdir; the task that finishes last writes the combined
# OUT/manifest.json and OUT/index.html (`cifar-act --merge OUT` does it by hand, and
# names the shards that are missing). README.md, "Many runs".
#
# What to edit:
# - --array: the shards, a range without gaps or step (K = id - first id); 0-7 is 8;
#   0-7%4 runs at most 4 at once.
# - --cpus-per-task: threads per shard; --jobs follows it (cifar-act's default, the
#   node's online CPUs, would oversubscribe a 2-CPU allocation on a big node).
# - --data: a directory on a file system every node sees, holding
#   cifar-10-batches-bin/. Put the data there once first (on a node with network:
#   `cifar-act --data DIR --download-only`); --offline keeps compute nodes off the
#   network and says what is missing.
# - --out, --logdir: on the shared file system too (every shard writes into them).
# - --fn, --normalize, ...: the job, as for any cifar-act run.
# The #SBATCH lines must stay above the first command (sbatch stops reading there).
#SBATCH --job-name=cifar-act
#SBATCH --array=0-7
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=512M
#SBATCH --time=00:10:00
#SBATCH --output=cifar-act-%A_%a.log

cifar-act --data /shared/cifar --out /shared/runs/sigmoid --logdir /shared/runs/sigmoid-logs --fn sigmoid --offline --quiet --jobs "${SLURM_CPUS_PER_TASK:-1}" --shard auto
