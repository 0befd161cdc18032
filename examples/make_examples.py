#!/usr/bin/env python3
"""Writes the small bundled example files (run once; the outputs are committed).

example_DW.mrc / _EVN.mrc / _ODD.mrc: a 128x96 float32 image of Gaussian blobs
with independent Poisson noise in the even and odd halves (DW = EVN + ODD),
pixel size 1.5 A. micrographs.star: a RELION 3.1 micrograph table for it with
CTF values. Written with struct only (no numpy), seeded: same bytes every run.
"""
import math, random, struct

NX, NY, APIX = 128, 96, 1.5
rng = random.Random(1234)
blobs = [(rng.uniform(10, NX - 10), rng.uniform(10, NY - 10), rng.uniform(2, 5)) for _ in range(12)]
clean = []
for y in range(NY):
    for x in range(NX):
        v = 0.0
        for bx, by, s in blobs:
            v += math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * s * s))
        clean.append(10.0 - 4.0 * v)  # electrons per pixel per half: particles absorb


def poisson(lam):
    # Knuth's method is fine at these small means
    l, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= l:
            return k
        k += 1


even = [float(poisson(max(c, 0.0))) for c in clean]
odd = [float(poisson(max(c, 0.0))) for c in clean]
dw = [e + o for e, o in zip(even, odd)]


def write_mrc(path, data):
    n = len(data)
    mean = sum(data) / n
    rms = math.sqrt(sum((d - mean) ** 2 for d in data) / n)
    hdr = struct.pack("<3i i 3i 3i 3f 3f 3i 3f", NX, NY, 1, 2, 0, 0, 0, NX, NY, 1,
                      NX * APIX, NY * APIX, APIX, 90, 90, 90, 1, 2, 3, min(data), max(data), mean)
    hdr += struct.pack("<i i", 0, 0)            # ISPG, NSYMBT
    hdr += b"\0" * 100                          # EXTRA (EXTTYP, NVERSION inside)
    hdr = hdr[:104] + b"MRCO" + struct.pack("<i", 20140) + hdr[112:]
    hdr += struct.pack("<3f", 0, 0, 0)          # ORIGIN
    hdr += b"MAP " + bytes([0x44, 0x44, 0, 0])  # MAP, MACHST little-endian
    hdr += struct.pack("<f i", rms, 1)          # RMS, NLABL
    label = b"clrestore example (examples/make_examples.py)"
    hdr += label.ljust(80, b" ") + b"\0" * 720
    assert len(hdr) == 1024, len(hdr)
    with open(path, "wb") as f:
        f.write(hdr)
        f.write(struct.pack("<%df" % n, *data))


write_mrc("example_DW.mrc", dw)
write_mrc("example_EVN.mrc", even)
write_mrc("example_ODD.mrc", odd)
with open("micrographs.star", "w") as f:
    f.write("""# version 30001

data_optics

loop_
_rlnOpticsGroupName #1
_rlnOpticsGroup #2
_rlnMicrographPixelSize #3
_rlnVoltage #4
_rlnSphericalAberration #5
_rlnAmplitudeContrast #6
opticsGroup1 1 1.500000 300.000000 2.700000 0.100000

# version 30001

data_micrographs

loop_
_rlnMicrographName #1
_rlnOpticsGroup #2
_rlnDefocusU #3
_rlnDefocusV #4
_rlnDefocusAngle #5
example_DW.mrc 1 15000.0 14000.0 30.0
""")
