#!/usr/bin/python3
"""test/fuzz/gen.py: reproducible random (stored, patch) pairs for the merge fuzzer.

Writes one case a line in PostgreSQL COPY text format: id, stored, patch,
where \\N is SQL NULL.  Every case draws from its own generator seeded with
"SEED/ID", so a case is the same whatever range it is generated in:
"gen.py --seed S --first ID --cases 1" replays case ID alone.

The shapes aim at what the C merges get wrong if anything: object sizes
around the 32-entry JEntry stride and the 64-pair stack plan, keys sorted by
length then bytes (unicode, empty, equal length but different bytes), values
whose 4-byte alignment changes when they move, toasted strings, numerics of
every shape, nulls at every depth, and patches whose keys mostly collide
with the stored ones so that replacement, deletion and recursive merging
really happen.  Standard library only.
"""

import argparse
import json
import random
import re
import sys

# json.dumps cannot write a number's exact text (-0, 1.50, 1e-400), so
# numbers travel as strings with this prefix and are unquoted afterwards;
# generated strings never contain U+0000, which jsonb rejects anyway.
NUMBER = '\x00#'
NUMBER_RE = re.compile(r'"\\u0000#([^"]*)"')
# a root JSON null, told apart from None (SQL NULL at the root)
JSON_NULL = object()

# Object sizes that cross the stride (32) and the stack plan (64 pairs)
ROOT_SIZES = [0, 1, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65]
LARGE_SIZES = [100, 200, 257, 300]

ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. '
# characters of 1, 2, 3 and 4 UTF-8 bytes, and ones JSON has to escape
BY_BYTES = {
    1: 'aAzZ09_~\x7f',
    2: 'éßñÅΩжא\u00a0',
    3: '€中文字\u2028\ufeff',
    4: '😀🎉𝄞\U00010348',
}
ESCAPED = '"\\/\b\f\n\r\t\x01\x1f'


class Case:
    """Random JSON values for one case; self.budget bounds its size."""

    def __init__(self, rng):
        self.rng = rng
        r = rng.random()
        self.budget = 2000 if r < 0.02 else 400 if r < 0.12 else rng.choice([10, 30, 60, 120])
        self.plain_keys = self.budget + 10
        self.key_style = rng.choice(['plain', 'plain', 'same_length', 'mixed', 'mixed'])
        self.key_length = rng.randint(1, 4)
        self.long_strings = rng.choice([1, 2]) if rng.random() < 0.12 else 0
        self.huge_string = rng.random() < 0.002

    # --- keys ---------------------------------------------------------

    def text_of_bytes(self, nbytes):
        """A string of exactly nbytes UTF-8 bytes from mixed-width characters."""
        rng = self.rng
        out = []
        while nbytes > 0:
            width = rng.randint(1, min(nbytes, 4))
            out.append(rng.choice(BY_BYTES[width]))
            nbytes -= width
        return ''.join(out)

    def key(self):
        rng = self.rng
        if self.key_style == 'plain':
            return 'k%d' % rng.randrange(self.plain_keys)
        if self.key_style == 'same_length':
            # mostly one byte length, so order is decided by memcmp alone
            return self.text_of_bytes(self.key_length + (rng.random() < 0.2))
        r = rng.random()
        if r < 0.05:
            return ''
        if r < 0.35:
            return ''.join(rng.choices(ASCII, k=rng.randint(1, 12)))
        if r < 0.60:
            return self.text_of_bytes(rng.randint(1, 16))
        if r < 0.70:
            return ''.join(rng.choices(ASCII + ESCAPED, k=rng.randint(1, 8)))
        if r < 0.80:
            # a key and its extensions: same prefix, different lengths
            return 'a' * rng.randint(1, 6)
        if r < 0.97:
            return 'key_%d' % rng.randrange(100)
        # long keys; rarely one that alone must be toasted
        return rng.choice(ASCII) * rng.choice([100, 255, 256, 257, 3000])

    def keys(self, n):
        """n distinct keys (fewer if the style has fewer)"""
        seen = {}
        for _ in range(n * 3):
            if len(seen) == n:
                break
            seen[self.key()] = None
        return list(seen)

    # --- scalars ------------------------------------------------------

    def number(self):
        rng = self.rng
        r = rng.randrange(12)
        if r == 0:
            text = str(rng.randint(-10, 10))
        elif r == 1:
            text = str(rng.randint(-2 ** 63, 2 ** 63))
        elif r == 2:
            text = ''.join(rng.choices('0123456789', k=rng.randint(19, 80))).lstrip('0') or '0'
        elif r == 3:
            text = rng.choice(['0', '-0', '0.0', '-0.0', '0e10', '-0.000', '0E-5'])
        elif r == 4:
            text = '%d.%s' % (rng.randint(-99999, 99999),
                              ''.join(rng.choices('0123456789', k=rng.randint(1, 40))))
        elif r == 5:
            text = '%s%d.%de%s%d' % (rng.choice(['', '-']), rng.randint(0, 9), rng.randint(0, 99999),
                                    rng.choice(['', '+', '-']), rng.randint(0, 400))
        elif r == 6:
            text = rng.choice(['1e308', '1.7976931348623157e308', '-1.7976931348623157E+308',
                               '2.2250738585072014e-308', '5e-324', '4.9E-324', '1e-1000', '-1e1000'])
        elif r == 7:
            # digit groups of numeric's base 10000
            text = rng.choice(['9999', '10000', '10001', '99999999', '100000000', '0.0001',
                               '0.00001', '-0.9999', '1.0000', '12345678.87654321'])
        elif r == 8:
            text = '%d.%s' % (rng.randint(0, 9), ''.join(rng.choices('0123456789', k=100)))
        elif r == 9:
            text = str(rng.randint(-1000, 1000)) + '.' + '0' * rng.randint(1, 5)
        else:
            text = repr(rng.uniform(-1e6, 1e6))
        return NUMBER + text

    def string(self):
        rng = self.rng
        if self.huge_string:
            # one ~100 KB string in the case, half of them incompressible
            self.huge_string = False
            n = rng.randint(90000, 110000)
            return rng.randbytes(n // 2).hex() if rng.random() < 0.5 else 'xyz' * (n // 3)
        r = rng.random()
        if self.long_strings and r < 0.1:
            # past the 2 KB toast threshold, compressible or not
            self.long_strings -= 1
            n = rng.randint(2000, 9000)
            if rng.random() < 0.5:
                return rng.randbytes(n // 2).hex()
            return self.text_of_bytes(rng.randint(3, 12)) * (n // 8)
        if r < 0.10:
            return ''
        if r < 0.55:
            return ''.join(rng.choices(ASCII, k=rng.randint(1, 20)))
        if r < 0.85:
            return self.text_of_bytes(rng.randint(1, 30))
        return ''.join(rng.choices(ASCII + ESCAPED, k=rng.randint(1, 20)))

    # --- values -------------------------------------------------------

    def size(self, depth):
        """Pairs or elements of a container at this depth"""
        rng = self.rng
        r = rng.random()
        if depth == 0 and r < 0.05:
            n = rng.choice(LARGE_SIZES)
            self.budget = max(self.budget, n + 100)
        elif depth == 0:
            n = rng.choice(ROOT_SIZES) if r < 0.75 else rng.randint(0, 70)
        else:
            n = rng.randint(0, 4) if r < 0.93 else rng.choice([31, 32, 33, 63, 64, 65])
        return max(0, min(n, self.budget))

    def value(self, depth, nulls=0.08):
        rng = self.rng
        self.budget -= 1
        r = rng.random()
        if r < nulls:
            return None
        if r < 0.16:
            return rng.random() < 0.5
        if r < 0.40:
            return self.number()
        if depth < 6 and self.budget > 0:
            if r < 0.52:
                return [self.value(depth + 1) for _ in range(self.size(depth + 1))]
            if r < 0.70:
                return self.obj(depth + 1)
        return self.string()

    def obj(self, depth, nulls=0.08):
        return {k: self.value(depth, nulls) for k in self.keys(self.size(depth))}

    def non_object(self):
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            return None
        if r < 0.30:
            return JSON_NULL
        if r < 0.55:
            return [self.value(1) for _ in range(self.size(1))]
        return self.value(6, nulls=0)

    # --- patches ------------------------------------------------------

    def patch_value(self, old, depth):
        """The patch's value for a key whose stored value is old"""
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            return None
        if r < 0.35 and old is not None:
            return old
        if isinstance(old, dict) and depth < 40 and r < 0.75:
            return self.patch(old, depth + 1)
        if r < 0.85:
            # objects with nulls inside, stripped when merged into a non-object
            return self.obj(min(depth + 1, 6), nulls=0.3)
        return self.value(min(depth + 1, 6))

    def patch(self, stored, depth=0):
        """An object patch for stored whose keys mostly collide with stored's"""
        rng = self.rng
        keys = list(stored)
        share = rng.choice([0.1, 0.5, 0.9, 1.0])
        patch = {k: self.patch_value(stored[k], depth) for k in keys if rng.random() < share}
        fresh = rng.choice([0, 0, 0, 1, 2, 3, 5]) if keys else self.size(depth)
        for k in self.keys(fresh):
            if k not in patch:
                patch[k] = self.patch_value(stored.get(k), depth)
        # text order does not matter to jsonb, but the parser must sort it
        items = list(patch.items())
        rng.shuffle(items)
        return dict(items)

    def chain(self, depth):
        """An object nested depth levels deep and a patch that follows it down"""
        stored = self.obj(5)
        patch = self.patch(stored, 5)
        for _ in range(depth):
            key = self.key()
            level = self.obj(5)
            level_patch = self.patch(level, 5)
            level[key] = stored
            level_patch[key] = patch
            stored, patch = level, level_patch
        return stored, patch

    def pair(self):
        """(stored, patch) at the root, where None is SQL NULL"""
        rng = self.rng
        if rng.random() < 0.04:
            return self.chain(rng.randint(7, 60))
        stored = self.obj(0)
        r = rng.random()
        if r < 0.03:
            return None, self.patch({})
        if r < 0.06:
            return JSON_NULL, self.patch({})
        if r < 0.09:
            return stored, None
        if r < 0.12:
            return stored, {}
        if r < 0.16:
            # identical, or a sub-object with equal values: the result is stored
            return stored, {k: v for k, v in stored.items() if rng.random() < 0.7}
        if r < 0.20:
            # stored within the patch: the result is the patch
            return stored, {**stored, **self.obj(0, nulls=0)}
        if r < 0.24:
            return self.non_object(), self.patch({})
        if r < 0.28:
            return stored, self.non_object()
        if r < 0.30:
            return self.non_object(), self.non_object()
        return stored, self.patch(stored)


def make_case(seed, case_id):
    return Case(random.Random('%d/%d' % (seed, case_id))).pair()


def copy_field(value):
    """A value as one COPY text field"""
    if value is None:
        return '\\N'
    if value is JSON_NULL:
        return 'null'
    text = json.dumps(value, ensure_ascii=False, separators=(',', ':'))
    text = NUMBER_RE.sub(r'\1', text)
    return text.replace('\\', '\\\\')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seed', type=int, required=True)
    parser.add_argument('--first', type=int, default=1, help='id of the first case')
    parser.add_argument('--cases', type=int, required=True)
    args = parser.parse_args()

    out = sys.stdout
    for case_id in range(args.first, args.first + args.cases):
        stored, patch = make_case(args.seed, case_id)
        out.write('%d\t%s\t%s\n' % (case_id, copy_field(stored), copy_field(patch)))


if __name__ == '__main__':
    main()
