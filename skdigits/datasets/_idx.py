"""Parser for the IDX file format of the MNIST database.

An IDX file is a header followed by the raw array data in C order:

- a magic number of four bytes: two zero bytes, a type code (``0x08`` unsigned
  byte, ``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32,
  ``0x0E`` float64) and the number of dimensions;
- one big-endian unsigned 32-bit integer per dimension, its size;
- the data, big-endian.

See http://yann.lecun.com/exdb/mnist/ (section "file formats").
"""

import math
import struct

import numpy as np

# The most bytes of data an IDX header may announce, checked before anything
# is read or allocated: 1 GiB, twenty times the largest MNIST file (47 MB).
MAX_IDX_BYTES = 1 << 30

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


def parse_idx(
    buffer, *, name="IDX data", dtype=None, shape=None, max_bytes=MAX_IDX_BYTES
):
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

    max_bytes : int, default=MAX_IDX_BYTES
        The most bytes of data the header may announce (1 GiB by default).

    Returns
    -------
    array : ndarray
        A view of ``buffer`` (read-only when ``buffer`` is) with the dtype and
        shape of the header, big-endian for multi-byte types.

    Raises
    ------
    ValueError
        If the header is invalid (see :func:`parse_idx_header`), its data type
        or dimensions are not the expected ones, it announces more than
        ``max_bytes`` bytes of data, or the buffer holds fewer or more bytes
        of data than the header announces.

    See Also
    --------
    parse_idx_header : Parse only the header.
    read_idx : Read the array from a stream, no more than it announces.

    Examples
    --------
    >>> from skdigits.datasets._idx import parse_idx
    >>> parse_idx(b"\\x00\\x00\\x08\\x02\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x03abcdef")
    array([[ 97,  98,  99],
           [100, 101, 102]], dtype=uint8)
    """
    idx_dtype, idx_shape, offset = parse_idx_header(buffer, name=name)
    n_bytes = _check_announced(idx_dtype, idx_shape, name, dtype, shape, max_bytes)
    found = len(memoryview(buffer)) - offset
    if found < n_bytes:
        raise _truncated(idx_dtype, idx_shape, n_bytes, found, name)
    if found > n_bytes:
        raise ValueError(
            f"{name}: {found - n_bytes} unexpected bytes after the IDX data "
            f"({idx_shape} {idx_dtype.name} values, {n_bytes} bytes)"
        )
    array = np.frombuffer(buffer, dtype=idx_dtype, offset=offset)
    return array.reshape(idx_shape)


def read_idx(file, *, name="IDX data", dtype=None, shape=None, max_bytes=MAX_IDX_BYTES):
    """Read the array of an IDX stream, reading no more than its header announces.

    The header is read and checked first; then exactly the bytes of data it
    announces, and one more to tell whether the stream goes on. So a stream
    that never ends (a decompression bomb) costs no more than its header
    says, and a header that announces too much is refused before any data
    is read or memory is allocated.

    Parameters
    ----------
    file : file-like
        A binary stream with a ``read(size)`` method, such as a
        :class:`gzip.GzipFile`, positioned at the header.

    name, dtype, shape, max_bytes
        As for :func:`parse_idx`.

    Returns
    -------
    array : ndarray
        The array, with the dtype and shape of the header (read-only).

    Raises
    ------
    ValueError
        As :func:`parse_idx`, for a stream that ends early or goes on after
        the data. What the stream itself raises (a gzip error) is let through.

    Examples
    --------
    >>> import io
    >>> from skdigits.datasets._idx import read_idx
    >>> read_idx(io.BytesIO(b"\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x02ab"))
    array([97, 98], dtype=uint8)
    >>> read_idx(io.BytesIO(b"\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x02abc"))
    Traceback (most recent call last):
    ...
    ValueError: IDX data: unexpected bytes after the IDX data ((2,) uint8 ...
    """
    header = file.read(4)
    if len(header) == 4:
        header += file.read(4 * header[3])
    idx_dtype, idx_shape, offset = parse_idx_header(header, name=name)
    n_bytes = _check_announced(idx_dtype, idx_shape, name, dtype, shape, max_bytes)
    data = file.read(n_bytes + 1)
    if len(data) < n_bytes:
        raise _truncated(idx_dtype, idx_shape, n_bytes, len(data), name)
    if len(data) > n_bytes:
        raise ValueError(
            f"{name}: unexpected bytes after the IDX data ({idx_shape} "
            f"{idx_dtype.name} values, {n_bytes} bytes)"
        )
    return np.frombuffer(data, dtype=idx_dtype).reshape(idx_shape)


def _check_announced(idx_dtype, idx_shape, name, dtype, shape, max_bytes):
    """Check a header's type and dimensions; return its number of data bytes."""
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
    # Python ints: 255 dimensions of up to 2**32 - 1 overflow int64.
    n_bytes = idx_dtype.itemsize * math.prod(idx_shape)
    if n_bytes > max_bytes:
        raise ValueError(
            f"{name}: the IDX header announces {idx_shape} {idx_dtype.name} "
            f"values, {n_bytes} bytes, more than the {max_bytes} allowed"
        )
    return n_bytes


def _truncated(idx_dtype, idx_shape, n_bytes, found, name):
    return ValueError(
        f"{name}: truncated IDX data: the header announces {idx_shape} "
        f"{idx_dtype.name} values ({n_bytes} bytes), found {found} bytes"
    )
