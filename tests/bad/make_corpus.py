#!/usr/bin/env python3
"""Writes the bad-input corpus that tests/cli_bad_inputs.sh feeds to the CLI.

usage: make_corpus.py BASE OUT

BASE holds valid files made by clrestore itself (a tiny run of simulate,
prepare and train): BASE/sim/micrographs/sim_0001_{DW,EVN,ODD}.mrc,
BASE/t.h5 (training set) and BASE/model/last.h5 (checkpoint). Every bad file
is derived from those by a stated change, so the corpus is regenerated at test
time and no binary is committed. Needs numpy and h5py (Debian python3-h5py).
Cases that need the file system (a directory, an unreadable file) are made by
the test script itself.
"""
import os
import shutil
import struct
import sys

import h5py
import numpy as np

BASE, OUT = sys.argv[1], sys.argv[2]
MICS = os.path.join(BASE, "sim", "micrographs")
HEADER = 1024


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def patch_i32(data, offset, value):
    b = bytearray(data)
    struct.pack_into("<i", b, offset, value)
    return bytes(b)


def patch_f32(data, offset, value):
    b = bytearray(data)
    struct.pack_into("<f", b, offset, value)
    return bytes(b)


# ---- MRC: from a valid 2D float32 image (little-endian, as simulate writes) --
dw = read(os.path.join(MICS, "sim_0001_DW.mrc"))
nx, ny, nz, mode = struct.unpack_from("<4i", dw, 0)
assert mode == 2 and nz == 1 and len(dw) == HEADER + 4 * nx * ny, "unexpected base MRC"
mid = HEADER + 4 * (nx * (ny // 2) + nx // 2)  # a pixel near the centre

mrc = {
    "truncated": dw[: HEADER + 4 * nx * ny // 2],       # data cut in half
    "short_header": dw[:500],                           # less than the 1024-byte header
    "exthdr_too_big": patch_i32(dw, 92, 1 << 20),       # NSYMBT: extended header > file
    "nx_zero": patch_i32(dw, 0, 0),
    "ny_negative": patch_i32(dw, 4, -ny),
    "nz_negative": patch_i32(dw, 8, -1),
    # 2^31-1 in each dimension: the byte count overflows 64 bits
    "huge_dims": patch_i32(patch_i32(patch_i32(dw, 0, 2**31 - 1), 4, 2**31 - 1), 8, 2**31 - 1),
    "mode_unknown": patch_i32(dw, 12, 7),
    "mode_negative": patch_i32(dw, 12, -2),
    "nan_pixel": patch_f32(dw, mid, float("nan")),
    "inf_pixel": patch_f32(dw, mid, float("inf")),
    "empty": b"",
}
for name, data in mrc.items():
    write(os.path.join(OUT, "mrc", name + "_DW.mrc"), data)


def crop_rows(data, rows):
    """A valid MRC of the same image with only the first `rows` rows."""
    h = bytearray(data[:HEADER])
    struct.pack_into("<i", h, 4, rows)   # ny
    struct.pack_into("<i", h, 32, rows)  # my
    apix = struct.unpack_from("<f", h, 40)[0] / struct.unpack_from("<i", h, 28)[0]
    struct.pack_into("<f", h, 44, apix * rows)  # cell b
    return bytes(h) + data[HEADER: HEADER + 4 * nx * rows]


# ---- STAR files (micrograph names relative to the STAR's directory) --------
OPTICS = ("\ndata_optics\n\nloop_\n_rlnOpticsGroupName #1\n_rlnOpticsGroup #2\n"
          "_rlnMicrographPixelSize #3\n_rlnVoltage #4\n_rlnSphericalAberration #5\n"
          "_rlnAmplitudeContrast #6\nopticsGroup1 1 {apix} 300 2.7 0.1\n\n")
COLUMNS = ["_rlnMicrographName", "_rlnOpticsGroup", "_rlnDefocusU", "_rlnDefocusV",
           "_rlnDefocusAngle"]


def star(columns, rows, apix="1.5"):
    text = OPTICS.format(apix=apix) + "data_micrographs\n\nloop_\n"
    text += "".join("%s #%d\n" % (c, i + 1) for i, c in enumerate(columns))
    text += "".join(" ".join(r) + "\n" for r in rows)
    return text.encode()


def mic(name, defocus="14713.3"):
    return [name, "1", defocus, defocus, "47.78"]


# STAR files for the full denoise pipeline on two of the bad MRCs
for name in ("truncated", "nan_pixel"):
    write(os.path.join(OUT, "mrc", name + ".star"), star(COLUMNS, [mic(name + "_DW.mrc")]))

# Even/odd pairs for prepare and snr, beside their STAR: DW, EVN and ODD of one
# micrograph with one thing wrong.
EO = os.path.join(OUT, "eo")
evn = read(os.path.join(MICS, "sim_0001_EVN.mrc"))
odd = read(os.path.join(MICS, "sim_0001_ODD.mrc"))
pairs = {
    "shape": crop_rows(odd, ny - 32),                    # ODD smaller than EVN
    "oddtrunc": odd[: HEADER + 4 * nx * ny // 3],        # ODD truncated
    "oddnan": patch_f32(odd, mid, float("nan")),         # NaN in ODD
}
for name, odd_data in pairs.items():
    write(os.path.join(EO, name + "_DW.mrc"), dw)
    write(os.path.join(EO, name + "_EVN.mrc"), evn)
    write(os.path.join(EO, name + "_ODD.mrc"), odd_data)
    write(os.path.join(EO, name + ".star"), star(COLUMNS, [mic(name + "_DW.mrc")]))

STAR = os.path.join(OUT, "star")
good = "../eo/shape_DW.mrc"  # exists; never reached when the STAR is rejected
stars = {
    "no_name_column": star(COLUMNS[1:], [mic(good)[1:]]),
    "no_defocus": star(COLUMNS[:2], [mic(good)[:2]]),
    "defocus_text": star(COLUMNS, [mic(good, "abc")]),
    "defocus_nan": star(COLUMNS, [mic(good, "nan")]),
    "unterminated_quote": star(COLUMNS, [['"' + good] + mic(good)[1:]]),
    "duplicate_column": star(COLUMNS + ["_rlnDefocusU"], [mic(good) + ["15000"]]),
    "short_row": star(COLUMNS, [mic(good)[:3]]),
    "no_rows": star(COLUMNS, []),
    "empty": b"",
    "binary": dw[:2048],
}
for name, data in stars.items():
    write(os.path.join(STAR, name + ".star"), data)
# Pixel size of the micrographs (3 A/px in STAR and MRC) coarser than the
# model's 2.23 A/px: nothing to bin, the model does not apply.
coarse = patch_f32(patch_f32(dw, 40, 3.0 * nx), 44, 3.0 * ny)
write(os.path.join(STAR, "coarse_DW.mrc"), coarse)
write(os.path.join(STAR, "coarse_EVN.mrc"), patch_f32(patch_f32(evn, 40, 3.0 * nx), 44, 3.0 * ny))
write(os.path.join(STAR, "coarse_ODD.mrc"), patch_f32(patch_f32(odd, 40, 3.0 * nx), 44, 3.0 * ny))
write(os.path.join(STAR, "coarse.star"), star(COLUMNS, [mic("coarse_DW.mrc")], apix="3.0"))

# ---- HDF5 ------------------------------------------------------------------
H5 = os.path.join(OUT, "h5")
os.makedirs(H5, exist_ok=True)
ckpt = os.path.join(BASE, "model", "last.h5")
tset = os.path.join(BASE, "t.h5")

with h5py.File(os.path.join(H5, "foreign.h5"), "w") as f:  # valid HDF5, not ours
    f["data"] = np.arange(100, dtype=np.float32).reshape(10, 10)
    f.attrs["creator"] = "someone else"
write(os.path.join(H5, "not_hdf5.h5"), b"this is a text file, not HDF5\n" * 10)
write(os.path.join(H5, "empty.h5"), b"")
write(os.path.join(H5, "ckpt_truncated_file.h5"), read(ckpt)[: len(read(ckpt)) // 2])
write(os.path.join(H5, "ts_truncated_file.h5"), read(tset)[: len(read(tset)) // 2])


def edited(src, name, edit):
    dst = os.path.join(H5, name + ".h5")
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)


def replace(f, path, data):
    del f[path]
    f[path] = data


# checkpoints: the attributes say one architecture, the layers hold another
edited(ckpt, "ckpt_arch_levels", lambda f: f.attrs.modify("levels", 3))
edited(ckpt, "ckpt_arch_filters", lambda f: f.attrs.modify("filters", 8))
# one layer's kernel of the wrong size (5x5 where 3x3 belongs)
edited(ckpt, "ckpt_layer_shape",
       lambda f: replace(f, "layers/003/v", np.ones((4, 3, 5, 5), np.float32)))
# a dataset with fewer elements than the architecture needs
edited(ckpt, "ckpt_short_dataset",
       lambda f: replace(f, "layers/005/v", f["layers/005/v"][:4]))
edited(ckpt, "ckpt_short_bias", lambda f: replace(f, "layers/012/b", f["layers/012/b"][:3]))
edited(ckpt, "ckpt_missing_layer", lambda f: f.__delitem__("layers/007"))
edited(ckpt, "ckpt_version", lambda f: f.attrs.modify("format_version", 99))
edited(ckpt, "ckpt_nan_weight",
       lambda f: replace(f, "layers/000/v", np.full((4, 1, 3, 3), np.nan, np.float32)))
# training sets
edited(tset, "ts_odd_short", lambda f: replace(f, "odd", f["odd"][:-2]))
edited(tset, "ts_no_odd", lambda f: f.__delitem__("odd"))
edited(tset, "ts_nonsquare", lambda f: (replace(f, "even", f["even"][:, :, :16]),
                                        replace(f, "odd", f["odd"][:, :, :16])))

def nan_in_every_pair(f):
    even = f["even"][...]
    even[:, 3, 5] = np.nan  # every pair, so that the first batch drawn has one
    replace(f, "even", even)


edited(tset, "ts_nan", nan_in_every_pair)
edited(tset, "ts_micrograph_index", lambda f: replace(f, "micrograph", np.full(
    f["micrograph"].shape, 99, np.int32)))
