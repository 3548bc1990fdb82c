# mkwheel.py OUT NAME VERSION — a tiny pure-Python wheel (NAME/__init__.py with
# shout(s) = s.upper() + "!"), zipped by hand: PyPI is not reachable here.
import sys, zipfile, hashlib, base64
out, name, ver = sys.argv[1], sys.argv[2], sys.argv[3]
files = {f"{name}/__init__.py": "def shout(s):\n    return s.upper() + '!'\n",
         f"{name}-{ver}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {ver}\n",
         f"{name}-{ver}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
rec = ""
for p, c in files.items():
    d = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b"=").decode()
    rec += f"{p},sha256={d},{len(c)}\n"
rec += f"{name}-{ver}.dist-info/RECORD,,\n"
files[f"{name}-{ver}.dist-info/RECORD"] = rec
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:  # stored: the same bytes with any zlib
    for p, c in files.items():
        zi = zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)); zi.external_attr = 0o644 << 16
        z.writestr(zi, c)
