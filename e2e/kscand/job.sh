#!/bin/sh
# The job of the real-kscand guest (e2e/kscand/stage.py), run by e2e/guest/init with
# busybox sh: exactly what a user runs, from the checkout (read-only over 9p) at $P.
#   1. the five events' format files, kscand's knobs and the NUMA layout;
#   2. the same workload recorded in three modes (issue 20), each with
#      bin/kscand-record --mms-to-scan $MMS --numa-balancing N -- run-workload.sh:
#        kscand   kscand alone, kernel.numa_balancing 0 (run.data, the churn forked by
#                 the workload, a pause between passes: the stage's first mode);
#        numab    NUMA balancing's memory tiering alone: kscand's scan_enabled 0,
#                 numa_balancing 2 (run-numab.data);
#        both     kscand and numa_balancing 2 (run-both.data);
#      in numab and both the churn runs as a separate process and the workload never
#      forks (NUMA balancing never scans a process that forks every second) and loops
#      busy (NUMA balancing scans a task once it has had a scan period of CPU);
#   3. the report command kscand-record printed (`--vmstat`), as text and with --json,
#      for run.data (stage.py runs it with --json on the two other modes' recordings on
#      the host, at native speed);
#   4. make install onto a tmpfs overlay of /usr, then the installed
#      `perf script report kscand-report` on run.data, with --json.
. /out/job.env
R=/out/results
K=/sys/kernel/mm/kscand
export PAGER=cat HOME=/tmp
mkdir -p $R/formats
status=0
step() { echo "E2E-STEP $* at $(cut -d" " -f1 /proc/uptime) s"; }

uname -r > $R/guest-uname
perf version > $R/guest-perf-version 2>&1
for e in kmem_mm_enter kmem_mm_exit kmem_scan_mm_start kmem_scan_mm_end kmem_scan_mm_migrate; do
	cat /sys/kernel/tracing/events/kmem/$e/format > $R/formats/$e || exit 11
done
for e in migrate/mm_migrate_pages migrate/mm_migrate_pages_start sched/sched_switch; do
	cat /sys/kernel/tracing/events/$e/format > $R/formats/${e#*/} 2>&1
done
[ -d $K ] || { echo "no $K: not a kscand kernel"; exit 12; }
for k in $K/*; do echo "${k##*/} $(cat $k)"; done > $R/knobs-before
cat /proc/sys/kernel/numa_balancing > $R/numa-balancing-before
cat /sys/devices/system/node/node*/cpulist > $R/node-cpus 2>&1
for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
	echo "${t##*/} $(cat $t/nodelist)"
done > $R/memory-tiers 2>&1
cd /tmp || exit 13

# record NAME NUMA_BALANCING SCAN_ENABLED SECONDS CHURN_MS CHURN_APART_MS PAUSE_US
record() {
	step "record $1"
	sfx=${1#kscand}; sfx=${sfx:+-$1}
	echo 0 > $K/scan_enabled
	SCAN_ENABLED=$3 CHURN_APART_MS=$6 $P/bin/kscand-record --mms-to-scan $MMS \
		--numa-balancing $2 -o /tmp/run$sfx.data -- \
		sh $P/e2e/kscand/run-workload.sh /out/kscand-workload $WL_MIB $WL_HOT_MIB \
		$4 $5 $R/workload$sfx.txt $7 > $R/record$sfx.out 2> $R/record$sfx.err
	echo $? > $R/record$sfx.rc
	cp /tmp/run$sfx.data /tmp/run$sfx.data.vmstat-before.txt \
		/tmp/run$sfx.data.vmstat-after.txt /tmp/run$sfx.data.kscand.txt $R/ || exit 14
	tail -n 1 $R/record$sfx.out > $R/report$sfx.cmd
}
record kscand 0 1 $WL_SECONDS $WL_CHURN_MS "" 20000
echo 1 > $K/scan_enabled
for k in $K/*; do echo "${k##*/} $(cat $k)"; done > $R/knobs-after
record numab 2 0 $NB_SECONDS 0 $WL_CHURN_MS 0
record both 2 1 $NB_SECONDS 0 $WL_CHURN_MS 0
echo 1 > $K/scan_enabled
cat /proc/sys/kernel/numa_balancing > $R/numa-balancing-after
cmd=$(cat $R/report.cmd)

step report
sh -c "$cmd" > $R/report.txt 2> $R/report.err || status=15
sh -c "$cmd --json" > $R/report.json 2> $R/report-json.err || status=16

step install
mkdir -p /tmp/usr-up /tmp/usr-work
mount -t overlay overlay -o lowerdir=/host/usr,upperdir=/tmp/usr-up,workdir=/tmp/usr-work /usr \
	|| exit 17
make -C $P install > $R/install.log 2>&1 || exit 18
perf script -l > $R/script-list.txt 2>&1
step installed-report
perf script report kscand-report -i /tmp/run.data -- --vmstat /tmp/run.data.vmstat-before.txt \
	/tmp/run.data.vmstat-after.txt --json > $R/installed.json 2> $R/installed.err || status=19
step done
exit $status
