/* mvm-agent — the guest agent: serves mvm-agent-protocol(5) connections and
 * runs the function's runner per call (cold) or in a warm pool.
 * One process, one poll() loop, no threads.  See mvm-agent(8).
 *
 * The parts: setup.c (options, transports, privileges), loop.c (the poll
 * loop), conn.c (connections and replies), mux.c (the serial transport),
 * sched.c (queue, reaping, deadlines), cold.c and warm.c (the tiers),
 * config.c (runtime.json), entry.c (the entrypoint) and spawn.c
 * (starting a runner).  agent.h is the contract between them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include "agent.h"

int main(int argc, char **argv)
{
	struct args a;
	char rtpath[PATH_MAX + 16], msg[512];
	struct rlimit nocore = { 0, 0 };

	/* /sbin/init is a link to the agent: PID 1 (init.c) */
	const char *base = strrchr(argv[0], '/');
	if (!strcmp(base ? base + 1 : argv[0], "init"))
		return init_main();
	/* issue #17: a config drive mapped through dm-verity from a shell (dm.c) */
	if (argc > 1 && strcmp(argv[1], "--dm-verity") == 0)
		return dm_verity_main(argc, argv);
	/* signals first: a SIGTERM during the boot checks is handled too */
	int sfd = signals_init();

	args_parse(argc, argv, &a);

	/* boot checks */
	snprintf(rtpath, sizeof rtpath, "%s/runtime.json", opt.etc);
	if (runtime_load(rtpath, &rt, msg, sizeof msg) != 0)
		die(1, "%s: %s", rtpath, msg);
	entry_check(opt.root, opt.etc, opt.insecure_owner, &entry);
	if (!entry.ok)
		logmsg("entrypoint invalid: %s (every run will be refused)", entry.detail);
	if (!opt.provision && seccomp_prepare(opt.seccomp, msg, sizeof msg) != 0)
		die(2, "%s", msg);
	if (a.check) {
		printf("entrypoint %s%s%s\ntier %s\n", entry.ok ? "ok" : "invalid",
			entry.ok ? "" : ": ", entry.ok ? "" : entry.detail, rt.warm ? "warm" : "cold");
		return entry.ok ? 0 : 1;
	}

	base_env_init();
	setrlimit(RLIMIT_CORE, &nocore);
#ifndef __SANITIZE_ADDRESS__
	/* (LeakSanitizer must ptrace us at exit: sanitizer builds stay dumpable) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	/* orphans of runners become ours, so that we reap them: no zombies */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	mux.in = (struct buf)BUF_INIT;
	mux.out = (struct buf)BUF_INIT;
	pool_init();

	transport_open(&a);
	if (opt.egress && mux.on)
		egress_listen();
	cg_setup(opt.cgroup, a.user_uid, a.user_gid);   /* as root, before the drop */
	if (a.user_uid >= 0)
		drop_to(a.user_uid, a.user_gid);
	if (rt.warm && entry.ok && !opt.provision)
		pool_start();
	if (!opt.provision)
		service_start();   /* else once provisioned (provision.c) */
	if (mux.on)
		mux_hello();
	if (a.transport == T_SERIAL || a.transport == T_VSOCK) {
		/* the guest's own clock, next to init's lines on the console */
		struct timespec ts;

		clock_gettime(CLOCK_BOOTTIME, &ts);
		logmsg("serving at %ld.%02ld s", (long)ts.tv_sec, ts.tv_nsec / 10000000);
	}
	if (opt.verbose)
		logmsg("serving (%s tier, entrypoint %s)", rt.warm ? "warm" : "cold",
			entry.ok ? "ok" : "invalid");

	agent_loop(sfd);

	pool_stop();
	service_stop();
	return shutdown_asked ? AGENT_EXIT_SHUTDOWN : 0;
}
