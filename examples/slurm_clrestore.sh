#!/bin/bash
# Slurm batch script for clrestore built with -DCLRESTORE_MPI=ON (README,
# docs/mpi.md). One MPI rank per GPU on GPU nodes, or a few ranks per
# CPU-only node, each with its share of the cores. Submit with
#   sbatch examples/slurm_clrestore.sh
# Edit the job size, the paths and the module line for your cluster.
#SBATCH --job-name=clrestore
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=2          # GPU nodes: one per GPU (--gpus-per-node=2)
#SBATCH --cpus-per-task=8
#SBATCH --time=24:00:00
#SBATCH --output=clrestore-%j.log
#SBATCH --signal=B:TERM@300          # training saves and stops 5 min before the time limit
set -euo pipefail

# module load openmpi               # the MPI clrestore was built with
MICS=CtfFind/job003/micrographs_ctf.star
MODEL=model

# CPU-only nodes: PoCL gets each rank's share of the cores (GPU nodes ignore it);
# the ranks of a node take its GPUs in turn (MPI_COMM_TYPE_SHARED), --device overrides
export POCL_MAX_PTHREAD_COUNT=${SLURM_CPUS_PER_TASK:-1}

# 1. training set (one process is enough: it is I/O bound)
[ -f train.h5 ] || srun --ntasks=1 --nodes=1 clrestore prepare -m "$MICS" -o train.h5

# 2. training: the global batch of 10 is split over the ranks (at most 10);
#    --resume makes a requeued or timed-out job continue where it stopped
srun --ntasks=$(( SLURM_NTASKS < 10 ? SLURM_NTASKS : 10 )) \
  clrestore train -t train.h5 -o "$MODEL" --resume --quiet &
wait $!   # so the TERM signal of --signal reaches srun and the ranks save

# 3. denoising: every rank asks rank 0 for the next micrograph; --skip-existing resumes
srun clrestore denoise -p "$MODEL/last.h5" -m "$MICS" -o Denoised/ --skip-existing --quiet

# Without MPI (or across jobs), an array job shards the micrographs instead:
#   #SBATCH --array=1-8
#   clrestore denoise -p model/last.h5 -m "$MICS" -o Denoised/ --shard ${SLURM_ARRAY_TASK_ID}/8
#   then once: clrestore star-merge -o Denoised/denoised_micrographs.star Denoised/*.shard_*_of_8.star
