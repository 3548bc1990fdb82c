/* sched.c — the queue, starting calls, reaping, deadlines. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "json.h"
#include <sys/wait.h>

struct call *queue_head, *queue_tail;
unsigned nqueued;
struct call *running;
unsigned nrunning;

/* A call has sent its terminal frame (or was orphaned): free it and let
 * its connection go on with the next request. */
void call_free(struct call *k)
{
	struct conn *c = k->conn;

	stats.calls++;
	req_free(&k->req);
#ifdef MVM_DEV
	dev_exec_free(k->dev_argv);
#endif
	free(k);
	if (c) {
		c->call = NULL;
		conn_pump(c);
	}
}

/* ---- scheduling ---- */

static unsigned max_queue(void)
{
	return rt.warm ? (unsigned)rt.max_queue_depth : 2 * opt.max_calls;
}

/* The head of the queue, taken off it. */
static struct call *queue_pop(void)
{
	struct call *k = queue_head;

	queue_head = k->next;
	if (!queue_head)
		queue_tail = NULL;
	nqueued--;
	k->next = NULL;
	return k;
}

void start_calls(void)
{
	while (queue_head) {
		if (rt.warm) {
			struct worker *w = NULL;

			for (unsigned i = 0; i < rt.pool_size; i++)
				if (workers[i].state == W_IDLE) {
					w = &workers[i];
					break;
				}
			if (!w)
				return;
			warm_start(w, queue_pop());
		} else {
			if (nrunning >= opt.max_calls)
				return;
			cold_start(queue_pop());
		}
	}
}

void dequeue(struct call *k)
{
	struct call *prev = NULL;

	for (struct call *q = queue_head; q; prev = q, q = q->next)
		if (q == k) {
			if (prev)
				prev->next = q->next;
			else
				queue_head = q->next;
			if (queue_tail == q)
				queue_tail = prev;
			nqueued--;
			return;
		}
}

void requeue(struct call *k)
{
	k->w = NULL;
	k->state = CALL_QUEUED;
	k->next = queue_head;
	queue_head = k;
	if (!queue_tail)
		queue_tail = k;
	nqueued++;
	start_calls();
}

void submit(struct conn *c, struct req *r)
{
	struct call *k;
	int idle = 0;

	if (!entry.ok || warm_failed) {
		send_error(c, ERRK_INVALID, entry.ok ? "a warm worker failed to start" : entry.detail);
		req_free(r);
		return;
	}
	if (rt.warm) {
		for (unsigned i = 0; i < rt.pool_size; i++)
			idle += workers[i].state == W_IDLE;
	} else {
		idle = nrunning < opt.max_calls;
	}
	if (!idle && nqueued >= max_queue()) {
		send_error(c, ERRK_BUSY, "every slot is busy and the queue is full");
		req_free(r);
		return;
	}
	k = calloc(1, sizeof *k);
	if (!k) {
		send_error(c, ERRK_INTERNAL, "out of memory");
		req_free(r);
		return;
	}
	k->conn = c;
	k->req = *r;
#ifdef MVM_DEV
	k->dev_argv = dev_exec_take();
#endif
	k->fds[0] = k->fds[1] = k->fds[2] = -1;
	k->deadline = now_ms() + k->req.timeout_ms;
	k->state = CALL_QUEUED;
	c->call = k;
	if (queue_tail)
		queue_tail->next = k;
	else
		queue_head = k;
	queue_tail = k;
	nqueued++;
	start_calls();
}

/* ---- children ---- */

void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct call *k;

		for (k = running; k; k = k->next)
			if (k->pid == pid)
				break;
		if (k) {
			k->exited = 1;
			k->status = status;
			cold_finish(k);
			continue;
		}
		for (unsigned i = 0; i < POOL_MAX; i++)
			if (workers[i].pid == pid && workers[i].state != W_EMPTY) {
				worker_reaped(&workers[i], status);
				break;
			}
	}
}

/* Deadlines: timeouts, kill escalation, worker readiness and respawn. */
uint64_t timers(void)
{
	uint64_t t = now_ms(), next = UINT64_MAX;
	struct call *k, *kn;

	for (k = running; k; k = kn) {
		kn = k->next;
		if (!k->timed_out && !k->capped && t >= k->deadline) {
			k->timed_out = 1;
			kill_group(k->pid, SIGTERM);
			k->kill_at = t + KILL_GRACE_MS;
		}
		if (k->kill_at && t >= k->kill_at) {
			kill_group(k->pid, SIGKILL);
			k->kill_at = 0;
		}
		if (!k->timed_out && !k->capped && k->deadline < next)
			next = k->deadline;
		if (k->kill_at && k->kill_at < next)
			next = k->kill_at;
	}
	/* queued calls past their deadline (rescan after each: answering
	 * one may start or queue others) */
	for (;;) {
		struct conn *c;

		for (k = queue_head; k && t < k->deadline; k = k->next)
			;
		if (!k)
			break;
		c = k->conn;
		dequeue(k);
		c->call = NULL;
		send_error(c, ERRK_TIMEOUT, "the call exceeded its timeout while queued");
		req_free(&k->req);
		free(k);
		stats.calls++;
		conn_pump(c);
	}
	for (k = queue_head; k; k = k->next)
		if (k->deadline < next)
			next = k->deadline;
	for (unsigned i = 0; rt.warm && i < rt.pool_size; i++) {
		struct worker *w = &workers[i];

		if (w->state == W_BUSY && w->call && !w->call->timed_out) {
			if (t >= w->call->deadline) {
				w->call->timed_out = 1;
				kill_group(w->pid, SIGTERM);
				w->kill_at = t + KILL_GRACE_MS;
			} else if (w->call->deadline < next) {
				next = w->call->deadline;
			}
		}
		if (w->state == W_STARTING && t >= w->ready_by) {
			logmsg("warm worker %d did not get ready in time", (int)w->pid);
			worker_kill(w);
		}
		if (w->kill_at && t >= w->kill_at) {
			kill_group(w->pid, SIGKILL);
			w->kill_at = 0;
		}
		if (w->state == W_EMPTY && !quitting && !warm_failed && t >= w->respawn_at)
			worker_spawn(w);
		if (w->state == W_STARTING && w->ready_by < next)
			next = w->ready_by;
		if (w->kill_at && w->kill_at < next)
			next = w->kill_at;
		if (w->state == W_EMPTY && w->respawn_at > t && w->respawn_at < next)
			next = w->respawn_at;
	}
	return next;
}

