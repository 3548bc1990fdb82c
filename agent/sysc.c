/* sysc.c — the system calls agent.h names that musl 1.2.3 (the static
 * agent's libc) has no wrapper for, made with syscall(2).  A file of their
 * own so that what uses them (spawn.c, service.c, provision.c) links
 * without the rest: fuzz/service builds agent/service.c with this file. */
#include <sys/syscall.h>
#include <unistd.h>
#include "agent.h"

int sys_close_range(unsigned first, unsigned last)
{
	return (int)syscall(SYS_close_range, first, last, 0u);
}

int sys_renameat2(int olddir, const char *old, int newdir, const char *new_, unsigned flags)
{
	return (int)syscall(SYS_renameat2, olddir, old, newdir, new_, flags);
}
