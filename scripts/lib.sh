# Helpers shared by scripts/testbed.sh and scripts/lab.sh (sourced, not run).

# read_pid FILE: print the pid in FILE (empty when missing).
read_pid() {
    if [[ -s $1 ]]; then tr -dc '0-9' <"$1"; fi
}

# wait_for SECONDS CMD...: retry CMD every 0.5 s until it succeeds.
wait_for() {
    local secs=$1 deadline
    shift
    deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
}
