#!/bin/sh
# The job of the real-kscand guest (e2e/kscand/stage.py), run by e2e/guest/init with
# busybox sh: exactly what a user runs, from the checkout (read-only over 9p) at $P.
#   1. the five events' format files, kscand's knobs and the NUMA layout;
#   2. bin/kscand-record --mms-to-scan $MMS -- the workload (run-workload.sh);
#   3. the report command it printed (text), and the same with --json;
#   4. make install onto a tmpfs overlay of /usr, then the installed
#      `perf script report kscand-report` on the same recording, with --json.
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
[ -d $K ] || { echo "no $K: not a kscand kernel"; exit 12; }
for k in $K/*; do echo "${k##*/} $(cat $k)"; done > $R/knobs-before
cat /sys/devices/system/node/node*/cpulist > $R/node-cpus 2>&1
for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
	echo "${t##*/} $(cat $t/nodelist)"
done > $R/memory-tiers 2>&1

step record
echo 0 > $K/scan_enabled
cd /tmp || exit 13
$P/bin/kscand-record --mms-to-scan $MMS -o /tmp/run.data -- \
	sh $P/e2e/kscand/run-workload.sh /out/kscand-workload $WL_MIB $WL_HOT_MIB \
	$WL_SECONDS $WL_CHURN_MS $R/workload.txt > $R/record.out 2> $R/record.err
echo $? > $R/record.rc
echo 1 > $K/scan_enabled
for k in $K/*; do echo "${k##*/} $(cat $k)"; done > $R/knobs-after
cp /tmp/run.data /tmp/run.data.vmstat-before.txt /tmp/run.data.vmstat-after.txt $R/ || exit 14
cmd=$(tail -n 1 $R/record.out)
echo "$cmd" > $R/report.cmd

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
