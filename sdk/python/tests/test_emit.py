import hashlib
import json
import os
import shutil
import tempfile
import unittest

from support import ROOT, SEED_HASH, SEED_IR, LOCKS, run_emit, validators
import mvm

HELLO = os.path.join(ROOT, "examples", "hello", "entry.py")
GREET = os.path.join(ROOT, "examples", "greet", "entry.py")


def seed_bytes():
    with open(SEED_IR) as f:
        return mvm.canonical(json.load(f))


class TestWorkedExample(unittest.TestCase):
    def test_hello_emits_the_seed_ir_bytes(self):
        for name, v in validators():
            with self.subTest(validator=name):
                st, out, err = run_emit(entry=HELLO, validator=v)
                self.assertEqual(st, 0, err)
                self.assertEqual(out, seed_bytes())
                self.assertEqual(hashlib.sha256(out).hexdigest(), SEED_HASH)

    def test_mvm_ir_out_is_written_atomically_and_stdout_stays_empty(self):
        d = tempfile.mkdtemp()
        try:
            dest = os.path.join(d, "workload-ir.json")
            st, out, err = run_emit(entry=HELLO, out=dest)
            self.assertEqual((st, out), (0, b""), err)
            with open(dest, "rb") as f:
                self.assertEqual(f.read(), seed_bytes())
            self.assertEqual(sorted(os.listdir(d)), ["workload-ir.json"])
        finally:
            shutil.rmtree(d)

    def test_short_example_validates(self):
        for name, v in validators():
            with self.subTest(validator=name):
                st, out, err = run_emit(entry=GREET, validator=v)
                self.assertEqual(st, 0, err)
                ir = json.loads(out)
                ep = ir["apps"][0]["entrypoints"][0]
                self.assertEqual((ep["function"], ep["primary"]), ("greet", False))
                self.assertEqual(ir["apps"][0]["source"]["path"], ".")

    def test_in_process_emit_matches(self):
        mvm.reset()
        try:
            @mvm.app(name="hello", source=mvm.source.local("./src"),
                     image=mvm.image.nix_packages(["python3"]),
                     resources=mvm.resources(vcpus=1, memory_mb=256),
                     dependencies=mvm.deps.none())
            @mvm.function(language="python", module="app", function="greet", format="json",
                          primary=True)
            def _spec():
                pass
            os.environ["MVM_IR_VALIDATE"] = ""
            self.assertEqual(mvm.ir_bytes(), seed_bytes())
        finally:
            os.environ.pop("MVM_IR_VALIDATE", None)
            mvm.reset()


DECL = '''
import mvm
@mvm.app(name="hello", source=mvm.source.local({src!r}),
         image=mvm.image.nix_packages(["python3"]),
         resources=mvm.resources(vcpus=1, memory_mb=256), dependencies={deps})
@mvm.function(language={lang!r}, module="app", function="greet", format="json",
              args_schema={schema!r})
def greet(name):
    raise SystemExit("the workload function ran on the host")
'''


def decl(src=".", deps="mvm.deps.none()", lang="python", schema=None):
    return DECL.format(src=src, deps=deps, lang=lang, schema=schema)


class TestErrors(unittest.TestCase):
    """An SDK-level error fails with the validator's code and writes nothing."""

    def check_fails(self, text, code):
        for name, v in validators():
            with self.subTest(validator=name, code=code):
                d = tempfile.mkdtemp()
                try:
                    dest = os.path.join(d, "ir.json")
                    st, out, err = run_emit(text, validator=v, out=dest)
                    self.assertEqual(st, 1, err)
                    self.assertIn(code + " at /apps/0/", err)
                    self.assertEqual(out, b"")
                    self.assertEqual(os.listdir(d), [])
                finally:
                    shutil.rmtree(d)

    def test_unpinned_lockfile(self):
        self.check_fails(decl(src=os.path.join(LOCKS, "npm-unpinned"),
                              deps='mvm.deps.node("package-lock.json", tool="npm")'),
                         "E_UNPINNED_DEPS")
        self.check_fails(decl(src=os.path.join(LOCKS, "uv-unpinned"),
                              deps='mvm.deps.python("uv.lock", tool="uv")'), "E_UNPINNED_DEPS")

    def test_missing_lockfile(self):
        self.check_fails(decl(deps='mvm.deps.python("no-such.lock", tool="uv")'),
                         "E_LOCKFILE_NOT_FOUND")

    def test_secret_shaped_argument(self):
        schema = {"type": "object", "properties": {"name": {"type": "string"},
                                                   "api_key": {"type": "string"}}}
        self.check_fails(decl(schema=schema), "E_SECRET_IN_SCHEMA")

    def test_unsupported_language(self):
        self.check_fails(decl(lang="cobol"), "E_UNSUPPORTED_LANGUAGE")

    def test_pinned_lockfiles_pass(self):
        for sub, deps in (("npm", 'mvm.deps.node("package-lock.json", tool="npm")'),
                          ("pnpm9", 'mvm.deps.node("pnpm-lock.yaml", tool="pnpm")'),
                          ("yarn", 'mvm.deps.node("yarn.lock", tool="yarn")'),
                          ("pip", 'mvm.deps.python("requirements.txt", tool="pip_tools")'),
                          ("uv", 'mvm.deps.python("uv.lock", tool="uv")')):
            for name, v in validators():
                with self.subTest(lockfile=sub, validator=name):
                    st, out, err = run_emit(decl(src=os.path.join(LOCKS, sub), deps=deps),
                                            validator=v)
                    self.assertEqual(st, 0, err)

    def test_declaration_errors_exit_3(self):
        for text in ("import mvm\n", "raise RuntimeError('boom')\n",
                     "import mvm\nmvm.app(name='x', image=mvm.image.nix_packages(['p']), "
                     "resources=mvm.resources(1, 256), dependencies=mvm.deps.none(), "
                     "entrypoints=7)\n"):
            st, out, err = run_emit(text)
            self.assertEqual((st, out), (3, b""), err)

    def test_nan_is_refused(self):
        st, out, err = run_emit(decl(schema={"type": "number", "maximum": float("nan")}))
        self.assertEqual((st, out), (3, b""), err)

    def test_workload_function_is_never_called(self):
        text = decl() + 'if __name__ == "__main__":\n    greet("x")\n'
        st, out, err = run_emit(text)
        self.assertEqual(st, 0, err)
        self.assertNotIn("ran on the host", err)

    def test_emitting_flag_is_set(self):
        text = decl() + 'import os\nassert os.environ["MVM_EMITTING"] == "1" and mvm.emitting()\n'
        st, out, err = run_emit(text)
        self.assertEqual(st, 0, err)


if __name__ == "__main__":
    unittest.main()


class TestDirectRun(unittest.TestCase):
    """`MVM_EMITTING=1 python3 entry.py` emits at exit, without mvm-emit."""

    def run_direct(self, text, emitting=True, out=None):
        import subprocess
        import sys
        d = tempfile.mkdtemp()
        try:
            entry = os.path.join(d, "entry.py")
            with open(entry, "w") as f:
                f.write(text)
            env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(mvm.__file__)),
                       MVM_IR_VALIDATE="")
            env.pop("MVM_EMITTING", None)
            env.pop("MVM_IR_OUT", None)
            if emitting:
                env["MVM_EMITTING"] = "1"
            if out:
                env["MVM_IR_OUT"] = out
            p = subprocess.run([sys.executable, entry], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            return p.returncode, p.stdout, p.stderr.decode()
        finally:
            shutil.rmtree(d)

    def test_emits_at_exit(self):
        st, out, err = self.run_direct(decl())
        self.assertEqual(st, 0, err)
        self.assertEqual(json.loads(out)["id"], "hello")

    def test_invalid_exits_1_and_writes_nothing(self):
        d = tempfile.mkdtemp()
        try:
            dest = os.path.join(d, "ir.json")
            st, out, err = self.run_direct(decl(lang="cobol"), out=dest)
            self.assertEqual((st, out), (1, b""))
            self.assertIn("E_UNSUPPORTED_LANGUAGE", err)
            self.assertEqual(os.listdir(d), [])
        finally:
            shutil.rmtree(d)

    def test_nothing_without_mvm_emitting(self):
        st, out, err = self.run_direct(decl(), emitting=False)
        self.assertEqual((st, out), (0, b""), err)
