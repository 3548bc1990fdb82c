/* mvm-build — build (or reuse) the microVM image of a Workload IR with the
 * Debian or the Nix backend: runs libexec/mvm-build-rootfs or
 * libexec/mvm-build-nix, which lower the IR with ir-lower(1) */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [--backend debian|nix|auto] [--dev] [-q] [-C srcdir] [-o cachedir]\n"
		"       [--kernel vmlinux] [--agent file] [--init file] [--size-mb n]\n"
		"       [--print-key] IR.json\n"
		"Build rootfs.ext4, vmlinux and mvm-meta.json for a Workload IR into\n"
		"cachedir/<key>/ (default .mvm/image) and print that directory.\n"
		"  --backend  debian, nix, or auto (default): nix when\n"
		"             libexec/mvm-build-nix --probe succeeds, else debian\n"
		"  --dev      a dev image: tracebacks kept, the dev agent (exec), \"sealed\": false\n"
		"  --dev, --agent, --init, --size-mb, --print-key: the debian backend only\n"
		"Exit: 0 built or reused, 1 the IR cannot be built, 2 usage, 4 system error.\n",
		progname);
	exit(code);
}

/* Does `nix --probe` exit 0 (nix and a nixpkgs are usable)? */
static int probe(const char *nix)
{
	int status, fd;
	pid_t pid = fork();

	if (pid < 0)
		tool_die(EX_SYS, "unable to fork: %s", strerror(errno));
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(nix, nix, "--probe", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			tool_die(EX_SYS, "unable to wait for %s: %s", nix, strerror(errno));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	enum { O_BACKEND = 256, O_KERNEL, O_AGENT, O_INIT, O_SIZE, O_KEY, O_DEV };
	static const struct option lopts[] = {
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "init", required_argument, NULL, O_INIT },
		{ "size-mb", required_argument, NULL, O_SIZE },
		{ "print-key", no_argument, NULL, O_KEY },
		{ "dev", no_argument, NULL, O_DEV },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* The builder's command line: at most every option once, and the IR. */
	char *av[24], dir[PATH_MAX], path[PATH_MAX + 32], nix[PATH_MAX + 32];
	const char *backend = "auto", *debian_only = NULL;
	int c, k = 1;

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "qC:o:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'q': av[k++] = (char *)"-q"; break;
		case 'C': av[k++] = (char *)"-C"; av[k++] = optarg; break;
		case 'o': av[k++] = (char *)"-o"; av[k++] = optarg; break;
		case O_KERNEL: av[k++] = (char *)"--kernel"; av[k++] = optarg; break;
		case O_AGENT: debian_only = "--agent"; av[k++] = (char *)"--agent"; av[k++] = optarg; break;
		case O_INIT: debian_only = "--init"; av[k++] = (char *)"--init"; av[k++] = optarg; break;
		case O_SIZE: debian_only = "--size-mb"; av[k++] = (char *)"--size-mb"; av[k++] = optarg; break;
		case O_KEY: debian_only = "--print-key"; av[k++] = (char *)"--print-key"; break;
		case O_DEV: debian_only = "--dev"; av[k++] = (char *)"--dev"; break;
		case O_BACKEND: backend = optarg; break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
		if (k > 18)
			tool_die(EX_USAGE, "too many options");
	}
	if (argc - optind != 1)
		usage(EX_USAGE);
	if (strcmp(backend, "debian") && strcmp(backend, "nix") && strcmp(backend, "auto"))
		tool_die(EX_USAGE, "--backend: debian, nix or auto, not %s", backend);
	av[k++] = argv[optind];
	av[k] = NULL;

	tool_libexec(dir, sizeof dir);
	snprintf(nix, sizeof nix, "%s/mvm-build-nix", dir);
	if (!strcmp(backend, "auto"))
		backend = access(nix, X_OK) == 0 && probe(nix) ? "nix" : "debian";
	if (!strcmp(backend, "nix") && debian_only)
		tool_die(EX_USAGE, "%s: only the debian backend takes it (--backend debian)", debian_only);
	snprintf(path, sizeof path, "%s/%s", dir,
		!strcmp(backend, "nix") ? "mvm-build-nix" : "mvm-build-rootfs");
	av[0] = path;
	execv(path, av);
	tool_die(EX_SYS, "unable to run %s: %s", path, strerror(errno));
}
