# The kv.sh change this run used (not kept): a SCHED_IDLE spinner per core for the whole run.
awake_pids=""
for c in 0 1; do chrt -i 0 taskset -c $c sh -c 'while :; do :; done' & awake_pids="$awake_pids $!"; done
# ...and kill $awake_pids with the servers.
