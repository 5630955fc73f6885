/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guest programs of the real-kscand stage share: the clock, and the
 * census of where a range of pages is (move_pages with no target nodes: a
 * query only).
 */
#ifndef KSCAND_E2E_PAGES_H
#define KSCAND_E2E_PAGES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_NODES 8

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pages of [from, to) per node; counts[MAX_NODES] collects errors. */
static int census(char *base, unsigned long from, unsigned long to,
		  unsigned long counts[MAX_NODES + 1])
{
	unsigned long n = to - from, i;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));

	if (!pages || !status)
		return -1;
	memset(counts, 0, (MAX_NODES + 1) * sizeof(*counts));
	for (i = 0; i < n; i++)
		pages[i] = base + (from + i) * PAGE;
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (status[i] >= 0 && status[i] < MAX_NODES)
			counts[status[i]]++;
		else
			counts[MAX_NODES]++;
	}
	free(pages);
	free(status);
	return 0;
}

/* "WHAT node0=N node1=M other=K": the nodes that hold pages, then the errors. */
static void print_nodes(FILE *f, const char *what, unsigned long counts[MAX_NODES + 1])
{
	int node;

	fprintf(f, "%s", what);
	for (node = 0; node < MAX_NODES; node++)
		if (counts[node])
			fprintf(f, " node%d=%lu", node, counts[node]);
	fprintf(f, " other=%lu\n", counts[MAX_NODES]);
}

#endif
