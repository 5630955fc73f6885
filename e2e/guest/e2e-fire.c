// SPDX-License-Identifier: GPL-2.0
/*
 * e2e-fire: play a scenario into /proc/kscand_e2e inside the test guest.
 *
 * Usage: e2e-fire SCENARIO.lines
 *
 * The scenario has the module's lines (see module/kscand_e2e.c) plus
 *
 *   as PID CPU COMM the following enter/exit lines are written by the task
 *                   PID named COMM, running on CPU
 *
 * kmem_mm_enter and kmem_mm_exit fire in the task that writes the line, so
 * for them this program keeps one child per scenario pid, created with
 * exactly that pid (clone3 with set_tid), and renames it (PR_SET_NAME) and
 * moves it to CPU before each line: the recording then carries the
 * scenario's pid, comm and CPU.
 * All other lines are written by this process in batches; the module fires
 * them from its kscand and kmigrated threads. Every line is fired before the
 * next one is handed on, so the recorded order is the scenario order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROC_FILE "/proc/kscand_e2e"
#define BATCH_MAX (60 * 1024)
#define TEXT_MAX 512

struct msg {
	char comm[16];
	int32_t cpu;
	uint32_t len;
	char text[TEXT_MAX];
};

struct task {
	pid_t pid;
	int to_child;		/* write end of the command pipe */
	int from_child;		/* read end of the ack pipe */
};

static struct task *tasks;
static size_t ntasks, cap_tasks;
static unsigned long lineno;

static void die(const char *what)
{
	fprintf(stderr, "e2e-fire: line %lu: %s: %s\n", lineno, what, strerror(errno));
	exit(1);
}

static void fail(const char *what)
{
	fprintf(stderr, "e2e-fire: line %lu: %s\n", lineno, what);
	exit(1);
}

static void write_all(int fd, const char *buf, size_t len, const char *what)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(what);
		}
		buf += n;
		len -= (size_t)n;
	}
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The child's loop: rename, write the lines to the module, acknowledge. */
static void child_loop(int in, int out)
{
	char comm[17] = "";
	int cpu = -1;
	struct msg m;
	int fd = open(PROC_FILE, O_WRONLY);

	if (fd < 0)
		_exit(2);
	while (read_all(in, &m, offsetof(struct msg, text)) == 0) {
		char ack = 0;

		if (m.len > TEXT_MAX || read_all(in, m.text, m.len))
			_exit(3);
		if (strncmp(comm, m.comm, 16)) {
			memcpy(comm, m.comm, 16);
			comm[16] = '\0';
			if (prctl(PR_SET_NAME, comm, 0, 0, 0))
				ack = 1;
		}
		if (!ack && m.cpu != cpu) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(m.cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				ack = 3;
			cpu = m.cpu;
		}
		if (!ack && write(fd, m.text, m.len) != (ssize_t)m.len)
			ack = 2;
		if (write(out, &ack, 1) != 1)
			_exit(4);
	}
	_exit(0);
}

static struct task *task_for(pid_t pid)
{
	struct clone_args args;
	int cmd[2], ack[2];
	pid_t tid = pid, got;
	size_t k;

	for (k = 0; k < ntasks; k++)
		if (tasks[k].pid == pid)
			return &tasks[k];
	if (pid == getpid())
		fail("scenario pid equals e2e-fire's own pid");
	if (pipe(cmd) || pipe(ack))
		die("pipe");
	fflush(NULL);
	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uintptr_t)&tid;
	args.set_tid_size = 1;
	got = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (got < 0) {
		char what[64];

		snprintf(what, sizeof(what), "clone3 with pid %d", (int)pid);
		die(what);
	}
	if (got == 0) {
		close(cmd[1]);
		close(ack[0]);
		for (k = 0; k < ntasks; k++) {
			close(tasks[k].to_child);
			close(tasks[k].from_child);
		}
		child_loop(cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	if (ntasks == cap_tasks) {
		cap_tasks = cap_tasks ? 2 * cap_tasks : 64;
		tasks = realloc(tasks, cap_tasks * sizeof(*tasks));
		if (!tasks)
			die("realloc");
	}
	tasks[ntasks].pid = got;
	tasks[ntasks].to_child = cmd[1];
	tasks[ntasks].from_child = ack[0];
	return &tasks[ntasks++];
}

int main(int argc, char **argv)
{
	static char batch[BATCH_MAX + TEXT_MAX];
	char line[TEXT_MAX], comm[16] = "";
	size_t blen = 0;
	unsigned long sleep_us = 0, events = 0;
	pid_t as_pid = -1;
	int as_cpu = 0;
	FILE *in;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: e2e-fire SCENARIO.lines\n");
		return 2;
	}
	in = fopen(argv[1], "r");
	if (!in)
		die(argv[1]);
	fd = open(PROC_FILE, O_WRONLY);
	if (fd < 0)
		die(PROC_FILE);

	while (fgets(line, sizeof(line), in)) {
		size_t len = strlen(line);
		char pre[40] = "";

		lineno++;
		if (!len || line[len - 1] != '\n')
			fail("line too long or not terminated");
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strncmp(line, "as ", 3)) {
			char *end, *end2;
			long p = strtol(line + 3, &end, 10);
			long c = strtol(end, &end2, 10);

			if (end == line + 3 || *end != ' ' || p <= 0 ||
			    end2 == end || *end2 != ' ' || c < 0 || c >= CPU_SETSIZE)
				fail("bad 'as' line (as PID CPU COMM)");
			line[len - 1] = '\0';
			memset(comm, 0, sizeof(comm));
			strncpy(comm, end2 + 1, sizeof(comm) - 1);
			as_pid = (pid_t)p;
			as_cpu = (int)c;
			continue;
		}
		if (!strncmp(line, "sleep_us ", 9)) {
			sleep_us += strtoul(line + 9, NULL, 10);
			continue;
		}
		if (sleep_us)
			snprintf(pre, sizeof(pre), "sleep_us %lu\n", sleep_us);
		sleep_us = 0;
		if (strncmp(line, "cpus ", 5))
			events++;
		if (!strncmp(line, "enter ", 6) || !strncmp(line, "exit ", 5)) {
			struct task *t;
			struct msg m;
			char ack;

			if (as_pid < 0)
				fail("enter/exit before any 'as' line");
			if (blen) {
				write_all(fd, batch, blen, "writing to " PROC_FILE);
				blen = 0;
			}
			t = task_for(as_pid);
			memset(&m, 0, sizeof(m));
			memcpy(m.comm, comm, sizeof(m.comm));
			m.cpu = as_cpu;
			m.len = (uint32_t)snprintf(m.text, sizeof(m.text), "%s%s", pre, line);
			write_all(t->to_child, (const char *)&m,
				  offsetof(struct msg, text) + m.len, "command pipe");
			if (read_all(t->from_child, &ack, 1))
				fail("a task child died");
			if (ack) {
				static const char *const why[] = {
					"", "PR_SET_NAME in the task child",
					"the task child's write to " PROC_FILE,
					"sched_setaffinity in the task child",
				};

				fail(why[ack < 4 ? ack : 2]);
			}
			continue;
		}
		blen += (size_t)snprintf(batch + blen, sizeof(batch) - blen, "%s%s", pre, line);
		if (blen >= BATCH_MAX) {
			write_all(fd, batch, blen, "writing to " PROC_FILE);
			blen = 0;
		}
	}
	if (ferror(in))
		die("reading the scenario");
	if (blen)
		write_all(fd, batch, blen, "writing to " PROC_FILE);
	close(fd);
	for (size_t k = 0; k < ntasks; k++)
		close(tasks[k].to_child);
	while (wait(NULL) > 0)
		;
	fprintf(stderr, "e2e-fire: %lu events from %s, %zu tasks\n", events, argv[1], ntasks);
	return 0;
}
