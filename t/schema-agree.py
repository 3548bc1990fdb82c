#!/usr/bin/python3
"""Check that schemas/workload.schema.json and ir-validate agree.

Run with Debian's python3 (python3-jsonschema, Draft 2020-12), from the
top of a checkout whose bin/ir-validate is built:

    /usr/bin/python3 t/schema-agree.py

1. The schema is a valid Draft 2020-12 schema.
2. Every IR ir-validate accepts validates against the schema.
3. Every IR ir-validate rejects with structural codes only (the codes in
   STRUCTURAL) is rejected by the schema too.
The IRs are the seed's, every fixture in t/data/ir/, and mutants of the
valid fixtures: each object gains an unknown member, loses each member in
turn, and each scalar is replaced by a value of another type.  Prints one
line of counts; exits 1 and names each disagreement otherwise.
"""
import copy
import glob
import json
import os
import subprocess
import sys
import tempfile

import jsonschema

STRUCTURAL = {
    "E_UNKNOWN_FIELD", "E_MALFORMED_MANIFEST", "E_MALFORMED_VERSION",
    "E_UNSUPPORTED_MAJOR", "E_MINOR_TOO_HIGH", "E_INVALID_ID", "E_EMPTY_APPS",
    "E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD",
}
# Free-form values: not mutated (anything goes inside them).
FREE = {"extensions", "args_schema", "return_schema", "params", "config"}

root = os.getcwd()
validator_bin = os.path.join(root, "bin", "ir-validate")
with open(os.path.join(root, "schemas", "workload.schema.json"), encoding="utf-8") as f:
    schema = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
schema_v = jsonschema.Draft202012Validator(schema)

bad = []
counts = {"accepted": 0, "structural": 0, "semantic": 0}


def verdict(path, nolock):
    args = [validator_bin, "-j"] + (["-L"] if nolock else []) + [path]
    p = subprocess.run(args, capture_output=True, check=False)
    if p.returncode not in (0, 1):
        bad.append(f"{path}: ir-validate exited {p.returncode}: {p.stderr.decode()}")
        return None
    rep = json.loads(p.stdout)
    return rep["valid"], {e["code"] for e in rep["errors"]}


def compare(name, path, doc, nolock=False):
    v = verdict(path, nolock)
    if v is None:
        return
    valid, codes = v
    errs = list(schema_v.iter_errors(doc))
    if valid:
        counts["accepted"] += 1
        if errs:
            bad.append(f"{name}: ir-validate accepts, the schema rejects: {errs[0].message}")
    elif codes <= STRUCTURAL:
        counts["structural"] += 1
        if not errs:
            bad.append(f"{name}: ir-validate rejects ({', '.join(sorted(codes))}), the schema accepts")
    else:
        counts["semantic"] += 1


def mutants(doc):
    """(description, mutated document) pairs."""
    def walk(node, path):
        if isinstance(node, dict):
            yield path, node
            for k, v in node.items():
                if k not in FREE:
                    yield from walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, path + [i])
        else:
            yield path, node

    def at(d, path):
        for p in path:
            d = d[p]
        return d

    for path, node in list(walk(doc, [])):
        ptr = "/" + "/".join(str(p) for p in path)
        if isinstance(node, dict):
            m = copy.deepcopy(doc)
            at(m, path)["x_unknown"] = 1
            yield f"{ptr} + unknown member", m
            for k in node:
                m = copy.deepcopy(doc)
                del at(m, path)[k]
                yield f"{ptr} - {k}", m
        else:
            other = 7 if isinstance(node, str) else "7" if not isinstance(node, bool) else "true"
            if node is None:
                other = []
            m = copy.deepcopy(doc)
            at(m, path[:-1])[path[-1]] = other
            yield f"{ptr} := {json.dumps(other)}", m


files = [os.path.join(root, "t", "data", "seed-ir.json")]
files += sorted(glob.glob(os.path.join(root, "t", "data", "ir", "*.json")))
with tempfile.TemporaryDirectory() as tmp:
    n = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        compare(os.path.relpath(path, root), path, doc)
        if not os.path.basename(path).startswith(("valid-", "seed-")):
            continue
        for desc, m in mutants(doc):
            n += 1
            mpath = os.path.join(tmp, f"m{n}.json")
            with open(mpath, "w", encoding="utf-8") as f:
                json.dump(m, f)
            compare(f"{os.path.relpath(path, root)}: {desc}", mpath, m, nolock=True)

for b in bad:
    print(b)
print(f"{sum(counts.values())} documents: {counts['accepted']} accepted by both, "
      f"{counts['structural']} structural rejections shared, {counts['semantic']} semantic "
      f"(schema not asked), {len(bad)} disagreements")
sys.exit(1 if bad else 0)
