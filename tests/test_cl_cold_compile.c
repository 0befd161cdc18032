/* A first run on a machine (kernel caches empty: ours, clFFT's and PoCL's,
 * pointed at new directories) prints nothing from the OpenCL compilers:
 * PoCL's clang says "N warnings generated." on stderr for each cold build of
 * clFFT's kernels unless clrestore silences it (host/runtime/devices.c).
 * stderr is captured while a clFFT and a VkFFT plan are built. The same
 * program run as a child with the verbose level (argv[1] = "verbose") must
 * show the compiler's line on PoCL: the builds were cold and had warnings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clrestore/fft.h"
#include "clrestore/log.h"
#include "clrestore/runtime.h"
#include "testutil.h"

/* Builds the plans with every cache empty, stderr going to a file; returns
 * what was written to stderr (malloc'd), or NULL without a device. */
static char *cold_builds(int verbose)
{
    char dir[64] = "/tmp/clrestore-cold-XXXXXX", sub[128], log[128];
    if (!mkdtemp(dir)) return NULL;
    snprintf(sub, sizeof sub, "%s/pocl", dir);
    setenv("POCL_CACHE_DIR", sub, 1);
    snprintf(sub, sizeof sub, "%s/ours", dir);
    setenv("CLRESTORE_CACHE_DIR", sub, 1);
    unsetenv("CLFFT_CACHE_PATH");
    snprintf(sub, sizeof sub, "mkdir -p %s/pocl %s/ours", dir, dir);
    if (system(sub) != 0) return NULL;
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
    cr_status st = cr_runtime_create(NULL, &rt);
    if (st == CR_OK) st = cr_fft_create(rt, &f);
    if (st == CR_OK) st = cr_fft_plan_get(f, 16, 16, 1, CR_FFT_CLFFT, &p);
    if (st == CR_OK && cr_fft_backend_available(CR_FFT_VKFFT)) st = cr_fft_plan_get(f, 16, 16, 1, CR_FFT_VKFFT, &p);
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
    snprintf(sub, sizeof sub, "rm -rf %s", dir);
    if (system(sub) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return text;
}

int main(int argc, char **argv)
{
    int child = argc > 1 && strcmp(argv[1], "verbose") == 0;
    unsetenv("POCL_EXTRA_BUILD_FLAGS"); /* the parent's, set by clrestore: the child sees the user's none */
    cr_log_set_level(child ? CR_LOG_VERBOSE : CR_LOG_INFO);
    cr_device_desc *list = NULL;
    int n = 0;
    if (cr_devices_list(&list, &n) != CR_OK || n == 0) {
        printf("SKIP: no OpenCL device on this machine\n");
        return 77;
    }
    int pocl = strstr(list[0].platform_name, "Portable Computing Language") != NULL;
    free(list);
    if (child) {
        char *text = cold_builds(1);
        int shown = text && strstr(text, " generated.") != NULL;
        free(text);
        return shown ? 0 : 1;
    }
    char *text = cold_builds(0);
    CHECK_MSG(text && text[0] == '\0', "compiler output on stderr: %s", text ? text : "(not captured)");
    free(text);
    if (pocl) {
        /* the child must set its level before its first cr_devices_list: a new
         * process, not a fork of this one */
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], "verbose", (char *)NULL);
            _exit(127);
        }
        int status = 0;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "--verbose, cold PoCL cache: the compiler's line was not shown (exit %d)", WEXITSTATUS(status));
    }
    return test_finish("test_cl_cold_compile");
}
