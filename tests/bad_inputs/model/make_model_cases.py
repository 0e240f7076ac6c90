#!/usr/bin/env python3
"""make_model_cases.py — writes the malformed model files of tests/bad_inputs/model/
from a valid one (tests/fuzz/corpus/modelfile/realnvp_d8_h4.flow, saved by `lde run`),
and expect.txt. Cases whose damage must get past the checksum re-seal the file with
XXH64 (libxxhash through ctypes), so the body parser is what refuses them.
Run from the repository root; the outputs are committed."""
import ctypes, struct

xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH64.restype = ctypes.c_uint64
xxh.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]

good = open("tests/fuzz/corpus/modelfile/realnvp_d8_h4.flow", "rb").read()
D = "tests/bad_inputs/model"

def seal(b):
    b = bytes(b[:-8])
    return b + struct.pack("<Q", xxh.XXH64(b, len(b), 0))

def patch(off, fmt, v):
    b = bytearray(good)
    struct.pack_into(fmt, b, off, v)
    return seal(b)

# header: magic 0, version 8, arch 12, d 16, blocks 20, hidden 24, bottleneck 28,
# lipschitz 32, nparams 36, nstate 44, nsections 52; params at 56
np_, ns_ = struct.unpack_from("<qq", good, 36)
sec0 = 56 + 4 * (np_ + ns_)  # first section: u32 name length, name, u64 size
namelen = struct.unpack_from("<I", good, sec0)[0]
size_off = sec0 + 4 + namelen

flipped = bytearray(good); flipped[-1] ^= 1
body = bytearray(good); body[60] ^= 0x40
cases = [
    ("empty.flow", b"", "not an lde model file \\(bad magic\\)"),
    ("truncated_half.flow", good[: len(good) // 2], "checksum mismatch"),
    ("truncated_in_magic.flow", good[:5], "bad magic"),
    ("truncated_after_version.flow", good[:16], "model file truncated|checksum mismatch"),
    ("wrong_magic.flow", b"LDEFLOX\0" + good[8:], "bad magic"),
    ("npy_not_model.flow", open("tests/fixtures/npy/f4_2d.npy", "rb").read(), "bad magic"),
    ("wrong_version.flow", patch(8, "<I", 5), "version 5, this lde reads versions 1 to 4"),
    ("flipped_checksum.flow", bytes(flipped), "checksum mismatch"),
    ("flipped_param_byte.flow", bytes(body), "checksum mismatch"),
    ("huge_section_size.flow", patch(size_off, "<q", 1 << 62), "model body malformed"),
    ("negative_section_size.flow", patch(size_off, "<q", -5), "model body malformed"),
    ("section_name_too_long.flow", patch(sec0, "<I", 100000), "model body malformed"),
    ("huge_section_count.flow", patch(52, "<I", 0xFFFFFFFF), "model body malformed"),
    ("huge_params_count.flow", patch(36, "<q", 1 << 60), "do not fit in the file"),
    ("negative_params_count.flow", patch(36, "<q", -1), "do not fit in the file"),
    ("params_count_mismatch.flow", patch(36, "<q", np_ - 1), "expected [0-9]+ and [0-9]+"),
    ("unknown_arch.flow", patch(12, "<I", 7), "cannot be built"),
    ("zero_dimension.flow", patch(16, "<I", 0), "cannot be built"),
    ("huge_width.flow", patch(24, "<I", 1 << 30), "cannot be built"),
    # 2.7e9 parameters declared by a 1 KiB file: refused before the flow is built
    ("huge_config_small_file.flow", seal(struct.pack_into("<II", hw := bytearray(good), 16, 30000, 2)
                                          or struct.pack_into("<I", hw, 24, 30000) or hw),
     "120 params and 0 state values, expected 2700120000 and 0"),
    ("trailing_bytes.flow", seal(good[:-8] + b"junk" + good[-8:]), "model body malformed"),
]
with open(f"{D}/expect.txt", "w") as f:
    f.write("# FILE<TAB>pattern the one-line error of `lde score --model FILE` must match\n")
    for name, data, pat in cases:
        open(f"{D}/{name}", "wb").write(data)
        f.write(f"{name}\t{pat}\n")
