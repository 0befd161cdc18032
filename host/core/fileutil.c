/* Temp-then-rename output files and whole-file reads. */
#include "clrestore/fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* This machine's name for temporary file names: a pid only identifies a
 * process on one host, and output directories are often shared by several. */
static const char *host_name(void)
{
    static char host[72];
    if (!host[0]) {
        if (gethostname(host, 64) != 0 || !host[0]) snprintf(host, sizeof host, "localhost");
        host[64] = '\0';
        for (char *c = host; *c; c++)
            if (*c == '/') *c = '_';
    }
    return host;
}

void cr_tmp_path(char *out, size_t outlen, const char *path)
{
    snprintf(out, outlen, "%s.tmp.%s.%ld", path, host_name(), (long)getpid());
}

void cr_remove_stale_tmp(const char *path)
{
    char dirbuf[4096], basebuf[4096], prefix[4200];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    snprintf(basebuf, sizeof basebuf, "%s", path);
    const char *dir = dirname(dirbuf);
    int n = snprintf(prefix, sizeof prefix, "%s.tmp.%s.", basename(basebuf), host_name());
    if (n < 0 || (size_t)n >= sizeof prefix) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)n) != 0) continue;
        char *end = NULL;
        long pid = strtol(e->d_name + n, &end, 10);
        if (pid <= 0 || *end || pid == (long)getpid()) continue;
        /* only a writer that no longer exists: a live one is still writing */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char full[8400];
        if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) < (int)sizeof full) unlink(full);
    }
    closedir(d);
}

void cr_tmp_begin(char *out, size_t outlen, const char *path)
{
    cr_remove_stale_tmp(path);
    cr_tmp_path(out, outlen, path);
}

static cr_status cr_fsync_dir_of(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return CR_OK; /* not fatal: some filesystems refuse */
    fsync(fd);
    close(fd);
    return CR_OK;
}

cr_status cr_commit_path(const char *tmp, const char *final)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0) return cr_fail(CR_ERR_IO, "%s: cannot reopen to sync: %s", tmp, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) {
        unlink(tmp);
        return cr_fail(CR_ERR_IO, "%s: fsync failed: %s", final, strerror(e));
    }
    if (rename(tmp, final) != 0) {
        e = errno;
        unlink(tmp);
        return cr_fail(CR_ERR_IO, "%s: cannot rename temporary file into place: %s", final, strerror(e));
    }
    return cr_fsync_dir_of(final);
}

cr_status cr_atomic_open(cr_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (strlen(path) + 100 >= sizeof f->final_path)
        return cr_fail(CR_ERR_ARG, "%s: path too long", path);
    snprintf(f->final_path, sizeof f->final_path, "%s", path);
    cr_tmp_begin(f->tmp_path, sizeof f->tmp_path, path);
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        f->tmp_path[0] = '\0';
        return cr_fail(CR_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    return CR_OK;
}

cr_status cr_atomic_commit(cr_atomic_file *f)
{
    if (!f->fp) return cr_fail(CR_ERR_INTERNAL, "%s: commit of a file not open", f->final_path);
    int bad = fflush(f->fp) != 0 || ferror(f->fp);
    int e = errno;
    if (!bad && fsync(fileno(f->fp)) != 0) { bad = 1; e = errno; }
    if (fclose(f->fp) != 0 && !bad) { bad = 1; e = errno; }
    f->fp = NULL;
    if (bad) {
        unlink(f->tmp_path);
        f->tmp_path[0] = '\0';
        return cr_fail(CR_ERR_IO, "%s: write failed: %s", f->final_path, strerror(e));
    }
    if (rename(f->tmp_path, f->final_path) != 0) {
        e = errno;
        unlink(f->tmp_path);
        f->tmp_path[0] = '\0';
        return cr_fail(CR_ERR_IO, "%s: cannot rename temporary file into place: %s", f->final_path,
                       strerror(e));
    }
    f->tmp_path[0] = '\0';
    return cr_fsync_dir_of(f->final_path);
}

void cr_atomic_abort(cr_atomic_file *f)
{
    if (!f) return;
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    if (f->tmp_path[0]) unlink(f->tmp_path);
    f->tmp_path[0] = '\0';
}

cr_status cr_mkdir_p(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return cr_fail(CR_ERR_ARG, "%s: path too long", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return cr_fail(CR_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return cr_fail(CR_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
    struct stat sb;
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) return cr_fail(CR_ERR_IO, "%s: exists and is not a directory", dir);
    return CR_OK;
}

cr_status cr_file_size(const char *path, int64_t *size)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return cr_fail(CR_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return cr_fail(CR_ERR_IO, "%s: is a directory, not a file", path);
    if (!S_ISREG(sb.st_mode)) return cr_fail(CR_ERR_IO, "%s: not a regular file", path);
    *size = (int64_t)sb.st_size;
    return CR_OK;
}

cr_status cr_read_file(const char *path, char **data, size_t *len)
{
    int64_t size = 0;
    cr_status st = cr_file_size(path, &size);
    if (st != CR_OK) return st;
    FILE *fp = fopen(path, "rb");
    if (!fp) return cr_fail(CR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc((size_t)size + 1);
    if (!buf) {
        fclose(fp);
        return cr_fail(CR_ERR_NOMEM, "%s: out of memory reading %lld bytes", path, (long long)size);
    }
    size_t got = fread(buf, 1, (size_t)size, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err || got != (size_t)size) {
        free(buf);
        return cr_fail(CR_ERR_IO, "%s: read failed", path);
    }
    buf[got] = '\0';
    *data = buf;
    if (len) *len = got;
    return CR_OK;
}
