#!/bin/sh
# The workload kscand-record runs in the real-kscand stage (busybox sh in the guest):
#   [SCAN_ENABLED=0|1] [CHURN_APART_MS=N] run-workload.sh WORKLOAD MIB HOT_MIB SECONDS CHURN_MS REPORT [PAUSE_US]
#
# perf takes seconds to start and to stop under emulation, and kscand-record's
# /proc/vmstat snapshots sit outside those seconds. So that the kernel's counters
# cover exactly what perf saw, kscand is paused (scan_enabled 0) before
# kscand-record starts, resumed here once perf records (unless SCAN_ENABLED=0: the
# NUMA-balancing-alone mode), and paused again before perf stops; the pause after
# the workload also lets kmigrated drop the queue of the exited workload.
#
# CHURN_APART_MS=N runs the mm churn (a short-lived /bin/true every N ms) as a
# separate process beside the workload, which then must not fork itself
# (CHURN_MS 0): NUMA balancing never scans a single-threaded process that forks
# more often than once a second (each fork resets its next scan time).
K=/sys/kernel/mm/kscand
echo "${SCAN_ENABLED:-1}" > $K/scan_enabled || exit 20
churn=
if [ -n "$CHURN_APART_MS" ]; then
	s=$(awk "BEGIN { print $CHURN_APART_MS / 1000 }")
	sh -c "while :; do /bin/true; sleep $s; done" &
	churn=$!
fi
numactl --membind=1 "$@"
rc=$?
[ -z "$churn" ] || { kill $churn; wait $churn 2>/dev/null; }
echo 0 > $K/scan_enabled
sleep 2
exit $rc
