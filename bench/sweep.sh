# Shared by bench/dhcp4.sh, bench/dhcp6.sh and bench/relay.sh (sourced, not run): the
# server process, perfdhcp runs, the rate sweep with medians, the CPU measurement and the
# ratio report.
# The caller sets srv, cli, p, work, SERVERS, RATES, SECS, REPEAT, CPU_RATE, PERF_ARGS
# and defines start_server NAME (which starts the server in the background, through
# "${SERVER_CPU[@]}"). Pinning, the server process and medians are bench/common.sh's.

source bench/common.sh

# Waits for the server just started; exits with its logs when it died.
started() {
  server_pid=$!
  sleep "$([[ $1 == kea ]] && echo 2 || echo 0.5)"
  kill -0 "$server_pid" 2>/dev/null || { echo "$1 did not start" >&2; cat "$work"/*.log "$work"/*.out 2>/dev/null >&2; exit 1; }
}

# perfdhcp at RATE for SECS (with PERF_ARGS): prints "achieved drop1 drop2"
perf() {
  local out
  out=$(timeout $((SECS + 30)) "${CLIENT_CPU[@]}" ip netns exec "$cli" perfdhcp $PERF_ARGS -l "${p}c" -r "$1" -R 100000000 -p "$SECS" 2>&1 || true)
  local got drops
  got=$(awk '/^Rate:/{print $2; exit}' <<<"$out")
  drops=$(awk '/drops ratio:/{gsub("%","",$3); printf "%s ", $3}' <<<"$out")
  echo "${got:-0} ${drops:-100 100}"
}

# Runs ROUND: each server once at RATE (a fresh start each), appending to the runs of
# each in RUNS_GOT, RUNS_D1, RUNS_D2 (and RUNS_CPU: µs of server CPU per exchange).
declare -A RUNS_GOT RUNS_D1 RUNS_D2 RUNS_CPU
measure_round() {
  local rate=$1 s got d1 d2 c0 c1
  shift
  for s in "$@"; do
    start_server "$s"
    c0=$(cpu_ticks)
    read -r got d1 d2 <<<"$(perf "$rate")"
    c1=$(cpu_ticks)
    [[ $d1 == -nan ]] && d1=100
    [[ $d2 == -nan ]] && d2=100
    RUNS_GOT[$s]+="$got "; RUNS_D1[$s]+="$d1 "; RUNS_D2[$s]+="$d2 "
    RUNS_CPU[$s]+="$(awk -v c=$((c1 - c0)) -v t="$(getconf CLK_TCK)" -v g="$got" -v s="$SECS" 'BEGIN{n=g*s; printf "%.1f", (n>0)? c/t*1e6/n : 0}') "
  done
}

# The servers take turns within each step and each CPU measurement (one run of each,
# REPEAT times), so a busy minute of this shared machine falls on all of them rather
# than on whichever server's sweep it happened to meet.
declare -A BEST CPU
sweep() {
  local active=$SERVERS s r got d1 d2 ok still keeping_up=1
  for s in $SERVERS; do BEST[$s]=0; done
  for r in $RATES; do
    [[ -n ${active// /} && $keeping_up == 1 ]] || break
    RUNS_GOT=(); RUNS_D1=(); RUNS_D2=(); RUNS_CPU=()
    for _ in $(seq "$REPEAT"); do measure_round "$r" $active; done
    still=""; keeping_up=0
    for s in $active; do
      got=$(median <<<"${RUNS_GOT[$s]}"); d1=$(median <<<"${RUNS_D1[$s]}"); d2=$(median <<<"${RUNS_D2[$s]}")
      ok=$(awk -v a="$d1" -v b="$d2" 'BEGIN{print (a+0 < 1 && b+0 < 1) ? 1 : 0}')
      printf '%-10s rate %6s: median achieved %9.1f/s  drops %s%% %s%%   (runs: %s)\n' "$s" "$r" "$got" "$d1" "$d2" "${RUNS_GOT[$s]}"
      # A server's sweep ends at its first step over 1 % drops. Its best rate is its
      # highest median of a passing step, not the last one: once perfdhcp itself runs
      # out of CPU it completes fewer exchanges than at a lower step, with drops still
      # under 1 %.
      [[ $ok == 1 ]] || continue
      if (( ${got%.*} > ${BEST[$s]} )); then BEST[$s]=${got%.*}; fi
      still+="$s "
      # The sweep ends when perfdhcp completes under 80 % of the rate asked for with
      # every server still in it: it is at its own ceiling, and higher steps measure
      # nothing more. (Not per server: a busy minute would end one server's sweep and
      # not the others'.)
      if (( ${got%.*} * 5 >= r * 4 )); then keeping_up=1; fi
    done
    active=$still
  done
  RUNS_GOT=(); RUNS_D1=(); RUNS_D2=(); RUNS_CPU=()
  for _ in $(seq "$REPEAT"); do measure_round "$CPU_RATE" $SERVERS; done
  for s in $SERVERS; do
    CPU[$s]=$(median <<<"${RUNS_CPU[$s]}")
    printf '%-10s cpu at %s/s: median %s us/exchange   (runs: %s)\n' "$s" "$CPU_RATE" "${CPU[$s]}" "${RUNS_CPU[$s]}"
  done
  stop_server
}

# The table and the ratios: each of ZT (zerotouch variants) against the null responder
# (rate) and Kea (CPU and rate); zt-plugins against zerotouch.
report() {
  echo
  echo "server      best rate (<1% drops)   CPU us/exchange at ${CPU_RATE}/s"
  for s in $SERVERS; do printf '%-10s  %12s/s            %8s\n' "$s" "${BEST[$s]}" "${CPU[$s]}"; done
  for z in $1; do
    if [[ -n ${BEST[$z]:-} && -n ${BEST[null]:-} && ${BEST[null]} != 0 ]]; then
      awk -v z="${BEST[$z]}" -v n="${BEST[null]}" -v name="$z" 'BEGIN{printf "%s best rate / null responder best rate: %.2f\n", name, z/n}'
    fi
    if [[ -n ${CPU[$z]:-} && -n ${CPU[kea]:-} ]]; then
      awk -v z="${CPU[$z]}" -v k="${CPU[kea]}" -v name="$z" 'BEGIN{if (k>0) printf "%s CPU per exchange / Kea CPU per exchange: %.2f\n", name, z/k}'
    fi
    if [[ -n ${BEST[$z]:-} && -n ${BEST[kea]:-} && ${BEST[kea]} != 0 ]]; then
      awk -v z="${BEST[$z]}" -v k="${BEST[kea]}" -v name="$z" 'BEGIN{printf "%s best rate / Kea best rate: %.2f\n", name, z/k}'
    fi
  done
  if [[ -n ${CPU[zt-plugins]:-} && -n ${CPU[zerotouch]:-} ]]; then
    awk -v p="${CPU[zt-plugins]}" -v z="${CPU[zerotouch]}" 'BEGIN{if (z>0) printf "zt-plugins CPU per exchange / zerotouch: %.3f\n", p/z}'
  fi
  if [[ -n ${BEST[zt-plugins]:-} && -n ${BEST[zerotouch]:-} && ${BEST[zerotouch]} != 0 ]]; then
    awk -v p="${BEST[zt-plugins]}" -v z="${BEST[zerotouch]}" 'BEGIN{printf "zt-plugins best rate / zerotouch best rate: %.3f\n", p/z}'
  fi
}
