#!/bin/sh
# The workload kscand-record runs in the real-kscand stage (busybox sh in the guest):
#   run-workload.sh WORKLOAD MIB HOT_MIB SECONDS CHURN_MS REPORT
#
# perf takes seconds to start and to stop under emulation, and kscand-record's
# /proc/vmstat snapshots sit outside those seconds. So that the kernel's counters
# cover exactly what perf saw, kscand is paused (scan_enabled 0) before
# kscand-record starts, resumed here once perf records, and paused again before
# perf stops; the pause after the workload also lets kmigrated drop the queue of
# the exited workload.
K=/sys/kernel/mm/kscand
echo 1 > $K/scan_enabled || exit 20
numactl --membind=1 "$@"
rc=$?
echo 0 > $K/scan_enabled
sleep 2
exit $rc
