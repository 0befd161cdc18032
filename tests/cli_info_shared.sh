#!/usr/bin/env bash
# `clrestore info` on every shared MRC file prints the dimensions, mode and
# header pixel size that ../shared/data/SOURCES.md records (read here from its
# "header:" lines, written by an independent python struct reader), and on
# every shared STAR file a summary (blocks, micrograph rows) or, for the one
# malformed file, a one-line error naming it.
set -u
BIN=${CLRESTORE_BIN:?}
DATA=${CLRESTORE_SHARED_DATA:-}
if [ ! -f "$DATA/SOURCES.md" ]; then echo "SKIP: shared test data not found ($DATA)"; exit 77; fi
fail=0; checks=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# SOURCES.md: "### `dir/file`" then "- header: ...; NX,NY,NZ=a,b,c; MODE=m; ...; -> header pixel size p A; ..."
current=""
while IFS= read -r line; do
  case "$line" in
    '### `'*) current=${line#'### `'}; current=${current%'`'*} ;;
    '- header:'*)
      case "$current" in mrc/*|micrographs/*|maps/*|particles/*) ;; *) continue ;; esac
      dims=$(printf '%s' "$line" | sed -n 's/.*NX,NY,NZ=\([0-9]*\),\([0-9]*\),\([0-9]*\);.*/\1 x \2 x \3/p')
      mode=$(printf '%s' "$line" | sed -n 's/.*MODE=\([0-9]*\);.*/\1/p')
      apix=$(printf '%s' "$line" | sed -n 's/.*header pixel size \([-0-9.e+]*\) A.*/\1/p')
      out=$("$BIN" info "$DATA/$current" 2>&1); rc=$?
      checks=$((checks + 1))
      [ $rc -eq 0 ] || { bad "$current: exit $rc: $out"; continue; }
      checks=$((checks + 1))
      case "$out" in *" $dims, mode $mode ("*) ;; *) bad "$current: expected '$dims, mode $mode': $out" ;; esac
      checks=$((checks + 1))
      if awk -v a="$apix" 'BEGIN { exit !(a + 0 <= 0) }'; then
        case "$out" in *"pixel size unknown"*) ;; *) bad "$current: expected unknown pixel size: $out" ;; esac
      else
        got=$(printf '%s\n' "$out" | sed -n 's/.*pixel size \([0-9.]*\) A (cell.*/\1/p')
        awk -v a="$apix" -v g="$got" 'BEGIN { d = a - g; if (d < 0) d = -d; exit !(g != "" && d <= 0.0005 * a + 0.0001) }' ||
          bad "$current: pixel size '$got', SOURCES.md says $apix"
      fi ;;
  esac
done < "$DATA/SOURCES.md"
[ $checks -ge 60 ] || bad "only $checks MRC checks: SOURCES.md format changed?"

# STAR files: every one parses (exit 0, a block count), the malformed one fails on one line naming it.
while IFS= read -r f; do
  out=$("$BIN" info "$f" 2>&1); rc=$?
  checks=$((checks + 1))
  case "$f" in
    *malformed*)
      [ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && case "$out" in *"$f"*) true ;; *) false ;; esac ||
        bad "$f: expected a one-line error naming the file, got exit $rc: $out" ;;
    *) [ $rc -eq 0 ] && case "$out" in *": STAR, "*" block"*) true ;; *) false ;; esac || bad "$f: exit $rc: $out" ;;
  esac
done < <(find "$DATA/star" -name '*.star' | sort)

# Summaries checked against the files (pixel sizes from the optics table or magnification).
expect() { # file needle
  checks=$((checks + 1))
  out=$("$BIN" info "$DATA/star/$1" 2>&1)
  case "$out" in *"$2"*) ;; *) bad "star/$1: expected '$2' in: $out" ;; esac
}
expect topaz_EMPIAR-10025_ctf_params.star "pixel size 0.6575 A"
expect topaz_EMPIAR-10025_ctf_params.star "CTF (defocus) on 30 of 30 rows"
expect magellon_micassess_relion31.star "pixel size 0.8320 A"
expect aspire_sample_particles_relion31.star "2 optics groups"
expect cryodrgn_empiar_10076_7.star "pixel size 1.3100 A"

# Header statistics (MRC2014: rms < 0, dmean < min(dmin, dmax) or dmax < dmin
# mean "not computed"): never a mismatch when unset, still one when set and
# stale. Shared files whose header rms is -1 (read here by od), then copies of
# one with the header's dmin, dmax, dmean, rms (words 20-22 and 55) rewritten.
while IFS= read -r f; do
  [ "$(od -An -t f4 -j 216 -N 4 "$f" | tr -d ' ')" = "-1" ] || continue
  checks=$((checks + 1))
  out=$("$BIN" info "$f" 2>&1)
  case "$out" in *"differ from the data"*) bad "$f: rms -1 flagged as a mismatch: $out" ;; esac
done < <(find "$DATA/mrc" "$DATA/micrographs" -name '*.mrc' | sort)
stats_case() { # name dmin dmax dmean rms expect(differ|same)
  local f=$tmpd/$1.mrc out
  cp "$DATA/mrc/de_final_negcell_8x4.mrc" "$f" # data: 32 pixels of 496
  python3 -c "import struct,sys; b=bytearray(open(sys.argv[1],'rb').read()); struct.pack_into('<3f',b,76,$2,$3,$4); struct.pack_into('<f',b,216,$5); open(sys.argv[1],'wb').write(b)" "$f"
  out=$("$BIN" info "$f" 2>&1)
  checks=$((checks + 1))
  case "$6:$out" in differ:*"differ from the data"*|same:*) ;; *) bad "$1: expected $6: $out" ;; esac
  [ "$6" = differ ] || case "$out" in *"differ from the data"*) bad "$1: expected $6: $out" ;; esac
}
tmpd=$(mktemp -d); trap 'rm -rf "$tmpd"' EXIT
stats_case rms_unset 496 496 496 -1 same
stats_case all_unset 2 1 0 -1 same
stats_case mean_stale 0 1000 100 -1 differ
stats_case rms_stale 0 1000 496 5 differ
stats_case all_right 496 496 496 0 same

echo "cli_info_shared: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
