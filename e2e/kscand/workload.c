// SPDX-License-Identifier: GPL-2.0
/*
 * kscand-workload: give kscand something to promote, and some mm churn.
 *
 *   kscand-workload MIB HOT_MIB SECONDS CHURN_MS REPORT
 *
 * Maps MIB MiB of anonymous memory and first-touches every page (run it under
 * `numactl --membind=1` so the pages start on the slow node), then for SECONDS
 * writes one byte per page of the first HOT_MIB MiB, pass after pass with a
 * short pause, so kscand finds those pages accessed on consecutive scans and
 * queues them for promotion. Every CHURN_MS it forks a child that execs
 * /bin/true: each is a short-lived mm (kmem_mm_enter at fork and at exec,
 * kmem_mm_exit twice).
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

int main(int argc, char **argv)
{
	unsigned long pages, hot, i, passes = 0, children = 0, failed = 0;
	unsigned long hot_nodes[MAX_NODES + 1] = { 0 }, cold_nodes[MAX_NODES + 1] = { 0 };
	double seconds, churn, start, next_churn;
	char *base;
	FILE *report;

	if (argc != 6) {
		fprintf(stderr, "usage: %s MIB HOT_MIB SECONDS CHURN_MS REPORT\n", argv[0]);
		return 2;
	}
	pages = strtoul(argv[1], NULL, 10) * (1UL << 20) / PAGE;
	hot = strtoul(argv[2], NULL, 10) * (1UL << 20) / PAGE;
	seconds = atof(argv[3]);
	churn = atof(argv[4]) / 1000.0;
	if (!pages || !hot || hot > pages || seconds <= 0 || churn <= 0) {
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

	start = now();
	next_churn = start + churn;
	while (now() - start < seconds) {
		for (i = 0; i < hot; i++)
			base[i * PAGE]++;
		passes++;
		if (now() >= next_churn) {
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
		usleep(20000);
	}

	report = fopen(argv[5], "w");
	if (!report) {
		perror(argv[5]);
		return 1;
	}
	fprintf(report, "pages %lu hot %lu passes %lu children %lu failed %lu seconds %.1f\n",
		pages, hot, passes, children, failed, now() - start);
	if (census(base, 0, hot, hot_nodes) || census(base, hot, pages, cold_nodes)) {
		fprintf(report, "move_pages: %s\n", strerror(errno));
	} else {
		print_nodes(report, "hot", hot_nodes);
		print_nodes(report, "cold", cold_nodes);
	}
	fclose(report);
	return failed ? 1 : 0;
}
