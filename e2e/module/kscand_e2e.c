// SPDX-License-Identifier: GPL-2.0
/*
 * kscand_e2e: fire the kscand tracepoints of patch/ on a stock kernel.
 *
 * The TRACE_EVENT definitions come from the tracepoint patch itself (the
 * header kscand_e2e_trace.h is generated from it at build time), so the
 * formats this module registers under events/kmem/ are the ones a kernel
 * with the patch prints.
 *
 * Writing lines to /proc/kscand_e2e fires the events, each from the thread
 * that fires it on a kscand kernel:
 *
 *   enter MM                            kmem_mm_enter, by the writing task
 *   exit MM                             kmem_mm_exit, by the writing task
 *   start MM                            kmem_scan_mm_start, by "kscand"
 *   end MM START TOTAL PERIOD SIZE NODE kmem_scan_mm_end, by "kscand"
 *   migrate MM RC NODE OK FAIL          kmem_scan_mm_migrate, by "kmigrated"
 *   sleep_us N                          wait N us before the next event
 *   cpus KS KM                          run kscand on CPU KS, kmigrated on KM
 *
 * MM is a number (0x... for hex) cast to a pointer that is never
 * dereferenced. Lines run strictly in order: the writer hands each run of
 * consecutive kscand (or kmigrated) lines to that thread and waits until it
 * has fired them before going on, so the order of the events in a recording
 * is the order of the lines. A write returns when all its complete lines
 * have been fired; a line may be split across writes.
 *
 * Reading /proc/kscand_e2e gives "NAME PID CPU" for both threads and the
 * number of events fired so far. The threads start on CPUs 0 and 1 (or
 * both on 0 on a single CPU).
 */

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/delay.h>
#include <linux/wait.h>
#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/sched.h>
#include <linux/cpumask.h>

#define CREATE_TRACE_POINTS
#include "kscand_e2e_trace.h"

#define LINE_MAX_LEN	256
#define MAX_ARGS	6

enum e2e_op { OP_ENTER, OP_EXIT, OP_START, OP_END, OP_MIGRATE, OP_CPUS };
enum e2e_runner { RUN_WRITER, RUN_KSCAND, RUN_KMIGRATED };

struct e2e_cmd {
	u8 op;
	u32 delay_us;
	unsigned long mm;
	unsigned long ul[4];	/* end: start, total, scan_period, scan_size */
	int i[4];		/* end: node; migrate: rc, node, ok, fail; cpus */
};

struct e2e_worker {
	const char *name;
	struct task_struct *task;
	wait_queue_head_t wq;
	struct completion done;
	const struct e2e_cmd *cmds;	/* work handed over, NULL when idle */
	size_t ncmds;
	int cpu;
};

static struct e2e_worker workers[2] = {
	{ .name = "kscand", .cpu = 0 },
	{ .name = "kmigrated", .cpu = 1 },
};

/* Serialises writers: one scenario at a time. */
static DEFINE_MUTEX(e2e_lock);
static atomic64_t fired = ATOMIC64_INIT(0);

struct e2e_file {
	size_t len;		/* bytes of an incomplete line kept from the last write */
	unsigned long lineno;
	u32 pending_delay;	/* sleep_us waiting for the next event */
	char buf[LINE_MAX_LEN];
};

static void e2e_delay(u32 us)
{
	if (!us)
		return;
	if (us < 10)
		udelay(us);
	else
		usleep_range(us, us + us / 8 + 1);
}

static int e2e_set_cpu(struct e2e_worker *w, int cpu)
{
	int ret;

	if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;
	ret = set_cpus_allowed_ptr(w->task, cpumask_of(cpu));
	if (!ret)
		w->cpu = cpu;
	return ret;
}

static void e2e_fire(const struct e2e_cmd *c)
{
	struct mm_struct *mm = (struct mm_struct *)c->mm;

	e2e_delay(c->delay_us);
	switch (c->op) {
	case OP_CPUS:
		/* Checked when parsed; the CPUs are online in a test guest. */
		if (e2e_set_cpu(&workers[0], c->i[0]) || e2e_set_cpu(&workers[1], c->i[1]))
			pr_warn("kscand_e2e: cannot move the threads to CPUs %d, %d\n",
				c->i[0], c->i[1]);
		return;
	case OP_ENTER:
		trace_kmem_mm_enter(mm);
		break;
	case OP_EXIT:
		trace_kmem_mm_exit(mm);
		break;
	case OP_START:
		trace_kmem_scan_mm_start(mm);
		break;
	case OP_END:
		trace_kmem_scan_mm_end(mm, c->ul[0], c->ul[1], c->ul[2], c->ul[3],
				       c->i[0]);
		break;
	case OP_MIGRATE:
		trace_kmem_scan_mm_migrate(mm, c->i[0], c->i[1], c->i[2], c->i[3]);
		break;
	}
	atomic64_inc(&fired);
}

static int e2e_worker_fn(void *arg)
{
	struct e2e_worker *w = arg;
	size_t k;

	while (!kthread_should_stop()) {
		const struct e2e_cmd *cmds;

		wait_event_interruptible(w->wq, READ_ONCE(w->cmds) ||
					 kthread_should_stop());
		/* Pairs with smp_store_release() in e2e_run(): ncmds is set. */
		cmds = smp_load_acquire(&w->cmds);
		if (!cmds)
			continue;
		for (k = 0; k < w->ncmds; k++)
			e2e_fire(&cmds[k]);
		WRITE_ONCE(w->cmds, NULL);
		complete(&w->done);
	}
	return 0;
}

static enum e2e_runner e2e_runner_of(u8 op)
{
	switch (op) {
	case OP_START:
	case OP_END:
		return RUN_KSCAND;
	case OP_MIGRATE:
		return RUN_KMIGRATED;
	default:
		return RUN_WRITER;
	}
}

/* Fire cmds[0..n) in order, each run of lines on the thread it belongs to. */
static void e2e_run(const struct e2e_cmd *cmds, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		enum e2e_runner r = e2e_runner_of(cmds[i].op);

		for (j = i + 1; j < n && e2e_runner_of(cmds[j].op) == r; j++)
			;
		if (r == RUN_WRITER) {
			for (; i < j; i++)
				e2e_fire(&cmds[i]);
			continue;
		}
		{
			struct e2e_worker *w = &workers[r == RUN_KSCAND ? 0 : 1];

			reinit_completion(&w->done);
			w->ncmds = j - i;
			/* Publish ncmds with cmds; pairs with e2e_worker_fn(). */
			smp_store_release(&w->cmds, &cmds[i]);
			wake_up_interruptible(&w->wq);
			wait_for_completion(&w->done);
		}
		i = j;
	}
}

static int e2e_parse_args(char *rest, s64 *v, int want)
{
	char *tok;
	int n = 0;

	while ((tok = strsep(&rest, " \t")) != NULL) {
		if (!*tok)
			continue;
		if (n == want)
			return -E2BIG;
		/* Values are u64 or s64: accept both, keep the bits. */
		if (*tok == '-') {
			if (kstrtos64(tok, 0, &v[n]))
				return -EINVAL;
		} else if (kstrtou64(tok, 0, (u64 *)&v[n])) {
			return -EINVAL;
		}
		n++;
	}
	return n == want ? 0 : -EINVAL;
}

/*
 * Parse one line into *c. Returns 1 for an event, 0 for a line that fires
 * nothing (empty, comment, sleep_us) and a negative errno for a bad line.
 */
static int e2e_parse_line(struct e2e_file *f, char *line, struct e2e_cmd *c)
{
	static const struct {
		const char *word;
		u8 op;
		int nargs;
	} ops[] = {
		{ "enter", OP_ENTER, 1 },
		{ "exit", OP_EXIT, 1 },
		{ "start", OP_START, 1 },
		{ "end", OP_END, 6 },
		{ "migrate", OP_MIGRATE, 5 },
	};
	s64 v[MAX_ARGS];
	char *word;
	size_t k;
	int ret;

	line = strim(line);
	if (!*line || *line == '#')
		return 0;
	word = strsep(&line, " \t");
	if (!strcmp(word, "cpus")) {
		ret = e2e_parse_args(line, v, 2);
		if (ret || v[0] < 0 || v[0] >= nr_cpu_ids || !cpu_online(v[0]) ||
		    v[1] < 0 || v[1] >= nr_cpu_ids || !cpu_online(v[1]))
			return -EINVAL;
		memset(c, 0, sizeof(*c));
		c->op = OP_CPUS;
		c->i[0] = (int)v[0];
		c->i[1] = (int)v[1];
		return 1;
	}
	if (!strcmp(word, "sleep_us")) {
		ret = e2e_parse_args(line, v, 1);
		if (ret || v[0] < 0 || v[0] > 10 * USEC_PER_SEC)
			return -EINVAL;
		f->pending_delay += (u32)v[0];
		return 0;
	}
	for (k = 0; k < ARRAY_SIZE(ops); k++) {
		if (strcmp(word, ops[k].word))
			continue;
		ret = e2e_parse_args(line, v, ops[k].nargs);
		if (ret)
			return ret;
		memset(c, 0, sizeof(*c));
		c->op = ops[k].op;
		c->mm = (unsigned long)v[0];
		c->delay_us = f->pending_delay;
		f->pending_delay = 0;
		if (c->op == OP_END) {
			c->ul[0] = v[1];
			c->ul[1] = v[2];
			c->ul[2] = v[3];
			c->ul[3] = v[4];
			c->i[0] = (int)v[5];
		} else if (c->op == OP_MIGRATE) {
			c->i[0] = (int)v[1];
			c->i[1] = (int)v[2];
			c->i[2] = (int)v[3];
			c->i[3] = (int)v[4];
		}
		return 1;
	}
	return -EINVAL;
}

static ssize_t e2e_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct e2e_file *f = ((struct seq_file *)file->private_data)->private;
	struct e2e_cmd *cmds;
	size_t ncmds = 0, max_cmds, pos = 0;
	char *data;
	ssize_t ret = count;

	if (count > (1 << 20))
		count = 1 << 20;
	data = kvmalloc(f->len + count + 1, GFP_KERNEL);
	if (!data)
		return -ENOMEM;
	memcpy(data, f->buf, f->len);
	if (copy_from_user(data + f->len, ubuf, count)) {
		kvfree(data);
		return -EFAULT;
	}
	ret = count;
	count += f->len;
	data[count] = '\0';
	/* At most one event per line; a line has at least two bytes. */
	max_cmds = count / 2 + 1;
	cmds = kvmalloc_array(max_cmds, sizeof(*cmds), GFP_KERNEL);
	if (!cmds) {
		kvfree(data);
		return -ENOMEM;
	}

	f->len = 0;
	while (pos < count) {
		char *nl = memchr(data + pos, '\n', count - pos);
		int r;

		if (!nl) {
			size_t rest = count - pos;

			if (rest >= LINE_MAX_LEN) {
				pr_err("kscand_e2e: line %lu too long\n", f->lineno + 1);
				ret = -EINVAL;
				goto out;
			}
			memcpy(f->buf, data + pos, rest);
			f->len = rest;
			break;
		}
		*nl = '\0';
		f->lineno++;
		r = e2e_parse_line(f, data + pos, &cmds[ncmds]);
		if (r < 0) {
			pr_err("kscand_e2e: bad line %lu: %s\n", f->lineno, data + pos);
			ret = r;
			goto out;
		}
		ncmds += r;
		pos = nl - data + 1;
	}

	mutex_lock(&e2e_lock);
	e2e_run(cmds, ncmds);
	mutex_unlock(&e2e_lock);
out:
	kvfree(cmds);
	kvfree(data);
	return ret;
}

static int e2e_show(struct seq_file *m, void *v)
{
	int k;

	for (k = 0; k < ARRAY_SIZE(workers); k++)
		seq_printf(m, "%s %d %d\n", workers[k].name,
			   task_pid_nr(workers[k].task), workers[k].cpu);
	seq_printf(m, "fired %lld\n", (long long)atomic64_read(&fired));
	return 0;
}

static int e2e_open(struct inode *inode, struct file *file)
{
	struct e2e_file *f = kzalloc(sizeof(*f), GFP_KERNEL);
	int ret;

	if (!f)
		return -ENOMEM;
	ret = single_open(file, e2e_show, f);
	if (ret)
		kfree(f);
	return ret;
}

static int e2e_release(struct inode *inode, struct file *file)
{
	struct e2e_file *f = ((struct seq_file *)file->private_data)->private;

	if (f->len)
		pr_warn("kscand_e2e: incomplete last line dropped\n");
	kfree(f);
	return single_release(inode, file);
}

static const struct proc_ops e2e_proc_ops = {
	.proc_open = e2e_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_write = e2e_write,
	.proc_release = e2e_release,
};

static struct proc_dir_entry *e2e_proc;

static void e2e_stop_workers(void)
{
	int k;

	for (k = 0; k < ARRAY_SIZE(workers); k++) {
		if (workers[k].task)
			kthread_stop(workers[k].task);
		workers[k].task = NULL;
	}
}

static int __init e2e_init(void)
{
	int k;

	for (k = 0; k < ARRAY_SIZE(workers); k++) {
		struct e2e_worker *w = &workers[k];
		struct task_struct *t;

		init_waitqueue_head(&w->wq);
		init_completion(&w->done);
		t = kthread_create(e2e_worker_fn, w, "%s", w->name);
		if (IS_ERR(t)) {
			e2e_stop_workers();
			return PTR_ERR(t);
		}
		w->task = t;
		if (!cpu_online(w->cpu))
			w->cpu = 0;
		kthread_bind(t, w->cpu);
		wake_up_process(t);
	}
	e2e_proc = proc_create("kscand_e2e", 0600, NULL, &e2e_proc_ops);
	if (!e2e_proc) {
		e2e_stop_workers();
		return -ENOMEM;
	}
	return 0;
}

static void __exit e2e_exit(void)
{
	proc_remove(e2e_proc);
	e2e_stop_workers();
}

module_init(e2e_init);
module_exit(e2e_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Fire the kscand tracepoints of kscand-perf's patch for end-to-end tests");
