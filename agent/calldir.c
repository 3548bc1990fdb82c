/* calldir.c — a call's directory, made and removed with the runner's file
 * access rights (agent.h).  The agent keeps CAP_SETUID, so it may take the
 * runner's file-system ids (setfsuid, setfsgid: file access checks only,
 * this thread) for the time of a mkdtemp or a removal.  The directory is
 * then the runner's from the start (no chown: no CAP_CHOWN), and the tree a
 * runner left is removed with the rights of its owner (no CAP_DAC_OVERRIDE,
 * no CAP_FOWNER for /tmp's sticky bit): whatever it holds, the removal
 * cannot do more than the runner itself could. */
#include <errno.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <unistd.h>
#include "agent.h"

/* (agent.h) */
void fs_as_runner(int saved[2])
{
	saved[0] = -1;
	if (opt.run_uid < 0)
		return;
	saved[0] = (int)geteuid();
	saved[1] = (int)getegid();
	setfsgid((gid_t)opt.run_gid);
	setfsuid((uid_t)opt.run_uid);
}

void fs_as_agent(const int saved[2])
{
	if (saved[0] < 0)
		return;
	setfsuid((uid_t)saved[0]);
	setfsgid((gid_t)saved[1]);
}

char *calldir_make(char *tmpl)
{
	int saved[2], err;
	char *p;

	fs_as_runner(saved);
	p = mkdtemp(tmpl);
	err = errno;
	fs_as_agent(saved);
	errno = err;
	return p;
}

int calldir_remove(const char *path)
{
	int saved[2], rc, err;

	fs_as_runner(saved);
	rc = rmtree(path);
	err = errno;
	fs_as_agent(saved);
	errno = err;
	return rc;
}
