/* bench/cjson-canon.c — cJSON as a peer of ir-canon (bench/canon.sh): parse a
 * JSON file with cJSON_ParseWithLength and print it with
 * cJSON_PrintUnformatted (no member sorting: cJSON has none; the bench
 * compares speed, and bench/RESULTS.md what cJSON does with the inputs
 * RFC 8785 cares about).  Built by bench/canon.sh when libcjson-dev is
 * installed: cc -O2 -o bench/work/cjson-canon bench/cjson-canon.c -lcjson
 *
 * usage: cjson-canon FILE     exit 0 printed, 3 not parsed, 4 system error */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	if (argc != 2)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		return 4;
	const char *p = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : "";
	if (p == MAP_FAILED)
		return 4;
	cJSON *j = cJSON_ParseWithLength(p, (size_t)st.st_size);
	if (!j) {
		fprintf(stderr, "cjson-canon: %s: not parsed near byte %ld\n", argv[1],
			(long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - p : -1));
		return 3;
	}
	char *out = cJSON_PrintUnformatted(j);
	if (!out)
		return 4;
	fputs(out, stdout);
	free(out);
	cJSON_Delete(j);
	return ferror(stdout) || fclose(stdout) ? 4 : 0;
}
