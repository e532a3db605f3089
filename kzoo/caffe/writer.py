"""Writing Caffe's files atomically: the network definition (text) and the weights (binary ``NetParameter``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from google.protobuf import text_format

from kzoo.caffe.export_net import Export
from kzoo.caffe.schema import message
from kzoo.files import atomic_paths, check_space


def prototxt(ex: Export) -> str:
    """The network definition: layers without blobs."""
    return text_format.MessageToString(ex.net)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2) of protobuf's encoding."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def blob_bytes(array: np.ndarray) -> bytes:
    """A ``BlobProto``: its shape message and its data as one packed run of little-endian float32s.

    Written by hand because protobuf's repeated-field ``extend`` takes ~17 s for AlexNet's
    61 M weights; this is the same encoding (fields 7 and 5 of caffe.proto's BlobProto), in
    well under a second.
    """
    shape = message("BlobShape")(dim=[int(d) for d in array.shape]).SerializeToString()
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return _field(7, shape) + _field(5, data)


def caffemodel_bytes(ex: Export) -> bytes:
    """The weights file: the network with every layer's blobs (float32, with their shapes)."""
    head = message("NetParameter")()
    head.CopyFrom(ex.net)
    head.ClearField("layer")
    parts = [head.SerializeToString()]
    for proto in ex.net.layer:
        blobs = b"".join(_field(7, blob_bytes(a)) for a in ex.blobs.get(proto.name, []))  # LayerParameter.blobs
        parts.append(_field(100, proto.SerializeToString() + blobs))  # NetParameter.layer
    return b"".join(parts)


def write(ex: Export, caffemodel: str | Path, prototxt_path: str | Path | None = None) -> None:
    """Write the weights (and the definition) so that neither is ever half-written."""
    data = caffemodel_bytes(ex)
    text = prototxt(ex) if prototxt_path is not None else None
    check_space(Path(caffemodel).parent, len(data) + len(text or ""), f"writing {Path(caffemodel).name}")
    outs = [caffemodel] if prototxt_path is None else [caffemodel, prototxt_path]
    with atomic_paths(*outs) as tmps:  # both files or neither: the pair always describes one network
        Path(tmps[0]).write_bytes(data)
        if text is not None:
            Path(tmps[1]).write_text(text)
