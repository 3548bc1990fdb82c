# canonical-json.nix — RFC 8785 (JCS) bytes from a Nix value, or a throw.
#
# builtins.toJSON already sorts keys and writes no whitespace, but it is not
# RFC 8785 (measured with Nix 2.8, see nix/README.md "toJSON and RFC 8785"):
#   * U+0008 and U+000C come out as \u0008 and \u000c; RFC 8785 says \b, \f;
#   * keys are sorted by UTF-8 bytes; RFC 8785 sorts by UTF-16 code units
#     (they differ when a key mixes U+E000..U+FFFF with astral characters);
#   * floats are printed with 6 significant digits (0.30000000000000004 ->
#     0.3, 123456.789 -> 123457, 1e-7 -> 1e-07), -0.0 -> -0;
#   * integers are int64: 2^53+1 stays exact where RFC 8785 rounds to a
#     double, and builtins.fromJSON wraps 2^63..2^64-1 to negative numbers;
#   * builtins.fromJSON cuts a string at \u0000 (Nix strings are C strings).
#
# This writer produces the same bytes as ir-canon for the values it accepts
# and throws for the others:
#   strings      toJSON's escaping with \u0008 -> \b and \u000c -> \f
#   integers     |n| <= 2^53 - 1
#   floats       only integral ones within 2^53 - 1 (written as integers,
#                which is what RFC 8785 does with 2.0 or 1e2)
#   attr sets    keys of printable ASCII only (byte order = UTF-16 order)
#   lists, bools, null
# A NUL can never be seen here (fromJSON has already cut the string): callers
# that read JSON text refuse a "\u0000" escape in it (see mkFunctionWorkload).
let
  maxSafe = 9007199254740991;

  # Every backslash in toJSON's output starts an escape, so scanning left to
  # right and consuming "\\" as a whole keeps the alignment: a literal
  # backslash followed by "u0008" is never mistaken for the escape.
  fixEscapes = builtins.replaceStrings
    [ "\\\\" "\\u0008" "\\u000c" ]
    [ "\\\\" "\\b" "\\f" ];

  str = s: fixEscapes (builtins.toJSON s);

  int = where: n:
    if n > maxSafe || n < -maxSafe then
      throw "canonical JSON: ${where}: the integer ${toString n} is outside +-(2^53-1); RFC 8785 would round it to a double and Nix cannot"
    else toString n;

  float = where: f:
    let i = builtins.floor f; in
    if f != i * 1.0 then
      throw "canonical JSON: ${where}: the number ${builtins.toJSON f} is not an integer; Nix cannot print it as RFC 8785 does (it keeps 6 significant digits)"
    else if f == 0.0 then "0"
    else int where i;

  asciiKey = k: builtins.match "[ -~]*" k != null;

  go = where: v:
    if builtins.isString v then str v
    else if builtins.isInt v then int where v
    else if builtins.isFloat v then float where v
    else if builtins.isBool v then (if v then "true" else "false")
    else if v == null then "null"
    else if builtins.isList v then
      "[" + builtins.concatStringsSep ","
        (builtins.genList (i: go "${where}/${toString i}" (builtins.elemAt v i)) (builtins.length v)) + "]"
    else if builtins.isAttrs v then
      "{" + builtins.concatStringsSep "," (map
        (k:
          if asciiKey k then str k + ":" + go "${where}/${k}" v.${k}
          else throw "canonical JSON: ${where}: the key ${builtins.toJSON k} is not printable ASCII; Nix sorts keys by UTF-8 bytes and RFC 8785 by UTF-16 code units")
        (builtins.attrNames v)) + "}"
    else throw "canonical JSON: ${where}: a ${builtins.typeOf v} has no JSON form";
in
{
  # toCanonicalJSON :: value -> string   (throws for values it cannot write)
  toCanonicalJSON = go "";
  # The same with a location prefix for the messages.
  toCanonicalJSONAt = go;
  # "\u0000" anywhere in a JSON text (fromJSON would cut the string there).
  hasNulEscape = text: builtins.replaceStrings [ "\\u0000" ] [ "" ] text != text;
  inherit maxSafe;
}
