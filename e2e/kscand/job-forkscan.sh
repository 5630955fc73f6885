#!/bin/sh
# The job of e2e/kscand/stage.py forkscan: NUMA balancing alone (kscand's scan_enabled 0,
# kernel.numa_balancing=2, memory tiering) on the forking reproducer, once per fork
# interval in $FORK_MS_LIST; each run's "key value" lines go to forkscan-MS.txt.
. /out/job.env
R=/out/results
K=/sys/kernel/mm/kscand
uname -r > $R/guest-uname
[ -d $K ] && echo 0 > $K/scan_enabled
echo 2 > /proc/sys/kernel/numa_balancing || exit 21
{
	echo "numa_balancing $(cat /proc/sys/kernel/numa_balancing)"
	[ -d $K ] && echo "kscand_scan_enabled $(cat $K/scan_enabled)"
} > $R/knobs
status=0
cd /tmp || exit 13
for ms in $FORK_MS_LIST; do
	if [ -n "$FS_RECORD" ]; then
		# the same under kscand-record (FS_RECORD: stage.py forkscan --record), for the
		# promotions by mechanism of the recording
		$P/bin/kscand-record --mms-to-scan 8 --numa-balancing 2 -o /tmp/forkscan-$ms.data \
			-- /out/kscand-forkscan $FS_MIB $FS_HOT_MIB $FS_SECONDS $ms \
			> $R/forkscan-$ms.txt 2> $R/forkscan-$ms.err || status=22
		cp /tmp/forkscan-$ms.data* $R/ || status=23
	else
		/out/kscand-forkscan $FS_MIB $FS_HOT_MIB $FS_SECONDS $ms > $R/forkscan-$ms.txt \
			2> $R/forkscan-$ms.err || status=22
	fi
done
exit $status
