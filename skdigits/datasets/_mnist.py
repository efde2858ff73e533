"""The MNIST loader: file table, mirrors, verified reading and download.

``sklearn.datasets._base._fetch_remote`` is not used: it checks the SHA-256 of
the compressed file as downloaded (the ``.gz`` bytes differ between mirrors and
re-compressed copies, only the decompressed payload is the same everywhere),
takes a single URL, has no timeout, and silently replaces a local file whose
checksum differs. ``sklearn.datasets.get_data_home`` is used for the data home.
"""

import contextlib
import gzip
import hashlib
import logging
import math
import os
import tempfile
import time
import zlib
from collections import namedtuple
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

from .. import __version__
from ._idx import read_idx

logger = logging.getLogger(__name__)

_IDXFile = namedtuple("_IDXFile", ["sha256", "shape"])

# The four original files: SHA-256 of the decompressed IDX payload (the same
# for every mirror and for re-compressed copies) and the shape its header
# must announce. Tests replace this table to serve small fake files.
_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": _IDXFile(
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        (60000, 28, 28),
    ),
    "train-labels-idx1-ubyte.gz": _IDXFile(
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        (60000,),
    ),
    "t10k-images-idx3-ubyte.gz": _IDXFile(
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        (10000, 28, 28),
    ),
    "t10k-labels-idx1-ubyte.gz": _IDXFile(
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        (10000,),
    ),
}

# (images file, labels file) of each part, and the parts of each subset.
_PART_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_SUBSET_PARTS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}

# Public mirrors serving the original files, tried in order.
_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# Seconds to wait for a mirror to accept the connection or to send more data.
_TIMEOUT = 30.0
# Seconds a mirror gets to send a whole file, from the request on: a mirror
# that sends a byte now and then never times out. The largest file (9.9 MB)
# needs 10 minutes only below 17 kB/s.
_DEADLINE = 600.0
_CHUNK_SIZE = 1 << 20

DESCR = """\
.. _mnist_dataset:

MNIST handwritten digits dataset
--------------------------------

**Data Set Characteristics:**

:Number of Instances: 70,000: 60,000 training and 10,000 test images
:Number of Attributes: 784, a 28x28 image of grey levels from 0 (background)
    to 255 (ink)
:Classes: 10, the digits 0 to 9
:Creators: Yann LeCun, Corinna Cortes and Christopher J.C. Burges
:License: Creative Commons Attribution-Share Alike 3.0 (CC BY-SA 3.0)
:Source: http://yann.lecun.com/exdb/mnist/

The MNIST database of handwritten digits was built from NIST Special Databases
1 and 3. Each digit was size-normalized to fit a 20x20 box, keeping its aspect
ratio, anti-aliased, and centered by its center of mass in a 28x28 image. The
writers of the training set and of the test set are disjoint.

``fetch_mnist`` reads the four original gzip-compressed IDX files from
``<data_home>/mnist/``, checks their headers and the SHA-256 checksums of their
decompressed contents, and downloads them from a public mirror when they are
missing. With ``subset="all"`` the 60,000 training images come first, then the
10,000 test images.

.. rubric:: References

* Y. LeCun, C. Cortes and C.J.C. Burges, "The MNIST database of handwritten
  digits", http://yann.lecun.com/exdb/mnist/
* Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
  applied to document recognition", Proceedings of the IEEE, 86(11),
  pp. 2278-2324, 1998.
"""


def fetch_mnist(
    *, data_home=None, subset="train", return_X_y=False, download_if_missing=True
):
    """Load the MNIST handwritten digits dataset (classification).

    =================   ==========================
    Classes                                     10
    Samples total       70,000 (60,000 + 10,000)
    Dimensionality                             784
    Features            integers 0-255 (uint8)
    =================   ==========================

    The four original gzip-compressed IDX files are read from
    ``<data_home>/mnist/`` and downloaded there from a public mirror when
    missing. Every file is checked before use: its IDX header (magic number,
    dimensions, number of samples) and the SHA-256 checksum of its decompressed
    contents, so a re-compressed copy is as good as the original. Reading valid
    files never writes to the data home, which may be read-only.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The scikit-learn data home. None means
        :func:`sklearn.datasets.get_data_home`: the ``SCIKIT_LEARN_DATA``
        environment variable, else ``~/scikit_learn_data``.

    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or all 70,000
        (training images first).

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    download_if_missing : bool, default=True
        If False, raise a FileNotFoundError instead of downloading missing
        files.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_samples, 784), dtype=uint8
            The images, one flattened row of 28x28 grey levels per sample.
        images : ndarray of shape (n_samples, 28, 28), dtype=uint8
            The same images as 28x28 arrays: a view of ``data``, not a copy.
        target : ndarray of shape (n_samples,), dtype=int64
            The digit of each image, 0 to 9.
        target_names : ndarray of shape (10,)
            The classes, 0 to 9.
        DESCR : str
            Description of the dataset: source, license, references.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` of shape (n_samples, 784) and ``target`` of shape
        (n_samples,), as in the Bunch.

    Raises
    ------
    ValueError
        If ``subset`` is not one of "train", "test" or "all".

    FileNotFoundError
        If a file is missing and ``download_if_missing`` is False. The message
        names the directory and the missing files and says how to get them.

    OSError
        If a file is corrupt, truncated or not the expected MNIST file (not
        gzip, wrong IDX header, more data than the header announces, wrong
        checksum, a directory in its place); the message names the file and
        the problem, and the file is not used (it is not deleted either).
        Also if a missing file cannot be downloaded: from any mirror (the
        message lists the URLs tried with their errors, a mirror over the
        size cap or the 10-minute deadline included), or into the data home
        (read-only; the message names it); the message says where to put
        the files by hand. A NotADirectoryError if the data home, or its
        ``mnist`` folder, is a file.

    See Also
    --------
    sklearn.datasets.load_digits : The 1,797 8x8 digits bundled with
        scikit-learn.
    sklearn.datasets.fetch_openml : Fetches datasets from OpenML, MNIST
        included (as "mnist_784").

    Notes
    -----
    A download goes to a temporary file beside its final name, which it
    replaces (:func:`os.replace`) only once the file is verified, so an
    interrupted or failed download, or concurrent downloads into the same data
    home, never leave a partial or corrupt file there. Each mirror gets up to
    30 seconds to accept the connection and to send more data, and 10 minutes
    in all for each file; it may send at most twice the decompressed size of
    the file (plus 4 KiB), more than any gzip copy of it needs. A mirror past
    either limit is left for the next. A file is read no further than its
    IDX header announces: data beyond it, as in a decompression bomb, is
    refused after a single byte more.

    Examples
    --------
    >>> from skdigits.datasets import fetch_mnist
    >>> mnist = fetch_mnist(subset="test")
    >>> mnist.data.shape, mnist.images.shape
    ((10000, 784), (10000, 28, 28))
    >>> mnist.target[:10]
    array([7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    >>> X, y = fetch_mnist(subset="test", return_X_y=True)
    >>> X.dtype, y.dtype
    (dtype('uint8'), dtype('int64'))
    """
    if not isinstance(subset, str) or subset not in _SUBSET_PARTS:
        raise ValueError(
            f"subset must be 'train', 'test' or 'all', got {subset!r} instead."
        )
    mnist_home = _mnist_home(data_home)
    parts = [_PART_FILES[part] for part in _SUBSET_PARTS[subset]]
    names = [name for part in parts for name in part]
    missing = [
        name for name in names if not os.path.exists(os.path.join(mnist_home, name))
    ]
    if missing and not download_if_missing:
        raise FileNotFoundError(_missing_message(mnist_home, missing))

    arrays = {}
    for name in names:
        if name in missing:
            arrays[name] = _download(name, mnist_home)
        else:
            arrays[name] = _read_local(name, mnist_home)

    # One copy, which makes the arrays writable (the parsed ones are views of
    # the immutable decompressed bytes).
    data = np.concatenate(
        [arrays[images].reshape(len(arrays[images]), -1) for images, _ in parts]
    )
    target = np.concatenate([arrays[labels] for _, labels in parts]).astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=data.reshape(-1, 28, 28),
        target=target,
        target_names=np.arange(10),
        DESCR=DESCR,
    )


def _mnist_home(data_home):
    """``<data_home>/mnist``, or an error naming what is in the way."""
    try:
        home = get_data_home(data_home)
    except FileExistsError as exc:  # get_data_home's makedirs, on a file
        raise NotADirectoryError(
            f"The data home {os.fsdecode(exc.filename)} is a file, not a "
            "directory. Give fetch_mnist a directory as data_home (or as "
            "SCIKIT_LEARN_DATA)."
        ) from None
    mnist_home = os.path.join(home, "mnist")
    if os.path.exists(mnist_home) and not os.path.isdir(mnist_home):
        raise NotADirectoryError(
            f"{mnist_home} is a file, not the directory of the MNIST files. "
            "Move it away, or give fetch_mnist another data_home."
        )
    return mnist_home


def _decode(path, name, source):
    """Return the array of the MNIST file ``name`` stored at ``path``.

    Raises ValueError naming ``source`` (a path or a URL) and what is wrong if
    the file is not gzip, or its IDX header or payload checksum is not the
    expected one.
    """
    spec = _MNIST_FILES[name]
    # Read as a stream, no more than the header announces: a small file that
    # decompresses without end is refused at the first byte too many.
    with open(path, "rb") as file, gzip.GzipFile(fileobj=file) as stream:
        payload = _HashingReader(stream)
        try:
            array = read_idx(payload, name=source, dtype=np.uint8, shape=spec.shape)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{source}: not a valid gzip file: {exc}") from exc
    digest = payload.sha256.hexdigest()
    if digest != spec.sha256:
        raise ValueError(
            f"{source}: the SHA-256 checksum of the decompressed contents is "
            f"{digest}, expected {spec.sha256}: the file is corrupt or is not "
            f"the original MNIST {name}"
        )
    return array


class _HashingReader:
    """A stream that hashes (SHA-256) what is read from it."""

    def __init__(self, stream):
        self.stream, self.sha256 = stream, hashlib.sha256()

    def read(self, size):
        data = self.stream.read(size)
        self.sha256.update(data)
        return data


def _max_download_bytes(name):
    """The most bytes a mirror may send for ``name``.

    Twice the size of the decompressed file, and 4 KiB for the gzip header
    and the smallest files: deflate never grows data by more than a few bytes
    in 64 KiB, so no gzip copy of the file comes near it.
    """
    shape = _MNIST_FILES[name].shape
    return 2 * (4 + 4 * len(shape) + math.prod(shape)) + 4096


def _read_local(name, directory):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):  # open() would fail, or block on a pipe
        what = "a directory" if os.path.isdir(path) else "not a regular file"
        raise OSError(
            f"Invalid MNIST file {path}: it is {what}, not the gzip-compressed "
            f"{name}. Remove it and call fetch_mnist again to download the "
            "file, or put the original in its place."
        )
    try:
        return _decode(path, name, source=path)
    except ValueError as exc:
        raise OSError(
            f"Invalid MNIST file {exc}. The file was not used. Delete it and "
            "call fetch_mnist again to download a fresh copy, or replace it by "
            f"the original {name}."
        ) from exc


def _download(name, directory):
    """Download ``name`` from the first mirror that serves a valid file.

    The file is written to a temporary file of a unique name in ``directory``
    and renamed into place (atomically) only once it is verified, so that a
    failed download or concurrent downloads never leave a partial file.
    """
    try:
        os.makedirs(directory, exist_ok=True)
        fd, temp_path = tempfile.mkstemp(prefix=f"{name}.part-", dir=directory)
    except OSError as exc:  # a read-only data home
        raise type(exc)(
            f"The MNIST file {name} is missing from {directory}, and it cannot "
            f"be downloaded there: {exc.strerror or exc}. Download the files "
            f"{', '.join(_MNIST_FILES)} by hand and put them, still "
            f"gzip-compressed, in {directory}, or give fetch_mnist a data_home "
            "you can write to."
        ) from exc
    os.close(fd)
    try:
        errors = []
        for mirror in _MIRRORS:
            url = mirror.rstrip("/") + "/" + name
            logger.info("Downloading %s", url)
            try:
                _download_to(url, temp_path, max_bytes=_max_download_bytes(name))
                array = _decode(temp_path, name, source=url)
                break
            except (OSError, ValueError, HTTPException) as exc:
                errors.append(_reason(exc, url))
                logger.info("Download failed: %s", errors[-1])
        else:
            tried = "".join(f"\n  - {error}" for error in errors) or " none"
            raise OSError(
                f"The MNIST file {name} is missing from {directory} and could "
                f"not be downloaded. URLs tried:{tried}\nCheck the internet "
                "connection (and proxy settings), or download the files "
                f"{', '.join(_MNIST_FILES)} by hand and put them, still "
                f"gzip-compressed, in {directory}."
            )
        os.chmod(temp_path, 0o644)  # mkstemp makes it readable by its owner only
        final_path = os.path.join(directory, name)
        try:
            os.replace(temp_path, final_path)
        except OSError:
            # Windows refuses to replace a file that another process, which
            # has just downloaded it too, holds open: it is in place anyway.
            if not os.path.exists(final_path):
                raise
        return array
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)


def _download_to(url, path, *, max_bytes):
    """Write what ``url`` serves into ``path``, or raise if it is cut short.

    Raises OSError, before writing more, once the server has sent more than
    ``max_bytes`` bytes (or announces more) or ``_DEADLINE`` seconds have
    passed since the request.
    """
    deadline = time.monotonic() + _DEADLINE
    request = Request(url, headers={"User-Agent": f"skdigits/{__version__}"})
    with open(path, "wb") as file, urlopen(request, timeout=_TIMEOUT) as response:
        announced = response.headers.get("Content-Length")
        if announced is not None and int(announced) > max_bytes:
            raise OSError(
                f"the server announces {announced} bytes, more than the "
                f"{max_bytes} this file can need"
            )
        received = 0
        # read1: whatever has arrived, so that a slow server is timed too.
        while chunk := response.read1(_CHUNK_SIZE):
            received += len(chunk)
            if received > max_bytes:
                raise OSError(
                    f"the server sent more than the {max_bytes} bytes this "
                    "file can need"
                )
            if time.monotonic() > deadline:
                raise OSError(
                    f"not downloaded within {_DEADLINE:g} seconds "
                    f"({received} bytes received)"
                )
            file.write(chunk)
    if announced is not None and received != int(announced):
        raise OSError(f"connection closed after {received} of {announced} bytes")


def _reason(exc, url):
    """Say why the download of ``url`` failed, starting with the URL."""
    if isinstance(exc, HTTPError):
        reason = f"HTTP error {exc.code} {exc.reason}"
    elif isinstance(exc, URLError) and not isinstance(exc.reason, BaseException):
        reason = str(exc.reason)
    else:
        if isinstance(exc, URLError):
            exc = exc.reason
        if isinstance(exc, TimeoutError):
            reason = f"timed out (no answer within {_TIMEOUT} seconds)"
        elif isinstance(exc, (OSError, ValueError)):
            reason = str(exc)
        else:
            reason = f"{type(exc).__name__}: {exc}"
    # Errors from _decode name the URL already.
    return reason if reason.startswith(url) else f"{url}: {reason}"


def _missing_message(directory, missing):
    mirrors = ", ".join(_MIRRORS)
    return (
        f"MNIST files missing from {directory}: {', '.join(missing)}. "
        "Call fetch_mnist with download_if_missing=True to download them, or "
        f"download them by hand from one of {mirrors} and put them, still "
        f"gzip-compressed, in {directory}."
    )
