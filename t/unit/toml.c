/* t/unit/toml.c — lib/toml*.c against known answers: documents read by
 * Python 3.11's tomllib (an independent TOML 1.0 reader), dumped as JSON
 * (json.dumps(..., ensure_ascii=False, separators=(",", ":"))), and the
 * subset's refusals with their LINE:COL. */
#include <string.h>
#include "buf.h"
#include "toml.h"
#define UNIT_NAME "toml"
#include "check.h"

static void dump(const struct toml *v, struct buf *b)
{
	switch (v->type) {
	case TOML_INT: buf_printf(b, "%lld", v->i); return;
	case TOML_BOOL: buf_puts(b, v->i ? "true" : "false"); return;
	case TOML_STR:
		buf_putc(b, '"');
		for (const char *p = v->str; *p; p++) {
			if (*p == '"' || *p == '\\') buf_printf(b, "\\%c", *p);
			else if (*p == '\n') buf_puts(b, "\\n");
			else if (*p == '\t') buf_puts(b, "\\t");
			else if ((unsigned char)*p < 0x20) buf_printf(b, "\\u%04x", *p);
			else buf_putc(b, *p);
		}
		buf_putc(b, '"');
		return;
	}
	buf_putc(b, v->type == TOML_TABLE ? '{' : '[');
	for (const struct toml *k = v->kids; k; k = k->next) {
		if (k != v->kids)
			buf_putc(b, ',');
		if (v->type == TOML_TABLE)
			buf_printf(b, "\"%s\":", k->key);
		dump(k, b);
	}
	buf_putc(b, v->type == TOML_TABLE ? '}' : ']');
}

static void same(const char *doc, const char *want)
{
	struct merr e;
	struct buf b = BUF_INIT;
	struct toml *t = toml_parse(doc, strlen(doc), &e);

	if (t)
		dump(t, &b);
	check(t && buf_cstr(&b) && strcmp(b.p, want) == 0, "%s: got %s (%s)", want, b.p ? b.p : "NULL", e.msg);
	toml_free(t);
	buf_free(&b);
}

static void refused(const char *doc, const char *where)
{
	struct merr e;
	struct toml *t = toml_parse(doc, strlen(doc), &e);

	check(!t && e.code == EX_DATA && strcmp(e.where, where) == 0, "%s: refused at %s, not %s (%s)",
		doc, where, t ? "accepted" : e.where, e.msg);
	toml_free(t);
}

int main(void)
{
	same("version = 1\nrevision = 2\n[[package]]\nname = \"a\"\nsource = { registry = \"https://x/simple\" }\nwheels = [\n    { url = \"u\", hash = \"sha256:00\", size = 12 },  # c\n    { url = 'lit\\\\n', size = -3 },\n]\n[package.metadata]\nrequires-dist = [{ name = \"b\", marker = \"python_version >= '3.8'\" }]\n[[package]]\nname = \"\\u00e9\\t\\\"q\\\"\\U0001F600\"\nflags = [true, false, []]\n\"quoted key\" = {}\n",
	     "{\"version\":1,\"revision\":2,\"package\":[{\"name\":\"a\",\"source\":{\"registry\":\"https://x/simple\"},\"wheels\":[{\"url\":\"u\",\"hash\":\"sha256:00\",\"size\":12},{\"url\":\"lit\\\\\\\\n\",\"size\":-3}],\"metadata\":{\"requires-dist\":[{\"name\":\"b\",\"marker\":\"python_version >= '3.8'\"}]}},{\"name\":\"é\\t\\\"q\\\"😀\",\"flags\":[true,false,[]],\"quoted key\":{}}]}");
	same("# only a comment\r\n[a.b]\nx = 1\n[a]\ny = 2\n[[a.c]]\nz = 0\n[[a.c]]\n[a.c.d]\nw = \"v\"\n",
	     "{\"a\":{\"b\":{\"x\":1},\"y\":2,\"c\":[{\"z\":0},{\"d\":{\"w\":\"v\"}}]}}");
	same("version = 1\nrevision = 1\nrequires-python = \">=3.11\"\n\n[[package]]\nname = \"hello\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n    { name = \"idna\" },\n    { name = \"six\" },\n]\n\n[package.metadata]\nrequires-dist = [\n    { name = \"idna\", specifier = \"==3.10\" },\n    { name = \"six\", specifier = \"==1.16.0\" },\n]\n\n[[package]]\nname = \"idna\"\nversion = \"3.10\"\nsource = { registry = \"https://pypi.org/simple\" }\nsdist = { url = \"https://files.pythonhosted.org/packages/f1/70/idna-3.10.tar.gz\", hash = \"sha256:6900fe2c6f8c58b85a7d96f4b0937545e40289be9e0aa2392b3035f3bc176d6b\", size = 190490, upload-time = \"2024-09-15T18:07:39.745Z\" }\nwheels = [\n    { url = \"https://files.pythonhosted.org/packages/76/c6/idna-3.10-py3-none-any.whl\", hash = \"sha256:cb0c73b778992a64913402aa2b222077f09ad1627b85526d8b9c2aa770daa1f1\", size = 70442, upload-time = \"2024-09-15T18:07:37.964Z\" },\n]\n\n[[package]]\nname = \"six\"\nversion = \"1.16.0\"\nsource = { registry = \"https://pypi.org/simple\" }\nsdist = { url = \"https://files.pythonhosted.org/packages/71/39/six-1.16.0.tar.gz\", hash = \"sha256:135e350f19a413031effd323157deca33127accf74d95f3a723e6ed10ee8ef25\", size = 34041 }\nwheels = [\n    { url = \"https://files.pythonhosted.org/packages/d9/5a/six-1.16.0-py2.py3-none-any.whl\", hash = \"sha256:cfeb0022683830dc7506d502d9ee66f32c27b3817d24ea9ca0662377102577ef\", size = 11053 },\n]\n",
	     "{\"version\":1,\"revision\":1,\"requires-python\":\">=3.11\",\"package\":[{\"name\":\"hello\",\"version\":\"0.1.0\",\"source\":{\"virtual\":\".\"},\"dependencies\":[{\"name\":\"idna\"},{\"name\":\"six\"}],\"metadata\":{\"requires-dist\":[{\"name\":\"idna\",\"specifier\":\"==3.10\"},{\"name\":\"six\",\"specifier\":\"==1.16.0\"}]}},{\"name\":\"idna\",\"version\":\"3.10\",\"source\":{\"registry\":\"https://pypi.org/simple\"},\"sdist\":{\"url\":\"https://files.pythonhosted.org/packages/f1/70/idna-3.10.tar.gz\",\"hash\":\"sha256:6900fe2c6f8c58b85a7d96f4b0937545e40289be9e0aa2392b3035f3bc176d6b\",\"size\":190490,\"upload-time\":\"2024-09-15T18:07:39.745Z\"},\"wheels\":[{\"url\":\"https://files.pythonhosted.org/packages/76/c6/idna-3.10-py3-none-any.whl\",\"hash\":\"sha256:cb0c73b778992a64913402aa2b222077f09ad1627b85526d8b9c2aa770daa1f1\",\"size\":70442,\"upload-time\":\"2024-09-15T18:07:37.964Z\"}]},{\"name\":\"six\",\"version\":\"1.16.0\",\"source\":{\"registry\":\"https://pypi.org/simple\"},\"sdist\":{\"url\":\"https://files.pythonhosted.org/packages/71/39/six-1.16.0.tar.gz\",\"hash\":\"sha256:135e350f19a413031effd323157deca33127accf74d95f3a723e6ed10ee8ef25\",\"size\":34041},\"wheels\":[{\"url\":\"https://files.pythonhosted.org/packages/d9/5a/six-1.16.0-py2.py3-none-any.whl\",\"hash\":\"sha256:cfeb0022683830dc7506d502d9ee66f32c27b3817d24ea9ca0662377102577ef\",\"size\":11053}]}]}");
	/* refused: outside the subset, or not TOML */
	refused("a = 1\nb = \"\"\"x\"\"\"\n", "2:5");   /* multi-line string */
	refused("a = 1.5\n", "1:5");                       /* float */
	refused("a = 1979-05-27\n", "1:5");                /* date */
	refused("a.b = 1\n", "1:2");                       /* dotted key */
	refused("a = 1\na = 2\n", "2:1");                  /* duplicate key */
	refused("[t]\n[t]\n", "2:4");                      /* duplicate table */
	refused("t = {}\n[t]\n", "2:4");                   /* an inline table extended */
	refused("a = [1\n", "2:1");                        /* unterminated array */
	refused("a = { b = 1,\n c = 2 }\n", "1:13");       /* inline table over lines */
	refused("a = \"\\x\"\n", "1:7");                   /* unknown escape */
	refused("a = \"\\u0000\"\n", "1:7");               /* NUL */
	refused("a = \"x\ty\001\"\n", "1:9");              /* control character */
	refused("a = \"\xc3\x28\"\n", "1:6");               /* invalid UTF-8 */
	refused("a = 01\n", "1:5");                        /* leading zero */
	refused("a = 1 b = 2\n", "1:7");                   /* two on a line */
	refused("[[a]]\n[a]\n", "2:4");                    /* array of tables as table */
	return check_report();
}
