"""Writes the hostile checkpoints of @medssl/weights' hostile.test.ts that only torch.save can make.

Run with Debian's interpreter, which has python3-torch (1.13):

    /usr/bin/python3 packages/weights/src/__fixtures__/make_hostile_fixtures.py

- expanded_40gb.pth: torch.zeros(1).expand(100000, 100000), a one-element storage viewed with strides
  (0, 0) as 10^10 elements (40 GB as float32), in under 1 KB.
- expanded_1600mb.pth: torch.zeros(1).expand(20000, 20000), 1.6 GB from a one-element storage.
- tied_weights.pth and tied_weights_legacy.pth: a module whose decoder shares the embedding's weight
  (two keys, one storage), plus the very same tensor object under a third key. These must keep loading.

Hostile files that need no torch (shared-reference pickles, long integers, deep JSON) are built in the test.
"""

import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class TiedNet(nn.Module):
    """An embedding and a decoder sharing one weight, as language models tie them."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(5, 3)
        self.decoder = nn.Linear(3, 5, bias=False)
        self.decoder.weight = self.embedding.weight


def main():
    torch.save(torch.zeros(1).expand(100000, 100000), os.path.join(HERE, "expanded_40gb.pth"))
    torch.save(torch.zeros(1).expand(20000, 20000), os.path.join(HERE, "expanded_1600mb.pth"))
    torch.manual_seed(0)
    state = TiedNet().state_dict()
    state["alias.weight"] = state["embedding.weight"]
    torch.save(state, os.path.join(HERE, "tied_weights.pth"))
    torch.save(state, os.path.join(HERE, "tied_weights_legacy.pth"), _use_new_zipfile_serialization=False)
    for name in ["expanded_40gb.pth", "expanded_1600mb.pth", "tied_weights.pth", "tied_weights_legacy.pth"]:
        print(name, os.path.getsize(os.path.join(HERE, name)), "bytes")


if __name__ == "__main__":
    main()
