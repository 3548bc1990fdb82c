/* launch_int.h — what lib/launch.c (the launch member: drives, secrets,
 * the provisioning request) shares with lib/launchprov.c (the request
 * sent, the agent's replies read), private to those two. */
#ifndef MVM_LAUNCH_INT_H
#define MVM_LAUNCH_INT_H

#include <stddef.h>
#include "json.h"

/* The string member k of the object o copied into out, NUL-terminated,
 * and out returned; NULL (out unchanged) when o has no such member, it is
 * not a string, it holds a NUL byte or it does not fit (cap - 1 bytes at
 * most). */
const char *launch_mstr(const struct jdoc *d, jref o, const char *k, char *out, size_t cap);

#endif
