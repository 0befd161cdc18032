#!/usr/bin/env bash
# The command-line contract (PRODUCT.md): exit codes 0/1/2, one-line errors
# naming the file, devices listing the OpenCL device, info on bundled files.
set -u
BIN=${CLRESTORE_BIN:?}
SRC=${CLRESTORE_TEST_SRC:?}/..
fail=0; checks=0
check() { # check DESCRIPTION EXPECTED_RC ACTUAL_RC
  checks=$((checks + 1))
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=$((fail + 1)); fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  checks=$((checks + 1))
  case "$2" in *"$3"*) ;; *) echo "FAIL: $1: output lacks '$3': $2"; fail=$((fail + 1)) ;; esac
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$BIN" --version >/dev/null; check "--version" 0 $?
"$BIN" --help >/dev/null; check "--help" 0 $?
"$BIN" >/dev/null 2>&1; check "no command" 2 $?
# every long option a command's getopt table (host/cli/cmd_*.c) accepts is in
# its --help; --stop-after-batches is for tests of crash safety only
for f in "$SRC"/host/cli/cmd_*.c; do
  cmd=$(sed -n 's/.*const cr_command cr_cmd_[a-z_]* = {"\([^"]*\)".*/\1/p' "$f")
  [ -n "$cmd" ] || continue
  help=$("$BIN" "$cmd" --help 2>&1)
  for o in $(grep -o '{"[a-z0-9-]*", *[a-z]*_argument' "$f" | sed 's/{"\([^"]*\)".*/\1/'); do
    [ "$o" = stop-after-batches ] && continue
    contains "$cmd --help names --$o" "$help" "--$o"
  done
done
"$BIN" frobnicate >/dev/null 2>&1; check "unknown command" 2 $?
"$BIN" info >/dev/null 2>&1; check "info without files" 2 $?
"$BIN" info --bogus x >/dev/null 2>&1; check "info unknown option" 2 $?
"$BIN" devices --device >/dev/null 2>&1; check "--device without value" 2 $?
# every subcommand parses with getopt_long: --opt=value, "--" ends the options,
# stray arguments and unknown options are usage errors
"$BIN" devices extra >/dev/null 2>&1; check "devices with an argument" 2 $?
"$BIN" devices --bogus >/dev/null 2>&1; check "devices unknown option" 2 $?
"$BIN" simulate -o "$tmp/s" stray >/dev/null 2>&1; check "simulate with an argument" 2 $?
"$BIN" simulate -o "$tmp/s" --apix >/dev/null 2>&1; check "simulate --apix without value" 2 $?
err=$("$BIN" simulate -o "$tmp/s" --voltage=5 2>&1); check "simulate --voltage=5 out of range" 2 $?
contains "simulate --voltage=5 names the option" "$err" "--voltage must be a number in [10, 3000], not '5'"
"$BIN" simulate --output="$tmp/s" --count=1 --size=32x32 --apix=2.5 --quiet; check "simulate --opt=value" 0 $?
out=$("$BIN" info -- "$tmp/s/micrographs/sim_0001_DW.mrc" 2>&1); check "info -- FILE" 0 $?
contains "simulate --apix=2.5 reached the header" "$out" "pixel size 2.5000 A"
# the global options (--device, --quiet/-q, --verbose/-v) go anywhere after
# the command, among its own options; before it they are not a command
"$BIN" --quiet devices >/dev/null 2>&1; check "global option before the command" 2 $?
err=$("$BIN" simulate --quiet -o "$tmp/q" --count=1 --size=32x32 --apix=2.5 2>&1 >/dev/null); check "simulate --quiet first" 0 $?
checks=$((checks + 1)); [ -z "$err" ] || { echo "FAIL: --quiet still logged: $err"; fail=$((fail + 1)); }
n_info=$("$BIN" simulate -o "$tmp/q" --count=1 --size=32x32 --apix=2.5 2>&1 >/dev/null | wc -l)
n_verbose=$("$BIN" simulate -o "$tmp/q" --count=1 -v --size=32x32 --apix=2.5 2>&1 >/dev/null | wc -l)
checks=$((checks + 1)); [ "$n_verbose" -gt "$n_info" ] || { echo "FAIL: -v among the options: $n_verbose lines, default $n_info"; fail=$((fail + 1)); }
"$BIN" devices --device=nosuch-device >/dev/null 2>&1; check "devices --device=nosuch" 1 $?
"$BIN" info --quiet -- "$tmp/q/micrographs/sim_0001_DW.mrc" >/dev/null; check "info --quiet -- FILE" 0 $?
# the commands that once parsed by hand: unknown options, missing values
for c in "denoise -p m.h5 --tta=1 x.mrc" "denoise -p m.h5 --bogus x.mrc" "denoise -p" "bench --bogus" \
         "bench --repeat" "star-merge -o" "star-merge -o o.star --bogus a.star" "import-restore --bogus" \
         "import-restore --no-phaseflip=1 a.hdf5 -o b.h5" "bench --torch-device gpu" \
         "bench --torch-device cuda:0;true" "bench --torch-device cuda:"; do
  "$BIN" $c >/dev/null 2>&1; check "$c" 2 $?
done

out=$("$BIN" devices 2>&1); check "devices" 0 $?
contains "devices lists a device" "$out" "0 "
out=$("$BIN" devices --device nosuch-device 2>&1); check "devices --device nosuch" 1 $?

err=$("$BIN" info "$tmp/missing.mrc" 2>&1 >/dev/null); check "info missing file" 1 $?
contains "missing file named" "$err" "$tmp/missing.mrc"
checks=$((checks + 1)); [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "FAIL: error not one line: $err"; fail=$((fail + 1)); }
err=$("$BIN" info "$tmp" 2>&1 >/dev/null); check "info directory" 1 $?
contains "directory named" "$err" "is a directory"
printf 'garbage' > "$tmp/short.mrc"
err=$("$BIN" info "$tmp/short.mrc" 2>&1 >/dev/null); check "info truncated mrc" 1 $?
contains "truncated file named" "$err" "$tmp/short.mrc"
out=$("$BIN" info "$tmp/short.mrc" "$SRC/examples/example_DW.mrc" 2>/dev/null); check "info bad + good" 1 $?
contains "good file still described" "$out" "128 x 96 x 1"

# NaN pixels: described, then a one-line error and exit 1
head -c 1024 "$SRC/examples/example_DW.mrc" > "$tmp/nan.mrc"
for i in $(seq 12288); do printf '\x00\x00\xc0\x7f'; done >> "$tmp/nan.mrc"
err=$("$BIN" info "$tmp/nan.mrc" 2>&1 >/dev/null); check "info NaN mrc" 1 $?
contains "NaN reported" "$err" "NaN or Inf"
contains "NaN file named" "$err" "$tmp/nan.mrc"
# absurd dimensions (nx = 2^31 - 1): an error, no allocation, no crash
cp "$SRC/examples/example_DW.mrc" "$tmp/huge.mrc"
printf '\xff\xff\xff\x7f' | dd of="$tmp/huge.mrc" bs=1 seek=0 conv=notrunc status=none
err=$("$BIN" info "$tmp/huge.mrc" 2>&1 >/dev/null); check "info absurd dims" 1 $?
contains "absurd dims named" "$err" "$tmp/huge.mrc"
# unreadable file (meaningless as root, who reads everything)
if [ "$(id -u)" -ne 0 ]; then
  cp "$SRC/examples/example_DW.mrc" "$tmp/noread.mrc"; chmod 000 "$tmp/noread.mrc"
  err=$("$BIN" info "$tmp/noread.mrc" 2>&1 >/dev/null); check "info unreadable" 1 $?
  contains "unreadable named" "$err" "$tmp/noread.mrc"
fi
# inputs are never modified by info
sum_before=$(cksum < "$SRC/examples/example_DW.mrc")

out=$("$BIN" info "$SRC/examples/example_DW.mrc"); check "info example mrc" 0 $?
checks=$((checks + 1)); [ "$(cksum < "$SRC/examples/example_DW.mrc")" = "$sum_before" ] || { echo "FAIL: input changed"; fail=$((fail + 1)); }
contains "example dims" "$out" "MRC image 128 x 96 x 1, mode 2 (float32)"
contains "example pixel" "$out" "pixel size 1.5000 A"
out=$("$BIN" info "$SRC/examples/micrographs.star"); check "info example star" 0 $?
contains "example blocks" "$out" "data_micrographs: loop, 1 rows x 5 columns"
contains "example optics merge" "$out" "pixel size 1.5000 A"
contains "example ctf" "$out" "CTF (defocus) on 1 of 1 rows"

echo "cli_basic: $checks checks, $((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
