"""The safetensors format as relulab writes it, read and written directly (Debian has no
python3-safetensors): an 8-byte little-endian header length N, N bytes of JSON
{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
padded with spaces, then the data section. relulab adds "relulab.crc32", the zlib CRC-32 of the
data section as 8 lowercase hex digits, and "relulab.format" = "1"; a file that carries the CRC
must match it.

Errors are ValueError (the contents contradict the format) or OSError (the file cannot be read
or written), naming the file and what is wrong.
"""
import json
import os
import struct
import tempfile
import zlib

import torch

_DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "F16": (torch.float16, 2),
           "BF16": (torch.bfloat16, 2)}
_NAMES = {dtype: (name, size) for name, (dtype, size) in _DTYPES.items()}
CRC_KEY = "relulab.crc32"
FORMAT_KEY = "relulab.format"
MAX_HEADER_BYTES = 100_000_000


def read(path):
    """Returns (tensors, metadata): {name: tensor} in file order and {key: value}."""
    with open(path, "rb") as f:
        blob = f.read()
    name = os.fspath(path)
    if len(blob) < 8:
        raise ValueError(f"{name}: {len(blob)} bytes, too short for a safetensors file "
                         "(an 8-byte header length comes first)")
    (length,) = struct.unpack("<Q", blob[:8])
    if length > MAX_HEADER_BYTES or 8 + length > len(blob):
        raise ValueError(f"{name}: byte 0: header length {length} does not fit in the file's "
                         f"{len(blob)} bytes")
    try:
        header = json.loads(blob[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{name}: the header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name}: the header is not a JSON object")
    data = memoryview(blob)[8 + length:]
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{name}: __metadata__ must map strings to strings")
    if CRC_KEY in metadata:
        crc = f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"
        if crc != metadata[CRC_KEY]:
            raise ValueError(f"{name}: the data's CRC-32 is {crc}, the header says "
                             f"{metadata[CRC_KEY]}: the file is corrupt or truncated")
    tensors = {}
    covered = 0
    for tensor_name, entry in sorted(header.items(), key=lambda kv: _offsets(name, *kv)[0]):
        begin, end = _offsets(name, tensor_name, entry)
        if begin != covered:
            raise ValueError(f"{name}: tensor '{tensor_name}' starts at data byte {begin}, "
                             f"expected {covered} (tensors must tile the data section)")
        dtype_name = entry.get("dtype")
        if dtype_name not in _DTYPES:
            raise ValueError(f"{name}: tensor '{tensor_name}': dtype {dtype_name!r} is not one of "
                             f"{', '.join(_DTYPES)}")
        dtype, size = _DTYPES[dtype_name]
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"{name}: tensor '{tensor_name}': shape {shape!r} is not a list of "
                             "non-negative integers")
        count = 1
        for d in shape:
            count *= d
        if count * size != end - begin:
            raise ValueError(f"{name}: tensor '{tensor_name}': shape {shape} of {dtype_name} is "
                             f"{count * size} bytes, data_offsets give {end - begin}")
        raw = bytearray(data[begin:end])
        tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[tensor_name] = tensor.reshape(shape).clone()
        covered = end
    if covered != len(data):
        raise ValueError(f"{name}: the tensors cover {covered} of the {len(data)} data bytes")
    return tensors, metadata


def _offsets(name, tensor_name, entry):
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if (not isinstance(offsets, list) or len(offsets) != 2 or
            not all(isinstance(o, int) and o >= 0 for o in offsets) or offsets[0] > offsets[1]):
        raise ValueError(f"{name}: tensor '{tensor_name}': data_offsets {offsets!r} are not "
                         "[begin, end] with 0 <= begin <= end")
    return offsets


def write(path, tensors, metadata=None):
    """Writes {name: tensor} (float32, float64, float16 or bfloat16; any device) with `metadata`
    and relulab's CRC, atomically: a temporary file in the same folder, fsync, rename."""
    header = {}
    chunks = []
    offset = 0
    for tensor_name, tensor in tensors.items():
        if tensor_name == "__metadata__":
            raise ValueError("safetensors: '__metadata__' is reserved and cannot name a tensor")
        tensor = tensor.detach().cpu().contiguous()
        if tensor.dtype not in _NAMES:
            raise ValueError(f"safetensors: tensor '{tensor_name}' has dtype {tensor.dtype}; "
                             f"relulab reads {', '.join(_DTYPES)}")
        dtype_name, _ = _NAMES[tensor.dtype]
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[tensor_name] = {"dtype": dtype_name, "shape": list(tensor.shape),
                               "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    data = b"".join(chunks)
    meta = dict(metadata or {})
    meta[FORMAT_KEY] = "1"
    meta[CRC_KEY] = f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
