#!/usr/bin/env python3
"""test/import/make_fixtures.py DIR: the import suite's fixtures.

Writes into DIR the same users as mongoexport would export them:
  relaxed.json    one document per line, relaxed Extended JSON (the default)
  canonical.json  one document per line, canonical (--jsonFormat=canonical)
  array.json      one JSON array on one line (--jsonArray)
  pretty.json     a JSON array, pretty-printed (--jsonArray --pretty)
and expected.tsv: user id, then the document get_user_metadata must return,
for the users the import keeps.  Every Extended JSON type is present, at
several depths; there are duplicates (string and ObjectId ids, Atlas's
rule: first inserted wins, a string id before an ObjectId) and bad lines.
The lines files keep blank and bad lines at fixed numbers: see BAD_LINES.
"""
import base64, datetime, json, os, sys

class Oid:
    def __init__(s, h): s.h = h
class Date:
    def __init__(s, ms): s.ms = ms
class Int32:
    def __init__(s, n): s.n = n
class Int64:
    def __init__(s, n): s.n = n
class Double:
    def __init__(s, text): s.text = text        # as the shell would print it
class Decimal:
    def __init__(s, text): s.text = text
class Binary:
    def __init__(s, data, sub): s.data, s.sub = data, sub
class Timestamp:
    def __init__(s, t, i): s.t, s.i = t, i
class Regex:
    def __init__(s, p, o): s.p, s.o = p, o
class Key:
    def __init__(s, name): s.name = name      # $minKey / $maxKey
class Symbol:
    def __init__(s, v): s.v = v
class Code:
    def __init__(s, v, scope=None): s.v, s.scope = v, scope
class Raw:
    def __init__(s, text): s.text = text      # a JSON number written as is

def iso(ms):
    if -62135596800000 <= ms <= 253402300799999:
        d = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return {253402300800000: "+010000-01-01T00:00:00.000Z",
            -62198755200001: "-000002-12-31T23:59:59.999Z"}[ms]

def dump(v, mode):
    """JSON text of v: mode relaxed, canonical, or plain (the expected result)"""
    j = lambda x: json.dumps(x, ensure_ascii=False)
    w = lambda k, x: '{"%s":%s}' % (k, x)
    if isinstance(v, dict):
        return "{" + ",".join(j(k) + ":" + dump(x, mode) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x, mode) for x in v) + "]"
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, Oid):
        return j(v.h.lower()) if mode == "plain" else w("$oid", j(v.h))
    if isinstance(v, Date):
        if mode == "plain":
            return j(iso(v.ms))
        if mode == "relaxed" and 0 <= v.ms <= 253402300799999:
            return w("$date", j(iso(v.ms)))
        return w("$date", w("$numberLong", j(str(v.ms))))
    if isinstance(v, (Int32, Int64)):
        if mode == "canonical":
            return w("$numberInt" if isinstance(v, Int32) else "$numberLong", j(str(v.n)))
        return str(v.n)
    if isinstance(v, Double):
        special = v.text in ("NaN", "Infinity", "-Infinity")
        if mode == "plain":
            return j(v.text) if special else v.text
        if mode == "relaxed" and not special:
            return v.text
        return w("$numberDouble", j(v.text))
    if isinstance(v, Decimal):
        if mode == "plain":
            return j(v.text) if v.text in ("NaN", "Infinity", "-Infinity") else v.text
        return w("$numberDecimal", j(v.text))
    if isinstance(v, Binary):
        b64 = base64.b64encode(v.data).decode()
        if mode == "plain":
            if v.sub == 4 and len(v.data) == 16:
                h = v.data.hex()
                return j("%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:]))
            return j(b64)
        return w("$binary", '{"base64":%s,"subType":"%02x"}' % (j(b64), v.sub))
    if isinstance(v, Timestamp):
        if mode == "plain":
            return '{"t":%d,"i":%d}' % (v.t, v.i)
        return w("$timestamp", '{"t":%d,"i":%d}' % (v.t, v.i))
    if isinstance(v, Regex):
        if mode == "plain":
            return j("/%s/%s" % (v.p, v.o))
        return w("$regularExpression", '{"pattern":%s,"options":%s}' % (j(v.p), j(v.o)))
    if isinstance(v, Key):
        return j("MinKey" if v.name == "$minKey" else "MaxKey") if mode == "plain" else w(v.name, "1")
    if isinstance(v, Symbol):
        return j(v.v) if mode == "plain" else w("$symbol", j(v.v))
    if isinstance(v, Code):
        if v.scope is None:
            return j(v.v) if mode == "plain" else w("$code", j(v.v))
        if mode == "plain":
            return '{"code":%s,"scope":%s}' % (j(v.v), dump(v.scope, mode))
        return '{"$code":%s,"$scope":%s}' % (j(v.v), dump(v.scope, mode))
    return j(v)

H = "64b7f0c2a1b2c3d4e5f6%04x"
everything = {
    "name": "Ada \u00e9\u00e8 \U0001F600 \"quoted\" back\\slash\ttab",
    "createdAt": Date(1678492800123), "before1970": Date(-86400001),
    "year10000": Date(253402300800000), "beforeYear0": Date(-62198755200001),
    "i32": Int32(-2147483648), "i64": Int64(9223372036854775807), "small": Int64(-5),
    "double": Double("1.5"), "tenth": Double("0.1"), "huge": Double("1e+300"),
    "nan": Double("NaN"), "inf": Double("Infinity"), "ninf": Double("-Infinity"),
    "dec": Decimal("1234567890.123456789012345678901234"), "dec2": Decimal("1.10"),
    "decnan": Decimal("NaN"),
    "bin": Binary(b"\x01\x02\x03", 0), "uuid": Binary(bytes.fromhex("0123456789abcdef0123456789abcdef"), 4),
    "ts": Timestamp(1678492800, 7), "re": Regex("^a.*z$", "im"),
    "min": Key("$minKey"), "max": Key("$maxKey"), "sym": Symbol("s"), "code": Code("f()"),
    "codews": Code("g(x)", {"x": Int32(1)}),
    "nested": {"list": [Int32(1), {"deep": [Date(0), Oid("64B7F0C2A1B2C3D4E5F6FFFF")]}, [Decimal("2.50")]],
               "plain": {"a": True, "b": None, "c": [], "d": {}}},
    "looksLike": {"$oid": "x", "extra": 1},
}
# (line, document or raw text); the user id field is userId
lines = [
    {"_id": Oid(H % 0x100), "userId": H % 1, **everything},                 # 1: wins for 0001
    {"_id": Oid(H % 0x101), "userId": Oid(H % 1), "v": Int32(2)},           # 2: dup of 1 (string first)
    {"_id": Oid(H % 0x102), "userId": Oid(H % 2), "v": Int32(3)},           # 3: dup: a string id comes later
    {"_id": Oid(H % 0x103), "userId": H % 2, "v": Int32(4)},                # 4: wins for 0002 (string)
    {"_id": Oid(H % 0x104), "userId": H % 2, "v": Int32(5)},                # 5: dup of 4 (first string)
    {"_id": Oid(H % 0x105), "userId": Oid(H % 3), "v": Int32(6)},           # 6: wins for 0003 (first)
    {"_id": Oid(H % 0x106), "userId": Oid(H % 3), "v": Int32(7)},           # 7: dup of 6
    {"_id": Oid(H % 0x107), "userId": "alice", "prefs": {"theme": "dark", "tags": [Symbol("a"), Int64(1)]}},
    "",                                                                     # 9: blank
    '{"userId": "bob", "x": }',                                             # 10: not JSON
    '{"userId": "carol", "n": {"$numberLong": "12x"}}',                     # 11: malformed wrapper
    '{"user": "dan"}',                                                      # 12: no userId
    '{"userId": 42}',                                                       # 13: id neither string nor ObjectId
    '[1, 2]',                                                               # 14: not an object
    {"_id": Oid(H % 0x108), "userId": "dave", "gone": None, "kept": Int32(1)},  # 15: root null dropped
]
BAD_LINES = [10, 11, 12, 13, 14]
DUPLICATES = {2: 1, 3: 4, 5: 4, 7: 6}
WINNERS = {1: H % 1, 4: H % 2, 6: H % 3, 8: "alice", 15: "dave"}

out = sys.argv[1]
docs = {m: [l if isinstance(l, str) else dump(l, m) for l in lines] for m in ("relaxed", "canonical")}
for m in ("relaxed", "canonical"):
    with open(os.path.join(out, m + ".json"), "w") as f:
        f.write("\n".join(docs[m]) + "\n")
good = [dump(l, "relaxed") for l in lines if not isinstance(l, str)]
with open(os.path.join(out, "array.json"), "w") as f:
    f.write("[" + ",".join(good) + "]")
with open(os.path.join(out, "pretty.json"), "w") as f:
    f.write("[\n" + ",\n".join(json.dumps(json.loads(d), indent=2, ensure_ascii=False) for d in
                              [dump(l, "canonical") for l in lines if not isinstance(l, str)]) + "\n]\n")
with open(os.path.join(out, "expected.tsv"), "w") as f:
    for line, user in WINNERS.items():
        doc = dict(lines[line - 1])
        doc = {k: v for k, v in doc.items() if v is not None}
        f.write(user + "\t" + dump(doc, "plain").replace("\\", "\\\\") + "\n")
with open(os.path.join(out, "lines.txt"), "w") as f:
    f.write("bad %s\n" % " ".join(map(str, BAD_LINES)))
    f.write("duplicates %s\n" % " ".join("%d:%d" % kv for kv in DUPLICATES.items()))
