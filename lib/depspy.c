/* depspy.c — stub */
#include "deps.h"
int deps_pip(struct deps_run *x, const char *lockpath, struct merr *e)
{
	(void)x; (void)lockpath;
	return merr_set(e, EX_NO, NULL, "not yet");
}
