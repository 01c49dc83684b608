# Sourced by the A/B scripts (ceiling-ab.sh, latency-ab.sh, cold-start.sh): how a variant is written,
# NAME[@DIR][:VAR=VALUE[,VAR=VALUE]], and the order the variants run in, so the scripts agree.
# shellcheck disable=SC2034 # order, name, dir and envs are read by the script that sources this file

# round_order ROUND VARIANT...: sets `order` to the variants, reversed in every even round, so that no
# variant always runs first (the machine's state drifts within a round).
round_order() {
  local round=$1 i; shift
  order=("$@")
  if ((round % 2 == 0)); then
    order=(); for ((i = $#; i >= 1; i--)); do order+=("${!i}"); done
  fi
}

# variant_parts VARIANT: sets `name`, `dir` (the build after @, or empty: this checkout's) and `envs` (an
# array of VAR=VALUE, for `env ${envs[@]+"${envs[@]}"} COMMAND`).
variant_parts() {
  local spec=${1%%:*}
  envs=(); [ "$1" != "$spec" ] && IFS=, read -r -a envs <<< "${1#*:}"
  name=${spec%%@*}
  dir=""; [ "$spec" != "$name" ] && dir=${spec#*@}
  return 0
}
