/* t/unit/pyenv.c — lib/pyenv.c and lib/pymarker.c against known answers.
 *
 * The answers are those of pypa/packaging 21.3 (as vendored in pip 23.2.1),
 * an independent implementation: markers from
 * Marker(m).evaluate({"python_version": "3.11", "sys_platform": "linux",
 * "platform_machine": "x86_64", ...}), wheel names from
 * parse_wheel_filename() against tags.cpython_tags((3, 11)) and
 * tags.compatible_tags((3, 11), "cp311") for the platforms
 * manylinux_2_36..2_5_x86_64, manylinux2014/2010/1_x86_64, linux_x86_64.
 * The refusals (EX_NO: not knowable for the image; EX_DATA: malformed) are
 * mvm-deps's own rules (pyenv.h). */
#include <string.h>
#include "pyenv.h"
#define UNIT_NAME "pyenv"
#include "check.h"

static const struct { int v; const char *m; } markers[] = {
	{ 1, "python_version >= \"3.8\"" },
	{ 0, "python_version < \"3.8\"" },
	{ 1, "python_version == '3.11'" },
	{ 1, "python_version == \"3.11.0\"" },
	{ 1, "python_version == \"3.*\"" },
	{ 0, "python_version != \"3.11.*\"" },
	{ 1, "python_version ~= \"3.10\"" },
	{ 0, "python_version ~= \"3.12\"" },
	{ 0, "python_version > \"3.11\"" },
	{ 1, "python_version <= \"3.11\"" },
	{ 1, "\"3.12\" > python_version" },
	{ 0, "\"3.11\" >= python_version and \"3.11\" < python_version" },
	{ 1, "sys_platform == \"linux\"" },
	{ 0, "sys_platform == \"win32\"" },
	{ 1, "sys_platform != \"darwin\"" },
	{ 1, "platform_machine == 'x86_64'" },
	{ 0, "platform_machine == 'aarch64' or platform_machine == 'arm64'" },
	{ 1, "implementation_name == \"cpython\"" },
	{ 0, "implementation_name == \"pypy\"" },
	{ 1, "platform_python_implementation == \"CPython\"" },
	{ 0, "os_name == \"nt\"" },
	{ 1, "platform_system == \"Linux\"" },
	{ 1, "(sys_platform == \"linux\" or sys_platform == \"darwin\") and python_version >= \"3.9\"" },
	{ 1, "sys_platform == \"win32\" or (python_version < \"3.12\" and platform_machine == \"x86_64\")" },
	{ 1, "python_version < \"3.10\" and sys_platform == \"linux\" or implementation_name == \"cpython\"" },
	{ 1, "\"linux\" in sys_platform" },
	{ 0, "\"lin\" not in sys_platform" },
	{ 1, "sys_platform in \"linux2\"" },
	{ 1, "python_full_version >= \"3.8.1\"" },
	{ 0, "python_full_version < \"3.11\"" },
	{ 1, "python_full_version == \"3.11.*\"" },
	{ 1, "python_version>\"3.7\"and sys_platform==\"linux\"" },
	{ 1, "((python_version >= \"3.11\"))" },
	{ 1, "python_version === \"3.11\"" },
	{ 1, "python_version ~= \"3.11.0\"" },
};

static const struct { int v; const char *fn; } wheels[] = {
	{ 1, "mvmdemo-1.0.0-py3-none-any.whl" },
	{ 1, "six-1.16.0-py2.py3-none-any.whl" },
	{ 0, "a-1-py2-none-any.whl" },
	{ 1, "a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" },
	{ 0, "a-1-cp312-cp312-manylinux_2_17_x86_64.whl" },
	{ 0, "a-1-cp310-cp310-manylinux_2_17_x86_64.whl" },
	{ 1, "a-1-cp38-abi3-manylinux_2_28_x86_64.whl" },
	{ 0, "a-1-cp312-abi3-manylinux_2_28_x86_64.whl" },
	{ 0, "a-1-cp311-cp311-manylinux_2_38_x86_64.whl" },
	{ 1, "a-1-cp311-cp311-manylinux_2_36_x86_64.whl" },
	{ 0, "a-1-cp311-cp311-manylinux_2_17_aarch64.whl" },
	{ 0, "a-1-cp311-cp311-musllinux_1_1_x86_64.whl" },
	{ 0, "a-1-cp311-cp311-win_amd64.whl" },
	{ 1, "a-1-py311-none-any.whl" },
	{ 0, "a-1-py312-none-any.whl" },
	{ 1, "a-1-py38-none-any.whl" },
	{ 1, "a-1-cp311-none-any.whl" },
	{ 0, "a-1-cp310-none-any.whl" },
	{ 0, "a-1-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl" },
	{ 1, "a-1-1build-py3-none-any.whl" },
	{ 1, "a-1-cp311-cp311-linux_x86_64.whl" },
	{ 1, "a-1-cp311-cp311-manylinux1_x86_64.whl" },
	{ 1, "a-1-cp36-abi3-manylinux2010_x86_64.whl" },
	{ 0, "a-1-cp311-cp311d-manylinux1_x86_64.whl" },
	{ 0, "a-1-cp311-abi3-macosx_11_0_arm64.whl" },
	{ 1, "a-1-py3-none-manylinux_2_17_x86_64.whl" },
	{ 1, "a-1-py3-none-macosx_10_9_x86_64.manylinux_2_5_x86_64.whl" },
};

static int eval(const struct py_target *t, const char *s, int *v, size_t *at)
{
	struct merr e = { 0 };
	return py_marker(t, s, strlen(s), v, at, &e);
}

int main(void)
{
	struct py_target t, t12;
	size_t at = 0;
	int v = -1;
	char name[64];

	check(py_target_parse("3.11", &t) == 0 && t.major == 3 && t.minor == 11, "3.11");
	check(py_target_parse("cp312", &t12) == 0 && t12.minor == 12, "cp312");
	check(py_target_parse("3.011", &t12) == EX_NO && py_target_parse("2.7", &t12) == EX_NO &&
		py_target_parse("3.", &t12) == EX_NO && py_target_parse("3.11x", &t12) == EX_NO &&
		py_target_parse("3.123", &t12) == EX_NO, "bad targets refused");
	py_target_name(&t, name, sizeof name);
	check(strcmp(name, "cp311-manylinux_2_36_x86_64") == 0, "name %s", name);
	for (size_t i = 0; i < sizeof markers / sizeof *markers; i++) {
		v = -1;
		int rc = eval(&t, markers[i].m, &v, &at);
		check(rc == 0 && v == markers[i].v, "marker %s: rc %d, %d, want %d", markers[i].m, rc, v,
			markers[i].v);
	}
	for (size_t i = 0; i < sizeof wheels / sizeof *wheels; i++)
		check(py_wheel_fits(&t, wheels[i].fn) == wheels[i].v, "wheel %s: want %d", wheels[i].fn,
			wheels[i].v);
	/* another target: a cp312 wheel fits 3.12, a cp311 one does not */
	py_target_parse("3.12", &t12);
	check(py_wheel_fits(&t12, "a-1-cp312-cp312-manylinux_2_17_x86_64.whl") == 1 &&
		py_wheel_fits(&t12, "a-1-cp311-cp311-manylinux_2_17_x86_64.whl") == 0 &&
		py_wheel_fits(&t12, "a-1-py312-none-any.whl") == 1, "cp312 target");
	check(eval(&t12, "python_version >= \"3.12\"", &v, &at) == 0 && v == 1, "3.12 marker");
	/* not wheels */
	check(py_wheel_fits(&t, "a-1.tar.gz") == -1 && py_wheel_fits(&t, "a-1-py3.whl") == -1 &&
		py_wheel_fits(&t, "a-b-c-d-e-f-g.whl") == -1, "not wheel names");
	/* refused: unknowable for the image (EX_NO), malformed (EX_DATA), with the offset */
	check(eval(&t, "extra == \"test\"", &v, &at) == EX_NO && at == 0, "extra");
	check(eval(&t, "python_version >= \"3.8\" and platform_release >= \"5\"", &v, &at) == EX_NO &&
		at == 28, "platform_release at %zu", at);
	check(eval(&t, "python_full_version >= \"3.11.2\"", &v, &at) == EX_NO && at == 0,
		"patch level unknown");
	check(eval(&t, "python_version >= \"3.11rc1\"", &v, &at) == EX_NO && at == 18, "pre-release at %zu", at);
	check(eval(&t, "sys_platform < \"linux\"", &v, &at) == EX_NO && at == 13, "string order at %zu", at);
	check(eval(&t, "python_version >= \"3.8", &v, &at) == EX_DATA && at == 18, "unterminated at %zu", at);
	check(eval(&t, "(python_version >= \"3.8\"", &v, &at) == EX_DATA && at == 24, "no ) at %zu", at);
	check(eval(&t, "python_version >= \"3.8\" xor 1", &v, &at) == EX_DATA && at == 24, "junk at %zu", at);
	check(eval(&t, "python_version \"3.8\"", &v, &at) == EX_DATA && at == 15, "no operator at %zu", at);
	check(eval(&t, "\"a\" == \"a\"", &v, &at) == EX_DATA && at == 0, "two strings");
	check(eval(&t, "", &v, &at) == EX_DATA, "empty");
	return check_report();
}
