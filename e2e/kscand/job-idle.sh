#!/bin/sh
# The measuring job of e2e/kscand/stage.py idle: kscand-record at the kernel's default
# knobs for $IDLE_SECONDS on an idle guest, and nothing else (no report: at the default
# mms_to_scan a kernel that traces every visit writes tens of MB in seconds).
. /out/job.env
R=/out/results
export PAGER=cat HOME=/tmp
uname -r > $R/guest-uname
K=/sys/kernel/mm/kscand
for k in $K/*; do echo "${k##*/} $(cat $k)"; done > $R/knobs
cd /tmp || exit 13
$P/bin/kscand-record -o /tmp/idle.data --duration $IDLE_SECONDS > $R/record.out 2> $R/record.err
echo $? > $R/record.rc
ls -l /tmp/idle.data > $R/size
perf script -i /tmp/idle.data -F event 2>/dev/null | sort | uniq -c > $R/counts
cp /tmp/idle.data.vmstat-before.txt /tmp/idle.data.vmstat-after.txt $R/
exit 0
