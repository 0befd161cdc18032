#!/usr/bin/env bash
# clrestore tune (docs/tuning.md): a --quick run on a tiny network writes the tuning
# cache under $XDG_CACHE_HOME; devices -v and bench --params name that file as the source
# of the tuned classes; denoise with the tuned parameters, and with deliberately odd ones
# written into the cache, matches the reference convolution kernels
# (CLRESTORE_CONV_ENGINE=reference) within float rounding; a corrupt cache gives one
# warning naming the file and the run goes on with the built-in parameters.
set -u
BIN=${CLRESTORE_BIN:?}
FIX=${CLRESTORE_TEST_SRC:?}/fixtures
fail=0; checks=0
check() { checks=$((checks + 1)); if [ "$2" != "$3" ]; then echo "FAIL: $1: got $3, expected $2"; fail=$((fail + 1)); fi; }
has() { checks=$((checks + 1)); case "$2" in *"$3"*) ;; *) echo "FAIL: $1: '$3' not in: $2"; fail=$((fail + 1)) ;; esac; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# PoCL keeps its compiled kernels under XDG_CACHE_HOME too: keep them where they were
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pocl}
export XDG_CACHE_HOME=$tmp/xdg
unset CLRESTORE_TUNE_DIR CLRESTORE_CONV_PARAMS CLRESTORE_NO_TUNE_CACHE CLRESTORE_CONV_ENGINE
cd "$tmp"
gzip -dc "$FIX/regress_train_a.h5.gz" > model.h5 # levels 2, blocks 1, filters 2, expansion 2

out=$("$BIN" tune --quick -p model.h5 --quiet 2>err.txt); check "tune --quick" 0 $?
has "tune says where" "$out" "written: $XDG_CACHE_HOME/clrestore/tune/"
[ -s err.txt ]; check "tune --quiet prints nothing on stderr" 1 $?
cache=$(ls "$XDG_CACHE_HOME"/clrestore/tune/*.conv 2>/dev/null | head -1)
[ -n "$cache" ] && [ -f "$cache" ]; check "cache file written" 0 $?
has "cache header" "$(head -1 "$cache")" "clrestore-conv-params 1"
ls "$XDG_CACHE_HOME"/clrestore/tune/ | grep -q tmp; check "no temporary file left" 1 $?
has "devices -v names the cache" "$("$BIN" devices -v)" "from cache $cache"
has "bench --params names the cache" "$("$BIN" bench --params)" "from cache $cache"
# the GPU search (the work-group tiled variant's tiles, tune_local) where a device's set uses
# that variant: every candidate matches the reference kernels and every class keeps it
out=$(CLRESTORE_CONV_VARIANT=local "$BIN" tune --quick --dry-run -p model.h5 --quiet 2>&1)
check "tune --quick, work-group tiled variant" 0 $?
has "work-group tiled candidates all match the reference" "$out" " 0 rejected"
nc=$(printf '%s\n' "$out" | grep -c '^  fwd_variant=')
nl=$(printf '%s\n' "$out" | grep -c '^  fwd_variant=1 ')
[ "$nc" -ge 1 ] && [ "$nl" = "$nc" ]; check "every tuned class keeps the work-group tiled variant ($nl of $nc)" 0 $?

# float32 pixels of two MRC files: max |a - b| / max |b| below 1e-4
close() {
    /usr/bin/env python3 - "$1" "$2" <<'EOF'
import array, struct, sys
def px(p):
    d = open(p, 'rb').read()
    nx, ny, nz, mode = struct.unpack('<4i', d[:16]); ext = struct.unpack('<i', d[92:96])[0]
    a = array.array('f'); a.frombytes(d[1024 + ext:1024 + ext + 4 * nx * ny * nz]); return a
a, b = px(sys.argv[1]), px(sys.argv[2])
m = max(abs(v) for v in b) or 1.0
e = max(abs(x - y) for x, y in zip(a, b)) / m
print("%.3g" % e); sys.exit(0 if len(a) == len(b) and e < 1e-4 else 1)
EOF
}
img=$FIX/restore_small_in.mrc # 48 x 40
CLRESTORE_CONV_ENGINE=reference "$BIN" denoise -p model.h5 --network-only "$img" -o ref --quiet; check "reference denoise" 0 $?
"$BIN" denoise -p model.h5 --network-only "$img" -o tuned --quiet; check "tuned denoise" 0 $?
e=$(close tuned/restore_small_in_denoised.mrc ref/restore_small_in_denoised.mrc); check "tuned = reference ($e)" 0 $?

# odd tiles in every class line (later fields win): every tail of the kernels runs
sed -i '/^class /s/  #.*//; /^class /s/$/ fwd_tm=5 fwd_tm_fit=0 fwd_vw=4 fwd_local=0 dw_tm=3 dw_tn=5 dw_vw=4 dw_items_per_cu=1 dw_chunk_px=64/' "$cache"
has "odd tiles in use" "$("$BIN" devices -v)" "fwd_tm=5 fwd_tm_fit=0 fwd_vw=4"
"$BIN" denoise -p model.h5 --network-only "$img" -o odd --quiet; check "odd denoise" 0 $?
e=$(close odd/restore_small_in_denoised.mrc ref/restore_small_in_denoised.mrc); check "odd tiles = reference ($e)" 0 $?

# a corrupt cache: one warning naming it, then the built-in parameters
printf 'clrestore-conv-params 1\nclass tiny fwd_tm=\n' > "$cache"
"$BIN" denoise -p model.h5 --network-only "$img" -o corrupt --quiet 2>err.txt; check "denoise with a corrupt cache" 0 $?
has "warning names the file" "$(cat err.txt)" "$cache"
check "one warning line" 1 "$(wc -l < err.txt)"
e=$(close corrupt/restore_small_in_denoised.mrc ref/restore_small_in_denoised.mrc); check "corrupt cache = reference ($e)" 0 $?
# a device with an entry (PoCL) falls back to it, one without (a GPU not in the database)
# to the fallback rules: either way no class comes from the corrupt cache
dv=$("$BIN" devices -v 2>/dev/null)
case "$dv" in *"from built-in"* | *"from fallback"*) b=yes ;; *) b=no ;; esac
check "devices -v falls back to the database or the fallback rules" yes $b
case "$dv" in *"from cache"*) b=yes ;; *) b=no ;; esac
check "devices -v: no class from the corrupt cache" no $b

echo "cli_tune: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
