// RFC 8785 (JCS) canonical JSON.  JSON.stringify already writes strings and
// numbers as RFC 8785 wants (ECMAScript Number::toString); keys are sorted
// here by UTF-16 code units (JavaScript's default string order).

export class CanonError extends Error {}

function str(s, where) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { i++; continue; }
      throw new CanonError(`${where || "/"}: string contains a lone surrogate`);
    }
    if (c >= 0xdc00 && c <= 0xdfff) throw new CanonError(`${where || "/"}: string contains a lone surrogate`);
  }
  return JSON.stringify(s);
}

function tok(k) { return k.replace(/~/g, "~0").replace(/\//g, "~1"); }

function write(v, out, where) {
  if (v === null) { out.push("null"); return; }
  switch (typeof v) {
    case "boolean": out.push(v ? "true" : "false"); return;
    case "number":
      if (!Number.isFinite(v)) throw new CanonError(`${where || "/"}: ${v} has no JSON form`);
      out.push(Object.is(v, -0) ? "0" : String(v));
      return;
    case "bigint":
      out.push(String(Number(v))); return;
    case "string": out.push(str(v, where)); return;
    case "object":
      if (Array.isArray(v)) {
        out.push("[");
        v.forEach((x, i) => { if (i) out.push(","); write(x === undefined ? null : x, out, `${where}/${i}`); });
        out.push("]");
        return;
      }
      {
        const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
        out.push("{");
        keys.forEach((k, i) => {
          if (i) out.push(",");
          out.push(str(k, where), ":");
          write(v[k], out, `${where}/${tok(k)}`);
        });
        out.push("}");
      }
      return;
    default:
      throw new CanonError(`${where || "/"}: a ${typeof v} has no JSON form`);
  }
}

/** The RFC 8785 canonical text of a JSON-like value. */
export function canonical(value) {
  const out = [];
  write(value, out, "");
  return out.join("");
}
