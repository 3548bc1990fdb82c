#!/usr/bin/env python3
"""gen-sdk-models.py — generate the SDKs' IR model from the schema.

Reads schemas/workload.schema.json (JSON Schema 2020-12) and the data files
schemas/supported_languages.txt and schemas/secret_field_tokens.txt, and
writes one model table per SDK:

    sdk/python/mvm/_model.py     MODEL = {...}
    sdk/typescript/model.js      export const MODEL = {...};
    sdk/rust/src/model.rs        pub const MODEL_JSON: &str = "...";

The SDKs walk that table to name, check, default and omit every field, so
they cannot drift from the schema.  With --check nothing is written: the
exit status is 1 (and the stale files are named) when a committed file
differs from what the schema gives.

Exceptions, left to ir-validate's rules and their codes (RULE_* below): the
pattern of an Id and of schema_version, the minItems of apps and entrypoints,
and the required dependencies.

The table ("model"): {schema_version, root, languages, secret_tokens,
shapes: {Name: shape}}.  A shape is one of
    {"type": "struct", "fields": [field...]}
    {"type": "tagged", "tag": "kind", "variants": {"name": [field...]}}
    {"type": "enum", "values": [...]}
    {"type": "one_of", "options": [shape...]}
    {"type": "array", "items": shape, "min_items"?: n}
    {"type": "map", "values": shape, "key_pattern"?: re}
    {"type": "string", "min_length"?: n, "pattern"?: re}
    {"type": "integer", "minimum": n, "maximum": n}
    {"type": "boolean"} | {"type": "object"} | {"type": "any"}
    {"type": "ref", "name": Name}
and a field is {"name", "shape", "presence", "default"?} where presence is
"required", "always" (written with its default when absent: the schema's
description says "always written") or "optional" (omitted when absent,
null, or equal to its default; a description saying "omitted when empty"
makes the empty value its default).

Usage: tools/gen-sdk-models.py [--check] [--root DIR]
"""

import json
import os
import sys

# Strings whose pattern a semantic rule of ir-validate checks (with its own
# error code): the structural check leaves them to the rule.
RULE_REFS = {"Id"}                       # E_INVALID_ID
RULE_PROPS = {"schema_version"}          # E_MALFORMED_VERSION, E_MINOR_TOO_HIGH, ...
RULE_MIN_ITEMS = {"apps", "entrypoints"}  # E_EMPTY_APPS
RULE_REQUIRED = {"dependencies"}          # E_DEPS_REQUIRED_FOR_FUNCTION_WORKLOAD


def load_list(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s and not s.startswith("#"):
                out.append(s)
    return out


class Gen:
    def __init__(self, schema):
        self.schema = schema
        self.defs = schema.get("$defs", {})
        self.shapes = {}

    def ref(self, node):
        name = node["$ref"].rsplit("/", 1)[1]
        if name not in self.defs:
            raise SystemExit("gen-sdk-models: unknown $ref %s" % node["$ref"])
        return name

    def desc(self, node):
        d = node.get("description", "")
        if "$ref" in node:
            d += " " + self.defs[self.ref(node)].get("description", "")
        for k in ("anyOf", "oneOf"):
            for o in node.get(k, ()):
                if "$ref" in o:
                    d += " " + self.defs[self.ref(o)].get("description", "")
        return d.lower()

    def define(self, name):
        if name not in self.shapes:
            self.shapes[name] = None          # recursion guard
            self.shapes[name] = self.conv(self.defs[name], name)

    def strip_null(self, node):
        """A nullable node (null = absent) as the node without null."""
        for k in ("anyOf", "oneOf"):
            opts = node.get(k)
            if opts and any(o.get("type") == "null" for o in opts):
                rest = [o for o in opts if o.get("type") != "null"]
                n = {kk: vv for kk, vv in node.items() if kk != k}
                if len(rest) == 1:
                    n.update(rest[0])
                else:
                    n[k] = rest
                return n
        t = node.get("type")
        if isinstance(t, list) and "null" in t:
            rest = [x for x in t if x != "null"]
            n = dict(node)
            n["type"] = rest[0] if len(rest) == 1 else rest
            return n
        return node

    def conv(self, node, name=None):
        node = self.strip_null(node)
        if "$ref" in node:
            r = self.ref(node)
            if r in RULE_REFS:
                return {"type": "string"}
            self.define(r)
            return {"type": "ref", "name": r}
        if "oneOf" in node and "kind" in node.get("required", ()):
            variants = {}
            for o in node["oneOf"]:
                tag = o["properties"]["kind"]["const"]
                variants[tag] = self.fields(o, skip="kind")
            return {"type": "tagged", "tag": "kind", "variants": variants}
        if "anyOf" in node or "oneOf" in node:
            return {"type": "one_of",
                    "options": [self.conv(o) for o in node.get("anyOf", node.get("oneOf"))]}
        if "enum" in node:
            return {"type": "enum", "values": list(node["enum"])}
        if "const" in node:
            return {"type": "enum", "values": [node["const"]]}
        t = node.get("type")
        if t is None:
            return {"type": "any"}
        if isinstance(t, list):
            raise SystemExit("gen-sdk-models: %s: a union of types %s is not supported"
                             % (name or "?", t))
        if t == "object":
            if "properties" in node:
                return {"type": "struct", "fields": self.fields(node)}
            ap = node.get("additionalProperties")
            if isinstance(ap, dict):
                s = {"type": "map", "values": self.conv(ap)}
                pn = node.get("propertyNames", {})
                if "pattern" in pn:
                    s["key_pattern"] = pn["pattern"]
                return s
            return {"type": "object"}
        if t == "array":
            s = {"type": "array", "items": self.conv(node.get("items", {}))}
            if node.get("minItems"):
                s["min_items"] = node["minItems"]
            return s
        if t == "string":
            s = {"type": "string"}
            if node.get("minLength"):
                s["min_length"] = node["minLength"]
            if "pattern" in node:
                s["pattern"] = node["pattern"]
            return s
        if t == "integer":
            s = {"type": "integer"}
            for k in ("minimum", "maximum"):
                if k in node:
                    s[k] = node[k]
            return s
        if t == "boolean":
            return {"type": "boolean"}
        raise SystemExit("gen-sdk-models: %s: type %r is not supported" % (name or "?", t))

    def fields(self, node, skip=None):
        req = set(node.get("required", ()))
        out = []
        for fname, sub in node.get("properties", {}).items():
            if fname == skip:
                continue
            shape = self.conv(sub)
            if fname in RULE_PROPS and shape.get("type") == "string":
                shape.pop("pattern", None)
            if fname in RULE_MIN_ITEMS and shape.get("type") == "array":
                shape.pop("min_items", None)
            d = self.desc(sub)
            f = {"name": fname, "shape": shape}
            if fname in req and fname not in RULE_REQUIRED:
                f["presence"] = "required"
            elif "default" in sub and "always written" in d:
                f["presence"] = "always"
            else:
                f["presence"] = "optional"
            if "default" in sub:
                f["default"] = sub["default"]
            elif f["presence"] == "optional" and "omitted when empty" in d:
                base = self.shapes.get(shape["name"]) if shape["type"] == "ref" else shape
                f["default"] = [] if base and base["type"] == "array" else {}
            out.append(f)
        return out

    def model(self, languages, tokens):
        root = self.conv(self.schema, "Workload")
        self.shapes["Workload"] = root
        sv = self.schema["properties"]["schema_version"]
        version = sv.get("const") or sv.get("default")
        if not version:
            # "^0\.(0|1)$": the highest version the pattern admits
            import re
            m = re.match(r"\^(\d+)\\\.\((?:\d+\|)*(\d+)\)\$$", sv.get("pattern", ""))
            if not m:
                raise SystemExit("gen-sdk-models: cannot tell schema_version from the schema")
            version = "%s.%s" % (m.group(1), m.group(2))
        return {"schema_version": version, "root": "Workload", "languages": languages,
                "secret_tokens": tokens, "shapes": self.shapes}


HEADER = ("GENERATED by tools/gen-sdk-models.py from schemas/workload.schema.json, "
          "schemas/supported_languages.txt and schemas/secret_field_tokens.txt. Do not edit: "
          "edit the schema and run tools/gen-sdk-models.py.")


def render(model):
    text = json.dumps(model, sort_keys=True, indent=1, ensure_ascii=False)
    compact = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    py = "# %s\n# fmt: off\nimport json\n\nMODEL = json.loads(r'''%s''')\n" % (HEADER, text)
    js = "// %s\nexport const MODEL = %s;\n" % (HEADER, text)
    if "'" * 3 in text:
        raise SystemExit("gen-sdk-models: the model contains a Python raw string delimiter")
    if '"##' in compact:
        raise SystemExit("gen-sdk-models: the model contains \"## (raw string delimiter)")
    rs = ("// %s\n\n/// The IR model (see tools/gen-sdk-models.py for its format).\n"
          "pub const MODEL_JSON: &str = r##\"%s\"##;\n" % (HEADER, compact))
    return {"sdk/python/mvm/_model.py": py, "sdk/typescript/model.js": js,
            "sdk/rust/src/model.rs": rs}


def main(argv):
    check = "--check" in argv
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--root" in argv:
        root = argv[argv.index("--root") + 1]
    with open(os.path.join(root, "schemas/workload.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    model = Gen(schema).model(load_list(os.path.join(root, "schemas/supported_languages.txt")),
                              load_list(os.path.join(root, "schemas/secret_field_tokens.txt")))
    stale = []
    for rel, text in render(model).items():
        path = os.path.join(root, rel)
        try:
            with open(path, encoding="utf-8") as f:
                old = f.read()
        except OSError:
            old = None
        if old == text:
            continue
        if check:
            stale.append(rel)
            continue
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        print("gen-sdk-models: wrote %s" % rel)
    if stale:
        for rel in stale:
            sys.stderr.write("gen-sdk-models: %s is out of date with schemas/ "
                             "(run tools/gen-sdk-models.py)\n" % rel)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
