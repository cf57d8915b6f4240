"""test/python/test_drivers.py: psycopg 3 (Debian python3-psycopg) against a
real database with the extension, as test/suites/psycopg.sh sets it up:
native Python values as parameters, no casts.  Prints TAP lines."""
import json
import os
import sys

import psycopg
from psycopg.types.json import Jsonb

results = []


def check(ok, description):
    results.append(ok)
    print(("ok" if ok else "not ok") + f" {len(results)} - {description}")


with psycopg.connect(os.environ.get("UM_DSN", ""), autocommit=True) as conn:
    run = f"py-{os.getpid()}"
    a, none = f"{run}-a", f"{run}-none"
    conn.execute("SELECT user_metadata.set_user_metadata(%s, %s)", [a, Jsonb({"n": 1})])

    rows = conn.execute("SELECT * FROM user_metadata.get_user_metadata_bulk(%s)", [[a, none, a]]).fetchall()
    check(rows == [(a, {"n": 1}), (none, {}), (a, {"n": 1})],
          "psycopg: get_user_metadata_bulk takes a Python list: one row per id, in order")
    rows = conn.execute("SELECT * FROM user_metadata.get_user_metadata_bulk(%s, %s)", [[a], "other"]).fetchall()
    check(rows == [(a, {})], "psycopg: get_user_metadata_bulk with an app id")
    rows = conn.execute("SELECT * FROM user_metadata.get_user_metadata_bulk(%s)", [[]]).fetchall()
    check(rows == [], "psycopg: an empty list returns no rows")

    # a dict patch passed with psycopg's Jsonb wrapper, and as a JSON string
    merged = conn.execute("SELECT user_metadata.update_user_metadata(%s, %s)",
                          [a, Jsonb({"theme": "dark", "n": None})]).fetchone()[0]
    check(merged == {"theme": "dark"}, "psycopg: update_user_metadata merges a dict patch and removes null keys")
    merged = conn.execute("SELECT user_metadata.update_user_metadata(%s, %s)",
                          [a, json.dumps({"lang": "en"})]).fetchone()[0]
    check(merged == {"theme": "dark", "lang": "en"}, "psycopg: a JSON string patch works without a cast")

    try:
        conn.execute("SELECT user_metadata.update_user_metadata(%s, %s)", [a, Jsonb([1, 2])])
        check(False, "psycopg: an array patch raises SQLSTATE 22023")
    except psycopg.Error as e:
        check(e.sqlstate == "22023", "psycopg: an array patch raises SQLSTATE 22023")

sys.exit(0 if all(results) else 1)
