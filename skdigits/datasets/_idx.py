"""Parser for the IDX file format of the MNIST database.

An IDX file is a header followed by the raw array data in C order:

- a magic number of four bytes: two zero bytes, a type code (``0x08`` unsigned
  byte, ``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32,
  ``0x0E`` float64) and the number of dimensions;
- one big-endian unsigned 32-bit integer per dimension, its size;
- the data, big-endian.

See http://yann.lecun.com/exdb/mnist/ (section "file formats").
"""

import struct

import numpy as np

# IDX type code -> numpy dtype (IDX data is big-endian).
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _type_code(dtype):
    dtype = np.dtype(dtype)
    for code, idx_dtype in _IDX_DTYPES.items():
        if idx_dtype.kind == dtype.kind and idx_dtype.itemsize == dtype.itemsize:
            return code
    raise ValueError(f"dtype {dtype} has no IDX type code")


def parse_idx_header(buffer, *, name="IDX data"):
    """Parse and check the header of an IDX buffer.

    Parameters
    ----------
    buffer : bytes-like
        The IDX data, at least its header.

    name : str, default="IDX data"
        How to name the data in error messages, e.g. its file name.

    Returns
    -------
    dtype : numpy.dtype
        The (big-endian) dtype of the data.

    shape : tuple of int
        The dimensions of the data.

    offset : int
        The size of the header in bytes, where the data starts.

    Raises
    ------
    ValueError
        If the buffer is too short for its header, its magic number is not
        the one of an IDX file, or its type code is unknown.

    Examples
    --------
    >>> from skdigits.datasets._idx import parse_idx_header
    >>> parse_idx_header(b"\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x03")
    (dtype('uint8'), (3,), 8)
    """
    buffer = memoryview(buffer)
    if len(buffer) < 4:
        raise ValueError(
            f"{name}: truncated IDX header: {len(buffer)} bytes, "
            "expected at least 4 for the magic number"
        )
    zeros, code, ndim = struct.unpack_from(">HBB", buffer)
    magic = int.from_bytes(buffer[:4], "big")
    if zeros != 0:
        raise ValueError(
            f"{name}: not an IDX file: bad magic number 0x{magic:08X} "
            "(an IDX magic number starts with two zero bytes)"
        )
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(
            f"{name}: not an IDX file: unknown data type code 0x{code:02X} in "
            f"magic number 0x{magic:08X} (known codes: {known})"
        )
    if ndim == 0:
        raise ValueError(f"{name}: bad IDX header: 0 dimensions")
    offset = 4 + 4 * ndim
    if len(buffer) < offset:
        raise ValueError(
            f"{name}: truncated IDX header: {len(buffer)} bytes, expected "
            f"{offset} for {ndim} dimensions"
        )
    shape = struct.unpack_from(f">{ndim}I", buffer, 4)
    return _IDX_DTYPES[code], shape, offset


def parse_idx(buffer, *, name="IDX data", dtype=None, shape=None):
    """Return the array held in an IDX buffer, after checking its header.

    Parameters
    ----------
    buffer : bytes-like
        The whole IDX data: header, then array data, with nothing after it.

    name : str, default="IDX data"
        How to name the data in error messages, e.g. its file name.

    dtype : dtype-like, default=None
        The expected data type; None accepts any. Byte order is ignored in
        the comparison, IDX data is always big-endian.

    shape : tuple of int, default=None
        The expected dimensions (number of samples first); None accepts any.

    Returns
    -------
    array : ndarray
        A view of ``buffer`` (read-only when ``buffer`` is) with the dtype and
        shape of the header, big-endian for multi-byte types.

    Raises
    ------
    ValueError
        If the header is invalid (see :func:`parse_idx_header`), its data type
        or dimensions are not the expected ones, or the buffer holds fewer or
        more bytes of data than the header announces.

    See Also
    --------
    parse_idx_header : Parse only the header.

    Examples
    --------
    >>> from skdigits.datasets._idx import parse_idx
    >>> parse_idx(b"\\x00\\x00\\x08\\x02\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x03abcdef")
    array([[ 97,  98,  99],
           [100, 101, 102]], dtype=uint8)
    """
    idx_dtype, idx_shape, offset = parse_idx_header(buffer, name=name)
    if dtype is not None and _type_code(dtype) != _type_code(idx_dtype):
        raise ValueError(
            f"{name}: IDX data type is {idx_dtype.name} (code "
            f"0x{_type_code(idx_dtype):02X}), expected {np.dtype(dtype).name} "
            f"(code 0x{_type_code(dtype):02X})"
        )
    if shape is not None and tuple(shape) != idx_shape:
        raise ValueError(
            f"{name}: IDX dimensions are {idx_shape}, expected {tuple(shape)}"
        )
    n_bytes = idx_dtype.itemsize * int(np.prod(idx_shape, dtype=np.int64))
    found = len(memoryview(buffer)) - offset
    if found < n_bytes:
        raise ValueError(
            f"{name}: truncated IDX data: the header announces {idx_shape} "
            f"{idx_dtype.name} values ({n_bytes} bytes), found {found} bytes"
        )
    if found > n_bytes:
        raise ValueError(
            f"{name}: {found - n_bytes} unexpected bytes after the IDX data "
            f"({idx_shape} {idx_dtype.name} values, {n_bytes} bytes)"
        )
    array = np.frombuffer(buffer, dtype=idx_dtype, offset=offset)
    return array.reshape(idx_shape)
