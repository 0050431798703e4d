"""Writes the NPY/NPZ fixtures of packages/core/src/arrays with numpy itself.

Run with a Python that has numpy (Debian's /usr/bin/python3 has numpy 1.24):

    /usr/bin/python3 packages/core/src/arrays/__fixtures__/make_fixtures.py

Every file is small (the whole folder stays under 200 KB) and deterministic, except that zip
members carry the time at which they were written. manifest.json records what each file holds:
dtype, shape, the SHA-256 of the C-order little-endian data bytes (and the bytes themselves in
base64 when short), and the SHA-256 of what np.save writes for the same array in C order and
little-endian byte order, which is what our encoder must reproduce byte for byte.
"""

import base64
import hashlib
import io
import json
import os
import struct
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
INLINE_LIMIT = 512  # data bytes up to this size are stored in the manifest itself

DTYPE_NAMES = {
    "|b1": "bool", "|u1": "uint8", "|i1": "int8", "<u2": "uint16", "<i2": "int16",
    "<u4": "uint32", "<i4": "int32", "<f4": "float32", "<f8": "float64",
    "<i8": "int64", "<u8": "uint64",
}


def canonical(array):
    """The array as our reader returns it: C order, little-endian."""
    little_endian = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
    # np.array rather than np.ascontiguousarray, which turns 0-d arrays into 1-d ones
    return np.array(array.astype(little_endian), order="C")


def describe(array):
    array = canonical(array)
    data = array.tobytes(order="C")
    saved = io.BytesIO()
    np.save(saved, array)
    entry = {
        "dtype": DTYPE_NAMES[array.dtype.str],
        "shape": list(array.shape),
        "dataSha256": hashlib.sha256(data).hexdigest(),
        "canonicalNpySha256": hashlib.sha256(saved.getvalue()).hexdigest(),
    }
    if len(data) <= INLINE_LIMIT:
        entry["dataBase64"] = base64.b64encode(data).decode("ascii")
    return entry


manifest = {"npy": {}, "npz": {}, "invalid": {}}


def save(file_name, array, **write_options):
    path = os.path.join(HERE, file_name)
    with open(path, "wb") as file:
        np.lib.format.write_array(file, array, **write_options)
    loaded = np.load(path)
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    assert np.array_equal(loaded, array, equal_nan=loaded.dtype.kind == "f")
    entry = describe(array)
    entry["fortranOrder"] = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    entry["bigEndian"] = array.dtype.byteorder == ">"
    with open(path, "rb") as file:
        entry["version"] = list(file.read(8)[6:8])
    manifest["npy"][file_name] = entry


# One file per supported dtype, with the extreme values of each type.
save("dtype_b1.npy", np.array([[True, False, True], [False, False, True]]))
for code in ["u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8"]:
    info = np.iinfo(np.dtype(code))
    values = np.array([info.min, info.max, 0, 1, info.max - 1, info.min + 1], dtype=code).reshape(2, 3)
    save(f"dtype_{code}.npy", values)
save("dtype_f4.npy", np.array(
    [0.0, -0.0, 1.5, -2.25, np.finfo(np.float32).max, np.finfo(np.float32).tiny,
     np.float32(1e-45), np.inf, -np.inf, np.nan], dtype="<f4"))
save("dtype_f8.npy", np.array(
    [0.0, -0.0, 1.5, -2.25, np.finfo(np.float64).max, np.finfo(np.float64).tiny,
     5e-324, np.inf, -np.inf, np.nan, 0.1], dtype="<f8"))

# Shapes: 0-d, 1-d, 2-d, 3-d, empty.
save("scalar_f4.npy", np.array(3.5, dtype="<f4"))
save("scalar_i8.npy", np.array(-(2**40) - 7, dtype="<i8"))
save("vector_f8.npy", np.linspace(-1, 1, 7))
save("matrix_f4.npy", (np.arange(12, dtype="<f4").reshape(3, 4) / 8 - 0.5))
save("tensor_i4.npy", np.arange(24, dtype="<i4").reshape(2, 3, 4) * -3)
save("empty_f4.npy", np.zeros((0,), dtype="<f4"))
save("empty_rows_f4.npy", np.zeros((0, 5), dtype="<f4"))
save("empty_columns_i4.npy", np.zeros((3, 0), dtype="<i4"))

# The feature-set layout of ARCHITECTURE.md.
generator = np.random.default_rng(20211008)
save("features.npy", generator.standard_normal((6, 5)).astype("<f4"))
save("targets_single_label.npy", np.array([0, 1, 4, 2, 1, 0], dtype="<i4"))
save("targets_multi_label.npy", generator.integers(0, 2, size=(6, 14)).astype("|u1"))

# Fortran order (numpy writes fortran_order True only for arrays that are not also C-contiguous).
save("fortran_f4.npy", np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)))
save("fortran_i2_3d.npy", np.asfortranarray(np.arange(24, dtype="<i2").reshape(2, 3, 4) - 12))
save("fortran_u8_big_endian.npy",
     np.asfortranarray(((np.arange(6, dtype="<u8").reshape(2, 3) + 1) * (2**60 + 3)).astype(">u8")))

# Big-endian.
save("big_endian_f4.npy", np.array([[1.5, -2.0, 3.25], [np.inf, -0.0, 1e-40]], dtype=">f4"))
save("big_endian_f8.npy", np.array([0.1, -1e300, 2.5], dtype=">f8"))
save("big_endian_i8.npy", np.array([-(2**63), 2**63 - 1, -1, 2**53 + 1], dtype=">i8"))
save("big_endian_u2.npy", np.array([1, 256, 65535], dtype=">u2"))
save("big_endian_i4.npy", np.array([-2, 16909060], dtype=">i4"))

# Header versions 2.0 and 3.0.
save("version_2_f4.npy", np.arange(10, dtype="<f4").reshape(2, 5), version=(2, 0))
save("version_3_i4.npy", np.arange(6, dtype="<i4").reshape(3, 2), version=(3, 0))


def write_bytes(file_name, data, description):
    with open(os.path.join(HERE, file_name), "wb") as file:
        file.write(data)
    manifest["invalid"][file_name] = description


def saved_bytes(array, **save_options):
    buffer = io.BytesIO()
    np.save(buffer, array, **save_options)
    return buffer.getvalue()


# Files our reader must refuse, with the reason.
truncated = saved_bytes(np.arange(100, dtype="<f4").reshape(10, 10))
write_bytes("truncated_data.npy", truncated[:-37], {"dataBytesExpected": 400, "dataBytesActual": 363})
write_bytes("truncated_header.npy", truncated[:40], {"reason": "header cut short"})
write_bytes("object_dtype.npy", saved_bytes(np.array([1, "a", None], dtype=object), allow_pickle=True),
            {"descr": "|O"})
write_bytes("float16.npy", saved_bytes(np.array([1.0, 2.0], dtype="<f2")), {"descr": "<f2"})
write_bytes("structured.npy", saved_bytes(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])),
            {"descr": "[('a', '<i4'), ('b', '<f8')]"})


# NPZ archives.
def npz_arrays(big_values):
    return {
        "features": np.arange(24, dtype="<f4").reshape(6, 4) / 4,
        "targets": np.array([3, 1, 4, 1, 5, 9], dtype="<i4"),
        # More than 64 KB: spans several deflate blocks and more than one 16-bit length field.
        "big": big_values,
        "scalar": np.array(2.75),
        "empty": np.zeros((0, 3), dtype="<f4"),
        "flags": np.array([True, False]),
    }


low_entropy = generator.integers(0, 4, size=(300, 240)).astype("|u1")  # 72,000 bytes


def record_npz(file_name, arrays, **extra):
    path = os.path.join(HERE, file_name)
    loaded = np.load(path)
    members = {}
    for key, array in arrays.items():
        assert np.array_equal(loaded[key], array)
        members[key] = describe(array)
    with zipfile.ZipFile(path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        for key in members:
            info = infos[key + ".npy"]
            members[key]["crc32"] = info.CRC
            members[key]["compressed"] = info.compress_type == zipfile.ZIP_DEFLATED
            members[key]["fileSize"] = info.file_size
    manifest["npz"][file_name] = {"keys": list(arrays.keys()), "members": members, **extra}


stored = npz_arrays(low_entropy)
np.savez(os.path.join(HERE, "savez_stored.npz"), **stored)
record_npz("savez_stored.npz", stored)

compressed = npz_arrays(low_entropy)
np.savez_compressed(os.path.join(HERE, "savez_compressed.npz"), **compressed)
record_npz("savez_compressed.npz", compressed)

# ZIP64 end records and ZIP64 extra fields in the central directory: numpy writes them once an
# archive passes 2 GiB; lowering the limit makes zipfile write the same structures for a small file.
small = {"features": np.arange(8, dtype="<f4").reshape(2, 4), "targets": np.array([1, 0], dtype="<i4"),
         "labels": np.eye(3, dtype="|u1")}
original_limit = zipfile.ZIP64_LIMIT
zipfile.ZIP64_LIMIT = 0
try:
    np.savez_compressed(os.path.join(HERE, "savez_zip64.npz"), **small)
finally:
    zipfile.ZIP64_LIMIT = original_limit
record_npz("savez_zip64.npz", small)
with open(os.path.join(HERE, "savez_zip64.npz"), "rb") as file:
    content = file.read()
assert b"PK\x06\x06" in content and b"PK\x06\x07" in content, "expected ZIP64 end records"


class StreamOnly:
    """A file object without tell/seek, so zipfile writes data descriptors after each member."""

    def __init__(self, file):
        self.file = file

    def write(self, data):
        return self.file.write(data)

    def flush(self):
        self.file.flush()

    def read(self, *arguments):
        # numpy only checks that it exists, to tell a file object from a path
        raise io.UnsupportedOperation("write-only stream")


with open(os.path.join(HERE, "savez_streamed.npz"), "wb") as file:
    np.savez_compressed(StreamOnly(file), **small)
record_npz("savez_streamed.npz", small)
with zipfile.ZipFile(os.path.join(HERE, "savez_streamed.npz")) as archive:
    assert all(info.flag_bits & 0x08 for info in archive.infolist()), "expected data descriptors"

# A stored archive with one data byte of `targets` flipped: the CRC-32 check must catch it.
buffer = io.BytesIO()
np.savez(buffer, **small)
corrupted = bytearray(buffer.getvalue())
with zipfile.ZipFile(io.BytesIO(bytes(corrupted))) as archive:
    info = archive.getinfo("targets.npy")
name_length, extra_length = struct.unpack("<HH", corrupted[info.header_offset + 26:info.header_offset + 30])
last_data_byte = info.header_offset + 30 + name_length + extra_length + info.compress_size - 1
corrupted[last_data_byte] ^= 0x01
write_bytes("savez_crc_corrupted.npz", bytes(corrupted), {"corruptedMember": "targets.npy"})
try:
    np.load(os.path.join(HERE, "savez_crc_corrupted.npz"))["targets"]
    raise AssertionError("numpy did not notice the corrupted byte")
except zipfile.BadZipFile:
    pass

buffer = io.BytesIO()
np.savez_compressed(buffer, **small)
write_bytes("savez_truncated.npz", buffer.getvalue()[: len(buffer.getvalue()) * 3 // 5],
            {"reason": "end of central directory record cut off"})

# A member that is not an array (numpy returns such members as bytes; we list but do not decode them).
with zipfile.ZipFile(os.path.join(HERE, "mixed_members.npz"), "w") as archive:
    with archive.open("values.npy", "w") as member:
        np.lib.format.write_array(member, np.array([7, 8, 9], dtype="<i4"))
    archive.writestr("notes.txt", "not an array")
record_npz("mixed_members.npz", {"values": np.array([7, 8, 9], dtype="<i4")})

with open(os.path.join(HERE, "manifest.json"), "w") as file:
    json.dump(manifest, file, indent=1, sort_keys=True)
    file.write("\n")

total = sum(os.path.getsize(os.path.join(HERE, name)) for name in os.listdir(HERE))
print(f"wrote {len(os.listdir(HERE))} files, {total} bytes")
assert total < 200_000
