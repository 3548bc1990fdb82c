/* ir-hash — SHA-256 of the RFC 8785 canonical form of a JSON text */
#include <getopt.h>
#include <pthread.h>
#include "enc.h"
#include "json.h"
#include "sha256s.h"
#include "tool.h"

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s [-d depth] [-c hash] [file]\n"
		"Print the lowercase hex SHA-256 of the RFC 8785 canonical form of one JSON text.\n"
		"  -c hash   check: exit 0 if the hash is this one, 1 if not (prints nothing)\n"
		"  -d depth  maximum nesting depth (default %u)\n"
		"Exit: 0 ok, 1 hash differs (-c), 2 usage, 3 malformed input, 4 system error.\n",
		progname, JSON_DEFAULT_MAX_DEPTH);
	exit(code);
}

/*
 * The canonical bytes are hashed on a second thread while the writer makes
 * the next ones: the writer's chunks go through a small queue.  The bytes
 * and their order are exactly the writer's; only the waiting overlaps.
 */
#define QLEN 4

struct hasher {
	pthread_mutex_t m;
	pthread_cond_t more, room;
	struct { unsigned char *p; size_t n; } q[QLEN];
	int head, count, done, failed;
	struct sha256s *st;
};

static void *hash_thread(void *arg)
{
	struct hasher *h = arg;

	for (;;) {
		unsigned char *p;
		size_t n;

		pthread_mutex_lock(&h->m);
		while (h->count == 0 && !h->done)
			pthread_cond_wait(&h->more, &h->m);
		if (h->count == 0) {
			pthread_mutex_unlock(&h->m);
			return NULL;
		}
		p = h->q[h->head].p;
		n = h->q[h->head].n;
		h->head = (h->head + 1) % QLEN;
		h->count--;
		pthread_cond_signal(&h->room);
		pthread_mutex_unlock(&h->m);
		if (!h->failed && sha256s_update(h->st, p, n) != 0)
			h->failed = 1;   /* read by main after the join */
		free(p);
	}
}

static int hash_sink(void *ctx, const void *p, size_t n)
{
	struct hasher *h = ctx;
	unsigned char *c = malloc(n ? n : 1);

	if (!c)
		return ENOMEM;
	memcpy(c, p, n);
	pthread_mutex_lock(&h->m);
	while (h->count == QLEN)
		pthread_cond_wait(&h->room, &h->m);
	h->q[(h->head + h->count) % QLEN].p = c;
	h->q[(h->head + h->count) % QLEN].n = n;
	h->count++;
	pthread_cond_signal(&h->more);
	pthread_mutex_unlock(&h->m);
	return 0;
}

int main(int argc, char **argv)
{
	struct jopts o = { 0 };
	struct input in;
	struct buf out;
	struct merr e;
	unsigned char h[32];
	char hex[65];
	const char *file = NULL, *check = NULL;
	int c;
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	tool_init(argv);
	while ((c = getopt_long(argc, argv, "c:d:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': check = optarg; break;
		case 'd': o.max_depth = (unsigned)tool_num("-d", optarg, 1, 10000000); break;
		case 'h': usage(0);
		/* fallthrough */
		default: usage(EX_USAGE);
		}
	}
	if (argc - optind > 1)
		usage(EX_USAGE);
	if (optind < argc)
		file = argv[optind];
	if (check) {
		size_t i, n = strlen(check);
		for (i = 0; i < n; i++)
			if (!strchr("0123456789abcdef", check[i]))
				break;
		if (n != 64 || i != n)
			tool_die(EX_USAGE, "-c: %s is not 64 lowercase hex digits", check);
	}
	if (in_open(file, &in, &e) != 0)
		tool_fail(file, &e);

	struct jdoc *d = json_parse(in.p, in.len, &o, &e);
	if (!d)
		tool_fail(file, &e);
	/* Hash the canonical bytes as the writer produces them: the same
	 * code path as ir-canon, never a second serializer. */
	static struct hasher hs = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
		PTHREAD_COND_INITIALIZER };
	pthread_t th;
	if (!(hs.st = sha256s_new())) {
		merr_sys(&e, "start hashing");
		tool_fail(NULL, &e);
	}
	if ((errno = pthread_create(&th, NULL, hash_thread, &hs)) != 0) {
		merr_sys(&e, "start the hashing thread");
		tool_fail(NULL, &e);
	}
	buf_init_sink(&out, hash_sink, &hs);
	int failed = json_canon(d, json_root(d), &out) != 0 || buf_flush(&out) < 0;
	pthread_mutex_lock(&hs.m);
	hs.done = 1;
	pthread_cond_signal(&hs.more);
	pthread_mutex_unlock(&hs.m);
	pthread_join(th, NULL);
	if (failed) {
		errno = out.err;
		merr_sys(&e, "canonicalize");
		tool_fail(file, &e);
	}
	if (hs.failed | sha256s_final(hs.st, h)) /* both: final frees the stream */
		tool_die(EX_SYS, "unable to hash: libcrypto failed");
	hex_encode(hex, h, sizeof h);
	json_free(d);
	buf_free(&out);
	in_close(&in);
	if (check)
		tool_exit(strcmp(hex, check) == 0 ? EX_OK : EX_NO);
	printf("%s\n", hex);
	tool_exit(0);
}
