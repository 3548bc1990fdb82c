import json
import math
import unittest

from support import SEED_IR  # noqa: F401  (sets sys.path)
from mvm import CanonError, canonical


class TestCanonical(unittest.TestCase):
    def test_numbers_as_ecmascript(self):
        cases = [(1.0, "1"), (20.0, "20"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
                 (1.5e-7, "1.5e-7"), (0.000001, "0.000001"), (123.456, "123.456"),
                 (-0.0, "0"), (5e-324, "5e-324"), (0.1, "0.1"), (-1.25, "-1.25"),
                 (2**60, "1152921504606847000"), (7, "7"), (-7, "-7")]
        for x, want in cases:
            self.assertEqual(canonical(x), want.encode(), x)

    def test_keys_by_utf16_code_units(self):
        # U+1F600 is D83D DE00 in UTF-16: before U+FFFF, unlike code point order.
        v = {"\uffff": 2, "\U0001F600": 1, "b": [1, "\u00e9\n\x01"], "a": None}
        self.assertEqual(canonical(v), '{"a":null,"b":[1,"\u00e9\\n\\u0001"],"\U0001F600":1,"\uffff":2}'
                         .encode("utf-8"))

    def test_no_whitespace_and_literals(self):
        self.assertEqual(canonical({"t": True, "f": False, "l": [], "o": {}}),
                         b'{"f":false,"l":[],"o":{},"t":true}')

    def test_rejects_what_json_cannot_hold(self):
        for bad in (math.nan, math.inf, "\ud800", {1: 2}, object()):
            with self.assertRaises(CanonError):
                canonical(bad)

    def test_idempotent_on_seed(self):
        with open(SEED_IR) as f:
            once = canonical(json.load(f))
        self.assertEqual(canonical(json.loads(once)), once)


if __name__ == "__main__":
    unittest.main()
