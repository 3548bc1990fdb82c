/* plan-keygen — create an Ed25519 key pair for signing plans and audit entries */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "keys.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [--no-trust] [-f secretfile] [-p pubfile]\n"
		"Create an Ed25519 key pair; print the public key (base64) on standard output.\n"
		"  -f file     secret key (default $MVM_HOME/keys/host-signer.ed25519), mode 0600\n"
		"  -p file     public key (default: beside the secret key, .pub)\n"
		"  --no-trust  do not add the public key to $MVM_HOME/trust/\n"
		"Exit: 0 ok, 1 a file exists (nothing overwritten), 2 usage, 4 system error.\n",
		progname);
	exit(code);
}

static void mkparent(const char *path)
{
	char *c = strdup(path);
	struct merr e;

	if (!c)
		tool_die(EX_SYS, "out of memory");
	if (mkdir_p(dirname(c), 0700, &e) != 0)
		tool_fail(NULL, &e);
	free(c);
}

int main(int argc, char **argv)
{
	char spath[PATH_MAX], ppath[PATH_MAX], tpath[PATH_MAX], line[64], *base;
	const char *sarg = NULL, *parg = NULL;
	struct mvm_key k;
	struct merr e;
	struct stat st;
	int c, trust = 1, r;
	static const struct option lopts[] = {
		{ "no-trust", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "f:p:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': sarg = optarg; break;
		case 'p': parg = optarg; break;
		case 'T': trust = 0; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	if (sodium_init() < 0)
		tool_die(EX_SYS, "unable to initialize libsodium");
	if (sarg) {
		if (snprintf(spath, sizeof spath, "%s", sarg) >= (int)sizeof spath)
			tool_die(EX_USAGE, "-f: path too long");
	} else if (key_default_secret(spath, sizeof spath, &e) != 0) {
		tool_fail(NULL, &e);
	}
	if (parg) {
		if (snprintf(ppath, sizeof ppath, "%s", parg) >= (int)sizeof ppath)
			tool_die(EX_USAGE, "-p: path too long");
	} else if (key_pub_path(spath, ppath, sizeof ppath) != 0) {
		tool_die(EX_USAGE, "-f: path too long");
	}
	if (strcmp(spath, ppath) == 0)
		tool_die(EX_USAGE, "the secret and public key files must differ");

	if (lstat(spath, &st) == 0)
		tool_die(EX_NO, "%s: already exists, not overwritten", spath);
	if (lstat(ppath, &st) == 0)
		tool_die(EX_NO, "%s: already exists, not overwritten", ppath);

	/* The trust anchor is named after the public key file. */
	if (trust) {
		char *pc = strdup(ppath);
		if (!pc)
			tool_die(EX_SYS, "out of memory");
		base = basename(pc);
		r = snprintf(line, sizeof line, "trust/%s", base);
		if (r < 0 || (size_t)r >= sizeof line || strlen(base) < 5 ||
		    strcmp(base + strlen(base) - 4, ".pub") != 0)
			tool_die(EX_USAGE, "%s: the public key file name must end in .pub to be "
				"trusted (or use --no-trust)", ppath);
		free(pc);
		if (mvm_path(tpath, sizeof tpath, line, &e) != 0)
			tool_fail(NULL, &e);
		if (lstat(tpath, &st) == 0)
			tool_die(EX_NO, "%s: already exists, not overwritten (use --no-trust, or remove "
				"it first)", tpath);
	}
	mkparent(spath);
	mkparent(ppath);
	if ((r = key_generate(spath, ppath, &k, &e)) != 0)
		tool_fail(NULL, &e);
	key_pub_line(line, sizeof line, k.pk);
	if (trust) {
		mkparent(tpath);
		if ((r = file_create_excl(tpath, line, strlen(line), 0644, &e)) != 0) {
			unlink(spath);
			unlink(ppath);
			key_wipe(&k);
			tool_fail(NULL, &e);
		}
	}
	key_wipe(&k);
	fputs(line, stdout);
	tool_exit(0);
}
