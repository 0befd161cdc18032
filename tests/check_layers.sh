#!/bin/bash
# The layer order of host/: model (the network's description) below io (file
# formats) and nn (the engine); io and model never reach into nn, model never
# into io. Checked twice, because the old io -> nn cycle needed no include of
# an nn file (io called cr_arch_*, defined in host/nn, through the public
# arch.h): (1) the quoted #includes of host/io and host/model, followed
# through the public headers they name; (2) when clrestore_core's object files
# are given, the symbols that io's and model's objects use against those that
# nn's (and io's) define. Usage: check_layers.sh SOURCE_DIR [OBJECT_FILE...].
src=${1:?source dir}
shift
objs=("$@")
fail=0
bad() { echo "check_layers: $*"; fail=1; }

# quoted includes of a file, one per line
quoted() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"; }

# every header reached from file through quoted includes (public headers by
# clrestore/ name; internal ones relative to the file or to host/)
closure() {
  local todo=("$1") seen="" f inc path
  while ((${#todo[@]})); do
    f=${todo[0]}
    todo=("${todo[@]:1}")
    for inc in $(quoted "$f"); do
      case $inc in
        clrestore/*) path=$src/include/$inc ;;
        *) path=$(dirname "$f")/$inc; [[ -f $path ]] || path=$src/host/$inc; [[ -f $path ]] || path=$src/kernels/$inc ;;
      esac
      path=$(realpath -m "$path")
      [[ " $seen " == *" $path "* ]] && continue
      seen="$seen $path"
      echo "$path"
      [[ -f $path ]] && todo+=("$path")
    done
  done
}

# nn's headers: its folder and its public ones
is_nn() { [[ $1 == "$src"/host/nn/* || $1 == */include/clrestore/nn.h || $1 == */include/clrestore/nn_params.h ||
           $1 == */include/clrestore/waunet.h ]]; }
# io's: its folder and the public headers of what it implements
is_io() { [[ $1 == "$src"/host/io/* || $1 =~ /include/clrestore/(checkpoint|h5util|keras|json|mrc|npy|star|trainset|plot|preview|cs_exposures)\.h$ ]]; }

for f in "$src"/host/io/*.[ch] "$src"/host/model/*.[ch]; do
  layer=$(basename "$(dirname "$f")")
  for h in $(closure "$f"); do
    is_nn "$h" && bad "${f#$src/} ($layer) reaches ${h#$src/} (nn)"
    [[ $layer == model ]] && is_io "$h" && bad "${f#$src/} (model) reaches ${h#$src/} (io)"
  done
done

if ((${#objs[@]})); then
  command -v nm > /dev/null || { echo "check_layers: nm not found"; exit 77; }
  of() { for o in "${objs[@]}"; do [[ $o == */host/$1/* ]] && echo "$o"; done; }
  defs() { of "$1" | while read -r o; do nm --defined-only -g "$o"; done | awk 'NF == 3 {print $3}' | sort -u; }
  undefs() { of "$1" | while read -r o; do nm -u "$o"; done | awk '{print $NF}' | sort -u; }
  for l in io model nn; do [[ -n $(of $l) ]] || { bad "no object of host/$l among the arguments"; exit 1; }; done
  nn_defs=$(defs nn)
  io_defs=$(defs io)
  for s in $(comm -12 <(undefs io) <(echo "$nn_defs")); do bad "host/io uses $s, defined in host/nn"; done
  for s in $(comm -12 <(undefs model) <(echo "$nn_defs")); do bad "host/model uses $s, defined in host/nn"; done
  for s in $(comm -12 <(undefs model) <(echo "$io_defs")); do bad "host/model uses $s, defined in host/io"; done
fi
((fail)) && exit 1
echo "check_layers: host/model < host/io, host/nn: no include or symbol against the order"
