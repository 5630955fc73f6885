// SPDX-License-Identifier: GPL-2.0
/*
 * kscand-forkscan: does NUMA balancing scan a process that forks often?
 *
 *   kscand-forkscan MIB HOT_MIB SECONDS FORK_MS [SLOW_NODE]
 *
 * Binds itself to SLOW_NODE (default 1) with set_mempolicy, maps MIB MiB of
 * anonymous memory and first-touches every page there, then drops the binding
 * (MPOL_DEFAULT) so that NUMA balancing may move the pages. For SECONDS it
 * writes one byte per page of the first HOT_MIB MiB, pass after pass without
 * a pause (NUMA balancing scans a task after it has run a scan period of CPU
 * time, so the process must be busy), and every FORK_MS ms (0: never) forks a
 * child that exits at once. It stays single-threaded throughout.
 *
 * It prints, one "key value" per line: the deltas over the busy SECONDS of the
 * /proc/vmstat counters of NUMA balancing (numa_pte_updates and numa_hint_faults
 * stay 0 when the process is never scanned), and its own page census before
 * and after (move_pages with no target nodes: a query only), as
 * "hot_before node1=2048 other=0" and the like.
 *
 * On a kernel whose init_numa_balancing() resets the parent's scan time at
 * every fork (copy_process() calls sched_fork() before copy_mm(), so p->mm is
 * still the parent's), a single-threaded process that forks more often than
 * once per scan delay (1 s) is never scanned.
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
#define MPOL_BIND_ 2

static const char *const counters[] = {
	"numa_pte_updates", "numa_huge_pte_updates", "numa_hint_faults",
	"numa_hint_faults_local", "numa_pages_migrated", "pgpromote_success",
	"pgpromote_candidate", "pgmigrate_success", "nr_kscand_migrated",
};
#define NR_COUNTERS (sizeof(counters) / sizeof(counters[0]))

/* The counters above from /proc/vmstat; -1 for one the kernel lacks. */
static int vmstat(long long values[NR_COUNTERS])
{
	char name[64];
	long long v;
	unsigned int i;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	for (i = 0; i < NR_COUNTERS; i++)
		values[i] = -1;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		for (i = 0; i < NR_COUNTERS; i++)
			if (!strcmp(name, counters[i]))
				values[i] = v;
	fclose(f);
	return 0;
}

static void print_census(const char *what, char *base, unsigned long from,
			 unsigned long to)
{
	unsigned long counts[MAX_NODES + 1];

	if (census(base, from, to, counts)) {
		printf("%s move_pages: %s\n", what, strerror(errno));
		return;
	}
	print_nodes(stdout, what, counts);
}

int main(int argc, char **argv)
{
	unsigned long pages, hot, i, passes = 0, children = 0, failed = 0, mask;
	long long before[NR_COUNTERS], after[NR_COUNTERS];
	double seconds, every, start, next_fork;
	unsigned int c;
	int slow = 1;
	char *base;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: %s MIB HOT_MIB SECONDS FORK_MS [SLOW_NODE]\n", argv[0]);
		return 2;
	}
	pages = strtoul(argv[1], NULL, 10) * (1UL << 20) / PAGE;
	hot = strtoul(argv[2], NULL, 10) * (1UL << 20) / PAGE;
	seconds = atof(argv[3]);
	every = atof(argv[4]) / 1000.0;
	if (argc == 6)
		slow = atoi(argv[5]);
	if (!pages || !hot || hot > pages || seconds <= 0 || every < 0 || slow < 0 ||
	    slow >= MAX_NODES) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		return 2;
	}
	mask = 1UL << slow;
	if (syscall(SYS_set_mempolicy, MPOL_BIND_, &mask, MAX_NODES + 1)) {
		perror("set_mempolicy(MPOL_BIND)");
		return 1;
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
	printf("fork_ms %s\n", argv[4]);
	print_census("hot_before", base, 0, hot);
	print_census("cold_before", base, hot, pages);
	fflush(stdout);
	if (vmstat(before)) {
		perror("/proc/vmstat");
		return 1;
	}

	start = now();
	next_fork = start + every;
	while (now() - start < seconds) {
		for (i = 0; i < hot; i++)
			base[i * PAGE]++;
		passes++;
		if (every > 0 && now() >= next_fork) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid > 0 && waitpid(pid, NULL, 0) == pid)
				children++;
			else
				failed++;
			next_fork += every;
		}
	}

	if (vmstat(after)) {
		perror("/proc/vmstat");
		return 1;
	}
	printf("seconds %.1f\npasses %lu\nchildren %lu\nfork_failed %lu\n",
	       now() - start, passes, children, failed);
	for (c = 0; c < NR_COUNTERS; c++)
		if (before[c] >= 0 && after[c] >= 0)
			printf("%s %lld\n", counters[c], after[c] - before[c]);
	print_census("hot_after", base, 0, hot);
	print_census("cold_after", base, hot, pages);
	return failed ? 1 : 0;
}
