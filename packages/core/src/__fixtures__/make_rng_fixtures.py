"""Pins down @medssl/core's seeded RNG stream: an independent Python implementation of the same
generator (xoshiro128** with its state filled by a splitmix-style counter through MurmurHash3's
finaliser) writes the first draws for a few seeds. Run: /usr/bin/python3 make_rng_fixtures.py"""
import json
import os

MASK = 0xFFFFFFFF


def fmix32(z):
    z &= MASK
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & MASK
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & MASK
    return (z ^ (z >> 16)) & MASK


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & MASK


class Xoshiro128StarStar:
    def __init__(self, seed):
        high = (seed >> 32) & MASK
        low = seed & MASK
        self.splitmix = fmix32(high ^ 0x5BD1E995) ^ low
        self.s = [self._next_splitmix() for _ in range(4)]
        if not any(self.s):
            self.s[0] = 1

    def _next_splitmix(self):
        self.splitmix = (self.splitmix + 0x9E3779B9) & MASK
        return fmix32(self.splitmix)

    def next_uint32(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 9) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def next_float(self):
        upper = self.next_uint32() >> 5
        lower = self.next_uint32() >> 6
        return (upper * 67108864 + lower) / 9007199254740992.0


cases = []
for seed in [0, 1, 42, 2**32 + 7, 2**53 - 1]:
    uints = Xoshiro128StarStar(seed)
    floats = Xoshiro128StarStar(seed)
    cases.append({
        "seed": seed,
        "uint32": [uints.next_uint32() for _ in range(16)],
        "float": [floats.next_float() for _ in range(8)],
    })

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "rng.json"), "w") as out:
    json.dump(cases, out, indent=1)
print("wrote rng.json with", len(cases), "seeds")
