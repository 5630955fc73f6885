#!/bin/sh
# The job of e2e/kscand/stage.py sample: the A/B sample (samples/kscand-ab-sample.*), one
# recording of the stage's "both" mode, smaller: kscand scanning and kernel.numa_balancing=2
# (memory tiering), the workload looping busy and never forking, the churn apart.
. /out/job.env
R=/out/results
K=/sys/kernel/mm/kscand
export HOME=/tmp
uname -r > $R/guest-uname
perf version > $R/guest-perf-version 2>&1
cd /tmp || exit 13
echo 0 > $K/scan_enabled
SCAN_ENABLED=1 CHURN_APART_MS=$WL_CHURN_MS $P/bin/kscand-record --mms-to-scan $MMS \
	--numa-balancing 2 -o /tmp/kscand-ab-sample.data -- \
	sh $P/e2e/kscand/run-workload.sh /out/kscand-workload $WL_MIB $WL_HOT_MIB $WL_SECONDS 0 \
	$R/workload.txt 0 > $R/record.out 2> $R/record.err
echo $? > $R/record.rc
echo 1 > $K/scan_enabled
cp /tmp/kscand-ab-sample.data /tmp/kscand-ab-sample.data.vmstat-before.txt \
	/tmp/kscand-ab-sample.data.vmstat-after.txt /tmp/kscand-ab-sample.data.kscand.txt $R/ \
	|| exit 14
