# Sourced by the MPI tests: skip (77) unless the binary was built with MPI and
# mpirun is there; Open MPI set up for loopback in a container (root allowed,
# shared-memory transport without ptrace, ranks may outnumber cores), one
# PoCL thread per rank. MPIRUN runs the binary on N ranks: $MPIRUN 2 args...
"$BIN" --version | grep -q "^MPI: yes" || { echo "clrestore built without MPI: skipped"; exit 77; }
command -v mpirun >/dev/null || { echo "mpirun not found: skipped"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export POCL_MAX_PTHREAD_COUNT=${POCL_MAX_PTHREAD_COUNT:-1}
mpi_run() { local np=$1; shift; mpirun -np "$np" -x POCL_MAX_PTHREAD_COUNT -x CLRESTORE_CACHE_DIR "$BIN" "$@"; }
