"""Crafted files for the tests of what skdigits refuses to read."""

import struct
import zlib


def png_declaring(width, height):
    """A valid PNG header declaring ``width`` x ``height`` grey pixels.

    A few dozen bytes: the IHDR chunk, one IDAT chunk holding a single empty
    row, and IEND. Pillow opens it and reports its size; decoding it fails
    (the data is short), so a test that sees a decoding error knows that the
    size was not checked first.
    """

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )
