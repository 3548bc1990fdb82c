"""The built-in checks report what ir-validate reports: the same (code,
pointer) pairs on every case of sdk/testdata/rule-cases.json."""

import json
import os
import subprocess
import sys
import unittest

from support import IR_VALIDATE, ROOT
from mvm import _ir

CASES = os.path.join(ROOT, "sdk", "testdata", "rule-cases.json")


class TestRules(unittest.TestCase):
    def test_builtin_checks_agree_with_ir_validate(self):
        with open(CASES) as f:
            cases = json.load(f)
        self.assertGreater(len(cases), 50)
        for c in cases:
            with self.subTest(case=c["name"]):
                got = sorted([e[0], e[1]] for e in _ir.check(c["ir"], base_dir=ROOT))
                self.assertEqual(got, c["errors"])

    def test_cases_still_match_ir_validate(self):
        if not os.access(IR_VALIDATE, os.X_OK):
            self.skipTest("bin/ir-validate not built")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "sdk", "testdata",
                                                         "make-rule-cases.py"), "--check"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode() +
                         " (run sdk/testdata/make-rule-cases.py and review the change)")


if __name__ == "__main__":
    unittest.main()
