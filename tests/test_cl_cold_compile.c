/* A first run on a machine (kernel caches empty: ours, clFFT's, PoCL's and
 * Mesa's, pointed at new directories) prints nothing from the OpenCL
 * compilers: PoCL's clang says "N warnings generated." on stderr for each
 * cold build of clFFT's and VkFFT's kernels unless clrestore mutes stderr
 * around them (cr_log_quiet_call), and about our own kernels unless they
 * build with -w (host/runtime/program.c). stderr is captured while a clFFT
 * and a VkFFT plan and a program of ours with a #warning are built. The same
 * program run as a child with the verbose level (argv[1] = "verbose") must
 * show the build log of ours with the warning wherever the device's own log
 * records it (PoCL does; rusticl keeps only a failed build's), the compiler's
 * line for clFFT's kernels on PoCL, and no "Cannot not create directory" from
 * clFFT (rusticl's vendor "Mesa/X.org" in its cache path). CLRESTORE_DEVICE
 * picks the device (device_rusticl runs it on rusticl). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clrestore/fft.h"
#include "clrestore/log.h"
#include "clrestore/runtime.h"
#include "testutil.h"

/* A kernel that builds, with one warning (a #warning always is one). */
#define PROBE_WARNING "clrestore-cold-compile-probe"
static const char PROBE_SRC[] = "#warning " PROBE_WARNING "\n"
                                "__kernel void cold_probe(__global float *x) { x[get_global_id(0)] = 1.0f; }\n";

static char dir[64] = "/tmp/clrestore-cold-XXXXXX";
static int pocl;                /* the device cold_builds used is PoCL's */
static int device_logs_warning; /* its build log of the probe names the #warning */

/* Empty caches, before the first OpenCL call (PoCL reads POCL_CACHE_DIR when
 * it starts); 0 on success. */
static int cold_dirs(void)
{
    char sub[192];
    if (!mkdtemp(dir)) return -1;
    snprintf(sub, sizeof sub, "%s/pocl", dir);
    setenv("POCL_CACHE_DIR", sub, 1);
    snprintf(sub, sizeof sub, "%s/ours", dir);
    setenv("CLRESTORE_CACHE_DIR", sub, 1);
    snprintf(sub, sizeof sub, "%s/mesa", dir); /* rusticl's (Mesa's disk cache) */
    setenv("MESA_SHADER_CACHE_DIR", sub, 1);
    unsetenv("CLFFT_CACHE_PATH");
    snprintf(sub, sizeof sub, "mkdir -p %s/pocl %s/ours", dir, dir);
    return system(sub) == 0 ? 0 : -1;
}

static void rmdir_all(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Builds the plans and the probe with every cache empty, stderr going to a
 * file; returns what was written to stderr (malloc'd), or NULL. */
static char *cold_builds(int verbose)
{
    char log[128];
    snprintf(log, sizeof log, "%s/stderr.txt", dir);
    cr_log_set_level(verbose ? CR_LOG_VERBOSE : CR_LOG_INFO);

    fflush(stderr);
    int saved = dup(2);
    FILE *cap = fopen(log, "w");
    if (saved < 0 || !cap) return NULL;
    dup2(fileno(cap), 2);
    cr_runtime *rt = NULL;
    cr_fft *f = NULL;
    cr_fft_plan *p = NULL;
    cr_status st = cr_runtime_create(getenv("CLRESTORE_DEVICE"), &rt);
    if (st == CR_OK) pocl = strstr(rt->dev.platform_name, "Portable Computing Language") != NULL;
    if (st == CR_OK) st = cr_fft_create(rt, &f);
    if (st == CR_OK) st = cr_fft_plan_get(f, 16, 16, 1, CR_FFT_CLFFT, &p);
    if (st == CR_OK && cr_fft_backend_available(CR_FFT_VKFFT)) st = cr_fft_plan_get(f, 16, 16, 1, CR_FFT_VKFFT, &p);
    cl_program prog = NULL;
    if (st == CR_OK) st = cr_program_from_source(rt, "cold_probe", PROBE_SRC, NULL, &prog);
    if (st == CR_OK) {
        /* the device's own log of the probe: PoCL keeps a successful build's
         * warnings there, rusticl (Mesa 22.3) only a failed one's */
        char dlog[4096] = "";
        clGetProgramBuildInfo(prog, rt->dev.device, CL_PROGRAM_BUILD_LOG, sizeof dlog - 1, dlog, NULL);
        device_logs_warning = strstr(dlog, PROBE_WARNING) != NULL;
    }
    cr_fft_free(f);
    cr_runtime_free(rt);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(cap);
    CHECK_MSG(st == CR_OK, "building the plans: %s", cr_error_message());

    char *text = NULL;
    size_t len = 0;
    FILE *in = fopen(log, "r");
    if (in) {
        text = calloc(1, 1 << 16);
        if (text) len = fread(text, 1, (1 << 16) - 1, in);
        fclose(in);
    }
    (void)len;
    rmdir_all();
    return text;
}

int main(int argc, char **argv)
{
    int child = argc > 1 && strcmp(argv[1], "verbose") == 0;
    cr_log_set_level(child ? CR_LOG_VERBOSE : CR_LOG_INFO);
    if (cold_dirs() != 0) {
        printf("FAIL: could not make the empty cache directories under /tmp\n");
        return 1;
    }
    cr_device_desc *list = NULL;
    int n = 0;
    if (cr_devices_list(&list, &n) != CR_OK || n == 0) {
        printf("SKIP: no OpenCL device on this machine\n");
        rmdir_all();
        return 77;
    }
    free(list);
    if (child) {
        char *text = cold_builds(1);
        /* ours: the log, printed by clrestore; clFFT's: PoCL's clang itself */
        int ours = text && (device_logs_warning ? strstr(text, "build log of cold_probe") && strstr(text, PROBE_WARNING)
                                                : !pocl);
        int theirs = text && strstr(text, " generated.");
        /* clFFT's cache directory made (rusticl's vendor "Mesa/X.org" has a '/'):
         * --verbose hides nothing, so clFFT did not complain */
        int dirs = text && !strstr(text, "Cannot not create directory");
        if (!ours || (pocl && !theirs) || !dirs) fprintf(stdout, "verbose child's stderr:\n%s\n", text ? text : "(none)");
        free(text);
        return (ours ? 0 : 1) | (!pocl || theirs ? 0 : 2) | (dirs ? 0 : 4);
    }
    char *text = cold_builds(0);
    CHECK_MSG(text && text[0] == '\0', "compiler output on stderr: %s", text ? text : "(not captured)");
    free(text);
    {
        /* a new process, not a fork of this one: PoCL reads POCL_CACHE_DIR once */
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], "verbose", (char *)NULL);
            _exit(127);
        }
        int status = 0;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK_MSG(WIFEXITED(status) && !(WEXITSTATUS(status) & 1),
                  "--verbose, cold caches: the build log of our kernel was not shown (exit %d)", WEXITSTATUS(status));
        CHECK_MSG(WIFEXITED(status) && !(WEXITSTATUS(status) & 2),
                  "--verbose, cold PoCL cache: PoCL's line for clFFT's kernels was not shown (exit %d)",
                  WEXITSTATUS(status));
        CHECK_MSG(WIFEXITED(status) && !(WEXITSTATUS(status) & 4),
                  "--verbose: clFFT could not make its cache directory (exit %d)", WEXITSTATUS(status));
    }
    return test_finish("test_cl_cold_compile");
}
