/* Fixed-length string attributes that fill their size with no NUL (NULLPAD,
 * as h5py writes numpy bytes: np.bytes_("clrestore-checkpoint") is a
 * 20-byte string of 20 characters) are read whole: the checkpoint loader
 * accepts such a `format`, and `info` prints such an attribute in full.
 * Both once dropped the last byte. */
#include <hdf5.h>
#include <unistd.h>

#include "clrestore/checkpoint.h"
#include "clrestore/fileutil.h"
#include "clrestore/h5util.h"
#include "testutil.h"

static int put_nullpad(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(s));
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, t, s) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return ok;
}

int main(void)
{
    cr_h5_quiet();
    const char *src = getenv("CLRESTORE_TEST_SRC");
    char fixture[4096], dir[] = "/tmp/clrestore-h5str-XXXXXX", ck[4200], other[4200];
    snprintf(fixture, sizeof fixture, "%s/fixtures/golden_waunet_small.h5", src ? src : "tests");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(ck, sizeof ck, "%s/ck.h5", dir);
    snprintf(other, sizeof other, "%s/other.h5", dir);

    char *data = NULL;
    size_t len = 0;
    CHECK_OK(cr_read_file(fixture, &data, &len));
    FILE *fp = fopen(ck, "wb");
    CHECK(fp && data && fwrite(data, 1, len, fp) == len);
    if (fp) fclose(fp);
    free(data);
    hid_t f = H5Fopen(ck, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0 && put_nullpad(f, "format", CR_CHECKPOINT_FORMAT));
    if (f >= 0) H5Fclose(f);
    cr_checkpoint *c = NULL;
    CHECK_OK(cr_checkpoint_load(ck, &c));
    cr_checkpoint_free(c);

    f = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(f >= 0 && put_nullpad(f, "note", "abcdef"));
    if (f >= 0) H5Fclose(f);
    char *text = NULL;
    CHECK_OK(cr_h5_describe(other, &text));
    CHECK_MSG(text && strstr(text, "@note = abcdef\n"), "%s", text ? text : "");
    free(text);

    unlink(ck);
    unlink(other);
    rmdir(dir);
    return test_finish("test_h5_strings");
}
