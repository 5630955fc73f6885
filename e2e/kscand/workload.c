// SPDX-License-Identifier: GPL-2.0
/*
 * kscand-workload: give kscand something to promote, and some mm churn.
 *
 *   kscand-workload MIB HOT_MIB SECONDS CHURN_MS REPORT [PAUSE_US]
 *
 * Maps MIB MiB of anonymous memory and first-touches every page (run it under
 * `numactl --membind=1` so the pages start on the slow node), then returns to
 * the default policy (under MPOL_BIND to node 1 NUMA balancing would find no
 * page misplaced) and for SECONDS writes one byte per page of the first
 * HOT_MIB MiB, pass after pass with a pause of PAUSE_US (default 20000; 0: a
 * busy loop), so kscand finds those pages accessed on consecutive scans and
 * queues them for promotion. Every CHURN_MS it forks a child that execs
 * /bin/true: each is a short-lived mm (kmem_mm_enter at fork and at exec,
 * kmem_mm_exit twice). CHURN_MS 0: it never forks. NUMA balancing needs that:
 * a single-threaded process that forks more often than once a second is never
 * scanned (each fork resets its next scan time, see
 * ../shared/docs/promotion-mechanisms.md and patch/0003), so the stage runs the
 * churn as a separate process in the modes with NUMA balancing. NUMA balancing
 * also scans a task only once it has run a scan period of CPU time: the busy
 * loop gets there within seconds under emulation.
 *
 * At the end it writes to REPORT how many pages of the hot window and of the
 * rest are on each node (move_pages with no target nodes: a query only), so the
 * stage can show kscand really moved them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pages.h"

#define MPOL_DEFAULT_ 0

int main(int argc, char **argv)
{
	unsigned long pages, hot, i, passes = 0, children = 0, failed = 0;
	unsigned long hot_nodes[MAX_NODES + 1] = { 0 }, cold_nodes[MAX_NODES + 1] = { 0 };
	double seconds, churn, start, next_churn;
	long pause_us = 20000;
	char *base;
	FILE *report;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: %s MIB HOT_MIB SECONDS CHURN_MS REPORT [PAUSE_US]\n",
			argv[0]);
		return 2;
	}
	pages = strtoul(argv[1], NULL, 10) * (1UL << 20) / PAGE;
	hot = strtoul(argv[2], NULL, 10) * (1UL << 20) / PAGE;
	seconds = atof(argv[3]);
	churn = atof(argv[4]) / 1000.0;
	if (argc == 7)
		pause_us = atol(argv[6]);
	if (!pages || !hot || hot > pages || seconds <= 0 || churn < 0 || pause_us < 0) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		return 2;
	}
	base = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(base, pages * PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		base[i * PAGE] = 1;
	if (syscall(SYS_set_mempolicy, MPOL_DEFAULT_, NULL, 0)) {
		perror("set_mempolicy(MPOL_DEFAULT)");
		return 1;
	}

	start = now();
	next_churn = start + churn;
	while (now() - start < seconds) {
		for (i = 0; i < hot; i++)
			base[i * PAGE]++;
		passes++;
		if (churn > 0 && now() >= next_churn) {
			pid_t pid = fork();

			if (pid == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			if (pid > 0) {
				int st;

				waitpid(pid, &st, 0);
				children++;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					failed++;
			} else {
				failed++;
			}
			next_churn += churn;
		}
		if (pause_us)
			usleep(pause_us);
	}

	report = fopen(argv[5], "w");
	if (!report) {
		perror(argv[5]);
		return 1;
	}
	fprintf(report, "pages %lu hot %lu passes %lu children %lu failed %lu seconds %.1f "
		"pid %d\n", pages, hot, passes, children, failed, now() - start, (int)getpid());
	if (census(base, 0, hot, hot_nodes) || census(base, hot, pages, cold_nodes)) {
		fprintf(report, "move_pages: %s\n", strerror(errno));
	} else {
		print_nodes(report, "hot", hot_nodes);
		print_nodes(report, "cold", cold_nodes);
	}
	fclose(report);
	return failed ? 1 : 0;
}
