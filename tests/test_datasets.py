"""Tests for skdigits.datasets: the IDX parser and fetch_mnist.

Downloads are tested against local HTTP servers on 127.0.0.1; no test reaches
the internet (the mirror list is replaced by a closed local port by default).
"""

import errno
import gzip
import hashlib
import http.server
import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest

from skdigits.datasets import _mnist, fetch_mnist
from skdigits.datasets._idx import MAX_IDX_BYTES, parse_idx, parse_idx_header, read_idx

MNIST_NAMES = list(_mnist._MNIST_FILES)
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def idx_bytes(array):
    """Encode an array as IDX, written independently of the parser under test."""
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    array = np.asarray(array)
    code = codes[f"{array.dtype.kind}{array.dtype.itemsize}"]
    header = struct.pack(">HBB", 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def snapshot(directory):
    """Names, sizes and modification times of everything under directory."""
    return sorted(
        (os.path.join(root, name), os.stat(os.path.join(root, name)).st_size)
        + (os.stat(os.path.join(root, name)).st_mtime_ns,)
        for root, dirs, files in os.walk(directory)
        for name in dirs + files
    )


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """No test reaches the public mirrors, and a hung download fails fast."""
    monkeypatch.setattr(_mnist, "_MIRRORS", (f"http://127.0.0.1:{closed_port()}/",))
    monkeypatch.setattr(_mnist, "_TIMEOUT", 5.0)


# --------------------------------------------------------------------------
# Local HTTP mirrors


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves the files of ``server.root``, spoilt according to ``server.mode``."""

    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        path = server.root / self.path.rsplit("/", 1)[-1]
        if server.mode == "404" or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if server.mode == "corrupt":
            # A valid gzip file whose IDX header is right but one pixel is
            # wrong: only the checksum can tell.
            payload = bytearray(gzip.decompress(data))
            payload[-1] ^= 0xFF
            data = gzip.compress(payload)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if server.mode == "huge":  # announces a terabyte
            self.send_header("Content-Length", str(10**12))
        elif server.mode != "endless":  # which sends no Content-Length
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self._send(server, data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def _send(self, server, data):
        if server.mode == "endless":  # the file, then zeros without end
            self.wfile.write(data)
            for _ in range(1000):  # 64 MB at most, in case the client never stops
                self.wfile.write(bytes(1 << 16))
        elif server.mode == "drip":  # a byte every 50 ms: no read times out
            for index in range(min(len(data), 60)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(0.05)
            self.close_connection = True  # after 3 s: a short file, not a hang
        elif server.mode == "drop":
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
        elif server.mode == "together":
            # Wait for a second client to ask for the same file, then send
            # it slowly, so that both downloads overlap.
            server.barrier.wait()
            step = len(data) // 5 + 1
            for start in range(0, len(data), step):
                self.wfile.write(data[start : start + step])
                self.wfile.flush()
                time.sleep(0.01)
        else:
            self.wfile.write(data)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def start_mirror():
    """Factory: start an HTTP server on 127.0.0.1 serving a directory."""
    servers = []

    def start(root, mode="files"):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MirrorHandler)
        server.daemon_threads = True
        server.root, server.mode, server.requests = root, mode, []
        server.barrier = threading.Barrier(2, timeout=10)
        server.url = f"http://127.0.0.1:{server.server_address[1]}/mnist/"
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.barrier.abort()
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Small fake MNIST files (6 training, 4 test images) in a server root.

    The table of expected checksums and shapes is replaced by theirs.
    """
    rng = np.random.default_rng(0)
    arrays, gz, specs = {}, {}, {}
    for (images, labels), n in [
        ((TRAIN_IMAGES, TRAIN_LABELS), 6),
        ((TEST_IMAGES, TEST_LABELS), 4),
    ]:
        arrays[images] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[labels] = rng.integers(0, 10, size=n, dtype=np.uint8)
    root = tmp_path / "served"
    root.mkdir()
    for name, array in arrays.items():
        payload = idx_bytes(array)
        gz[name] = gzip.compress(payload, mtime=0)
        (root / name).write_bytes(gz[name])
        specs[name] = _mnist._IDXFile(hashlib.sha256(payload).hexdigest(), array.shape)
    monkeypatch.setattr(_mnist, "_MNIST_FILES", specs)
    return SimpleNamespace(root=root, arrays=arrays, gz=gz)


@pytest.fixture
def mirror(fake_mnist, start_mirror):
    return start_mirror(fake_mnist.root)


@pytest.fixture
def corrupt_mirror(fake_mnist, start_mirror):
    return start_mirror(fake_mnist.root, mode="corrupt")


@pytest.fixture
def dropping_mirror(fake_mnist, start_mirror):
    return start_mirror(fake_mnist.root, mode="drop")


@pytest.fixture
def missing_mirror(fake_mnist, start_mirror):
    return start_mirror(fake_mnist.root, mode="404")


@pytest.fixture
def huge_mirror(fake_mnist, start_mirror):
    return start_mirror(fake_mnist.root, mode="huge")


@pytest.fixture
def endless_mirror(fake_mnist, start_mirror):
    return start_mirror(fake_mnist.root, mode="endless")


@pytest.fixture
def drip_mirror(fake_mnist, start_mirror, monkeypatch):
    monkeypatch.setattr(_mnist, "_DEADLINE", 0.5)
    return start_mirror(fake_mnist.root, mode="drip")


def use_mirrors(monkeypatch, *urls):
    monkeypatch.setattr(_mnist, "_MIRRORS", urls)


@pytest.fixture
def local_home(tmp_path, fake_mnist):
    """A data home holding the fake MNIST files."""
    home = tmp_path / "home"
    shutil.copytree(fake_mnist.root, home / "mnist")
    return home


# --------------------------------------------------------------------------
# IDX parser


def test_parse_idx_reads_header_and_data():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    array = parse_idx(idx_bytes(images), dtype=np.uint8, shape=(2, 3, 4))
    np.testing.assert_array_equal(array, images)
    assert array.dtype == np.uint8

    values = np.array([[-(2**31), 1], [258, 2**31 - 1]], dtype=np.int32)
    array = parse_idx(idx_bytes(values))
    np.testing.assert_array_equal(array, values)  # big-endian decoded right
    assert parse_idx_header(idx_bytes(values)) == (np.dtype(">i4"), (2, 2), 12)
    np.testing.assert_array_equal(parse_idx(idx_bytes([0.5, -2.0])), [0.5, -2.0])


GOOD = idx_bytes(np.zeros((3, 2), dtype=np.uint8))


@pytest.mark.parametrize(
    "buffer, kwargs, message",
    [
        (GOOD[:3], {}, "truncated IDX header: 3 bytes"),
        (b"\x01\x00" + GOOD[2:], {}, "bad magic number 0x01000802"),
        (GOOD[:2] + b"\x07" + GOOD[3:], {}, "unknown data type code 0x07"),
        (b"\x00\x00\x08\x00", {}, "0 dimensions"),
        (GOOD[:10], {}, "truncated IDX header: 10 bytes, expected 12"),
        (GOOD[:-1], {}, r"truncated IDX data: .*\(6 bytes\), found 5"),
        (GOOD + b"\x00", {}, "1 unexpected bytes after the IDX data"),
        (GOOD, {"shape": (4, 2)}, r"IDX dimensions are \(3, 2\), expected \(4, 2\)"),
        (GOOD, {"dtype": np.int32}, "IDX data type is uint8 .*expected int32"),
    ],
    ids=[
        "short",
        "magic",
        "type-code",
        "no-dims",
        "short-dims",
        "truncated",
        "trailing",
        "shape",
        "dtype",
    ],
)
def test_parse_idx_rejects_bad_buffers(buffer, kwargs, message):
    with pytest.raises(ValueError, match=rf"^some\.idx: (.*: )?{message}"):
        parse_idx(buffer, name="some.idx", **kwargs)


class _HeaderOnly(io.BytesIO):
    """A stream that fails the test if asked for more than its header."""

    def read(self, size=-1):
        if size < 0 or size > 4 * 255:
            pytest.fail(f"read({size}) of a header that announces too much")
        return super().read(size)


# float64 values, 3 dimensions of 2**32 - 1: 6.3e29 bytes (int64 wraps it).
HUGE_HEADER = b"\x00\x00\x0e\x03" + b"\xff" * 12


@pytest.mark.parametrize("reader", ["parse_idx", "read_idx"])
def test_a_header_announcing_too_much_is_refused_before_reading(reader):
    message = (
        r"^big\.idx: the IDX header announces \(4294967295, 4294967295, "
        rf"4294967295\) float64 values, \d+ bytes, more than the {MAX_IDX_BYTES}"
    )
    with pytest.raises(ValueError, match=message):
        if reader == "parse_idx":
            parse_idx(HUGE_HEADER, name="big.idx")
        else:
            read_idx(_HeaderOnly(HUGE_HEADER), name="big.idx")
    # The cap is a parameter; at it, the data is read.
    small = idx_bytes(np.zeros(10, dtype=np.uint8))
    assert read_idx(io.BytesIO(small), max_bytes=10).shape == (10,)
    with pytest.raises(ValueError, match="10 bytes, more than the 9 allowed"):
        read_idx(io.BytesIO(small), max_bytes=9)


def test_read_idx_reads_no_more_than_announced():
    images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    stream = io.BytesIO(idx_bytes(images) + b"more" * 1000)
    with pytest.raises(ValueError, match="unexpected bytes after the IDX data"):
        read_idx(stream, name="some.idx")
    assert stream.tell() == len(idx_bytes(images)) + 1  # one byte too many
    with pytest.raises(ValueError, match=r"truncated IDX data: .*found 23 bytes"):
        read_idx(io.BytesIO(idx_bytes(images)[:-1]))
    np.testing.assert_array_equal(read_idx(io.BytesIO(idx_bytes(images))), images)


# --------------------------------------------------------------------------
# Reading local files


@pytest.mark.parametrize(
    "subset, parts",
    [
        ("train", [(TRAIN_IMAGES, TRAIN_LABELS)]),
        ("test", [(TEST_IMAGES, TEST_LABELS)]),
        ("all", [(TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)]),
    ],
)
def test_fetch_mnist_reads_local_files(fake_mnist, local_home, subset, parts):
    bunch = fetch_mnist(data_home=local_home, subset=subset, download_if_missing=False)

    images = np.concatenate([fake_mnist.arrays[images] for images, _ in parts])
    labels = np.concatenate([fake_mnist.arrays[labels] for _, labels in parts])
    assert bunch.data.shape == (len(images), 784) and bunch.data.dtype == np.uint8
    assert bunch.images.shape == (len(images), 28, 28)
    assert bunch.images.dtype == np.uint8
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.data, images.reshape(len(images), -1))
    assert np.shares_memory(bunch.images, bunch.data)  # a view, not a copy
    assert bunch.data.flags.writeable
    np.testing.assert_array_equal(bunch.target, labels)
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert "CC BY-SA 3.0" in bunch.DESCR

    X, y = fetch_mnist(
        data_home=local_home, subset=subset, return_X_y=True, download_if_missing=False
    )
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_fetch_mnist_data_home_defaults_to_scikit_learn_data(
    fake_mnist, local_home, monkeypatch
):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(local_home))
    X, y = fetch_mnist(subset="test", return_X_y=True, download_if_missing=False)
    np.testing.assert_array_equal(y, fake_mnist.arrays[TEST_LABELS])


@pytest.mark.parametrize("subset", ["training", "TEST", None, ["train"]])
def test_fetch_mnist_rejects_unknown_subset(local_home, subset):
    with pytest.raises(ValueError, match="subset must be 'train', 'test' or 'all'"):
        fetch_mnist(data_home=local_home, subset=subset)


def test_missing_files_without_download_is_an_error(tmp_path, fake_mnist, mirror):
    home = tmp_path / "home"
    (home / "mnist").mkdir(parents=True)
    shutil.copy(fake_mnist.root / TRAIN_IMAGES, home / "mnist")
    shutil.copy(fake_mnist.root / TRAIN_LABELS, home / "mnist")
    fetch_mnist(data_home=home, subset="train", download_if_missing=False)

    with pytest.raises(FileNotFoundError) as excinfo:
        fetch_mnist(data_home=home, subset="all", download_if_missing=False)
    message = str(excinfo.value)
    assert str(home / "mnist") in message
    assert f"{TEST_IMAGES}, {TEST_LABELS}" in message
    assert TRAIN_IMAGES not in message.split("Call")[0]  # only the missing ones
    assert "download_if_missing=True" in message and "by hand" in message
    assert sorted(os.listdir(home / "mnist")) == sorted([TRAIN_IMAGES, TRAIN_LABELS])
    assert mirror.requests == []


def test_reading_valid_files_never_writes(local_home, fake_mnist, monkeypatch):
    """The data home may be read-only: reading must not even try to write."""
    before = snapshot(local_home)

    def refuse(*args, **kwargs):
        raise AssertionError(f"tried to write: {args}")

    real_open = open

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            refuse(file, mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", read_only_open)
    monkeypatch.setattr(os, "replace", refuse)
    monkeypatch.setattr(os, "rename", refuse)
    monkeypatch.setattr(os, "unlink", refuse)
    monkeypatch.setattr("tempfile.mkstemp", refuse)
    monkeypatch.setattr(_mnist, "_download", refuse)

    X, y = fetch_mnist(data_home=local_home, subset="all", return_X_y=True)
    assert X.shape == (10, 784)
    assert snapshot(local_home) == before


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda gz, idx: gz[: len(gz) // 2], "not a valid gzip file"),
        (lambda gz, idx: b"<html>Not Found</html>", "not a valid gzip file"),
        (lambda gz, idx: gzip.compress(b"\x08\x03" + idx[2:]), "bad magic number"),
        (lambda gz, idx: gzip.compress(idx[:-784]), "truncated IDX data"),
        (
            lambda gz, idx: gzip.compress(idx + b"\x00"),
            "unexpected bytes after the IDX",
        ),
        (
            lambda gz, idx: gzip.compress(idx[:7] + b"\x05" + idx[8:-784]),
            r"IDX dimensions are \(5, 28, 28\), expected \(6, 28, 28\)",
        ),
        (
            lambda gz, idx: gzip.compress(idx[:-1] + bytes([idx[-1] ^ 1])),
            "the SHA-256 checksum of the decompressed contents is",
        ),
    ],
    ids=["truncated-gz", "not-gz", "magic", "truncated", "trailing", "count", "sha"],
)
def test_corrupt_local_file_is_an_error(
    fake_mnist, local_home, mirror, monkeypatch, spoil, message
):
    use_mirrors(monkeypatch, mirror.url)
    path = local_home / "mnist" / TRAIN_IMAGES
    gz = fake_mnist.gz[TRAIN_IMAGES]
    spoilt = spoil(gz, gzip.decompress(gz))
    path.write_bytes(spoilt)

    with pytest.raises(OSError, match=message) as excinfo:
        fetch_mnist(data_home=local_home, subset="train")
    assert f"Invalid MNIST file {path}: " in str(excinfo.value)
    assert "The file was not used. Delete it" in str(excinfo.value)
    # The file is neither used nor silently replaced by a download.
    assert path.read_bytes() == spoilt
    assert mirror.requests == []


def test_a_gzip_bomb_is_refused_without_decompressing_it(
    fake_mnist, local_home, monkeypatch
):
    # The right header and images, then 256 MB of zeros in 300 kB: gzip
    # members of 1 MB of zeros each, one after the other.
    idx = gzip.decompress(fake_mnist.gz[TRAIN_IMAGES])
    bomb = gzip.compress(idx, mtime=0) + gzip.compress(bytes(1 << 20)) * 256
    path = local_home / "mnist" / TRAIN_IMAGES
    path.write_bytes(bomb)

    tracemalloc.start()
    try:
        with pytest.raises(OSError, match="unexpected bytes after the IDX data"):
            fetch_mnist(data_home=local_home, subset="train")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # not the 256 MB the file decompresses to
    assert path.read_bytes() == bomb  # not used, not deleted


def test_a_folder_in_place_of_a_file_is_an_error(local_home, mirror, monkeypatch):
    use_mirrors(monkeypatch, mirror.url)
    path = local_home / "mnist" / TRAIN_IMAGES
    path.unlink()
    path.mkdir()
    with pytest.raises(OSError) as excinfo:
        fetch_mnist(data_home=local_home, subset="train")
    assert str(excinfo.value).startswith(
        f"Invalid MNIST file {path}: it is a directory, not the gzip-compressed "
        f"{TRAIN_IMAGES}. Remove it"
    )
    assert path.is_dir() and mirror.requests == []


def test_a_data_home_that_is_a_file_is_an_error(tmp_path, fake_mnist):
    home = tmp_path / "home"
    home.write_text("not a directory")
    with pytest.raises(NotADirectoryError) as excinfo:
        fetch_mnist(data_home=home)
    assert str(excinfo.value).startswith(
        f"The data home {home} is a file, not a directory."
    )

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mnist").write_text("not a directory either")
    for download_if_missing in (True, False):
        with pytest.raises(NotADirectoryError) as excinfo:
            fetch_mnist(
                data_home=tmp_path / "other", download_if_missing=download_if_missing
            )
        assert str(excinfo.value).startswith(
            f"{tmp_path / 'other' / 'mnist'} is a file, not the directory of the "
            "MNIST files."
        )


def _read_only(directory, monkeypatch):
    """Make ``directory`` refuse new files, as a read-only one does.

    chmod does not do it for root (who runs some CI containers), so the
    refusal is simulated where it would come: creating the temporary file.
    """
    real_mkstemp = _mnist.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if os.path.samefile(dir, directory):
            raise PermissionError(errno.EACCES, "Permission denied", dir)
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(_mnist.tempfile, "mkstemp", mkstemp)


def test_a_read_only_data_home_with_a_file_missing(local_home, mirror, monkeypatch):
    use_mirrors(monkeypatch, mirror.url)
    os.remove(local_home / "mnist" / TEST_LABELS)
    before = snapshot(local_home)
    _read_only(local_home / "mnist", monkeypatch)

    with pytest.raises(PermissionError) as excinfo:
        fetch_mnist(data_home=local_home, subset="test")
    directory = local_home / "mnist"
    assert str(excinfo.value).startswith(
        f"The MNIST file {TEST_LABELS} is missing from {directory}, and it cannot "
        "be downloaded there: Permission denied. Download the files"
    )
    assert f"gzip-compressed, in {directory}, or give fetch_mnist a data_home" in (
        str(excinfo.value)
    )
    assert mirror.requests == []  # no download started where none can be kept
    assert snapshot(local_home) == before
    # The files it has are still read.
    X, _ = fetch_mnist(data_home=local_home, subset="train", return_X_y=True)
    assert X.shape == (6, 784)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="chmod does not make a directory read-only for root",
)
def test_a_really_read_only_data_home(local_home, mirror, monkeypatch):
    use_mirrors(monkeypatch, mirror.url)
    os.remove(local_home / "mnist" / TEST_LABELS)
    os.chmod(local_home / "mnist", 0o555)
    try:
        with pytest.raises(PermissionError, match="cannot be downloaded there"):
            fetch_mnist(data_home=local_home, subset="test")
    finally:
        os.chmod(local_home / "mnist", 0o755)


# --------------------------------------------------------------------------
# Downloads


def test_download_missing_files(tmp_path, fake_mnist, mirror, monkeypatch):
    use_mirrors(monkeypatch, mirror.url)
    home = tmp_path / "home"

    bunch = fetch_mnist(data_home=home, subset="all")

    np.testing.assert_array_equal(
        bunch.images,
        np.concatenate(
            [fake_mnist.arrays[TRAIN_IMAGES], fake_mnist.arrays[TEST_IMAGES]]
        ),
    )
    np.testing.assert_array_equal(
        bunch.target,
        np.concatenate(
            [fake_mnist.arrays[TRAIN_LABELS], fake_mnist.arrays[TEST_LABELS]]
        ),
    )
    assert sorted(mirror.requests) == sorted(f"/mnist/{n}" for n in MNIST_NAMES)
    # Exactly the four files, as served, readable by all, no temporary files.
    assert sorted(os.listdir(home / "mnist")) == sorted(MNIST_NAMES)
    for name in MNIST_NAMES:
        assert (home / "mnist" / name).read_bytes() == fake_mnist.gz[name]
        assert os.stat(home / "mnist" / name).st_mode & 0o444 == 0o444

    # Once there, the files are read, not downloaded again.
    use_mirrors(monkeypatch)
    X, y = fetch_mnist(data_home=home, subset="all", return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    assert len(mirror.requests) == 4


def test_download_only_the_missing_files(local_home, fake_mnist, mirror, monkeypatch):
    use_mirrors(monkeypatch, mirror.url)
    os.remove(local_home / "mnist" / TEST_LABELS)

    X, y = fetch_mnist(data_home=local_home, subset="all", return_X_y=True)

    assert mirror.requests == [f"/mnist/{TEST_LABELS}"]
    np.testing.assert_array_equal(y[6:], fake_mnist.arrays[TEST_LABELS])


@pytest.mark.parametrize(
    "bad",
    [
        "missing_mirror",
        "corrupt_mirror",
        "dropping_mirror",
        "huge_mirror",
        "endless_mirror",
        "drip_mirror",
    ],
)
def test_failed_mirror_falls_back_to_the_next(
    request, tmp_path, fake_mnist, mirror, monkeypatch, bad
):
    bad_mirror = request.getfixturevalue(bad)
    use_mirrors(monkeypatch, bad_mirror.url, mirror.url)
    home = tmp_path / "home"

    X, y = fetch_mnist(data_home=home, subset="test", return_X_y=True)

    np.testing.assert_array_equal(X.reshape(-1, 28, 28), fake_mnist.arrays[TEST_IMAGES])
    np.testing.assert_array_equal(y, fake_mnist.arrays[TEST_LABELS])
    assert bad_mirror.requests == [f"/mnist/{TEST_IMAGES}", f"/mnist/{TEST_LABELS}"]
    assert sorted(os.listdir(home / "mnist")) == sorted([TEST_IMAGES, TEST_LABELS])
    assert (home / "mnist" / TEST_IMAGES).read_bytes() == fake_mnist.gz[TEST_IMAGES]


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("missing_mirror", "HTTP error 404 Not Found"),
        ("corrupt_mirror", "the SHA-256 checksum of the decompressed contents is"),
        ("dropping_mirror", r"connection closed after \d+ of \d+ bytes"),
        # 13536 bytes: twice the 6 fake training images and their header, + 4 KiB.
        (
            "huge_mirror",
            r"the server announces 1000000000000 bytes, more than the 13536 this "
            "file can need",
        ),
        ("endless_mirror", "the server sent more than the 13536 bytes"),
        ("drip_mirror", r"not downloaded within 0.5 seconds \(\d+ bytes received\)"),
    ],
)
def test_failed_download_leaves_no_file(
    request, tmp_path, fake_mnist, monkeypatch, bad, reason
):
    bad_mirror = request.getfixturevalue(bad)
    use_mirrors(monkeypatch, bad_mirror.url)
    home = tmp_path / "home"

    start = time.perf_counter()
    with pytest.raises(OSError, match=f"{bad_mirror.url}{TRAIN_IMAGES}: {reason}"):
        fetch_mnist(data_home=home, subset="train")
    assert time.perf_counter() - start < 2.5

    assert os.listdir(home / "mnist") == []  # no partial, corrupt or temp file
    assert bad_mirror.requests == [f"/mnist/{TRAIN_IMAGES}"]  # gave up at once


def test_offline_failure_explains_what_to_do(tmp_path, missing_mirror, monkeypatch):
    refused = f"http://127.0.0.1:{closed_port()}/mnist/"
    use_mirrors(monkeypatch, refused, missing_mirror.url)
    home = tmp_path / "home"

    start = time.perf_counter()
    with pytest.raises(OSError) as excinfo:
        fetch_mnist(data_home=home, subset="test")
    assert time.perf_counter() - start < 5

    message = str(excinfo.value)
    directory = str(home / "mnist")
    assert f"{TEST_IMAGES} is missing from {directory} and could not be downloaded" in (
        message
    )
    assert f"{refused}{TEST_IMAGES}: " in message and "refused" in message
    assert f"{missing_mirror.url}{TEST_IMAGES}: HTTP error 404" in message
    assert f"by hand and put them, still gzip-compressed, in {directory}" in message
    assert all(name in message for name in MNIST_NAMES)


def test_download_times_out(tmp_path, fake_mnist, monkeypatch):
    monkeypatch.setattr(_mnist, "_TIMEOUT", 0.3)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        use_mirrors(monkeypatch, url)
        home = tmp_path / "home"

        start = time.perf_counter()
        with pytest.raises(OSError, match=f"{url}{TRAIN_IMAGES}: timed out"):
            fetch_mnist(data_home=home, subset="train")
        assert time.perf_counter() - start < 5
    assert os.listdir(home / "mnist") == []


def test_concurrent_downloads_never_expose_partial_files(
    tmp_path, fake_mnist, start_mirror, monkeypatch
):
    server = start_mirror(fake_mnist.root, mode="together")
    use_mirrors(monkeypatch, server.url)
    home = tmp_path / "home"
    results, errors, bad_reads = [], [], []
    downloading = threading.Event()
    downloading.set()

    def fetch():
        try:
            results.append(fetch_mnist(data_home=home, subset="all", return_X_y=True))
        except BaseException as exc:  # reported below
            errors.append(exc)

    def watch():
        # Whenever a file has its final name, it is complete.
        while downloading.is_set():
            for name, content in fake_mnist.gz.items():
                try:
                    seen = (home / "mnist" / name).read_bytes()
                except FileNotFoundError:
                    continue
                if seen != content:
                    bad_reads.append((name, len(seen)))
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    fetchers = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in fetchers:
        thread.start()
    for thread in fetchers:
        thread.join(30)
    downloading.clear()
    watcher.join(30)

    assert errors == []
    assert not server.barrier.broken  # both downloads of each file overlapped
    assert len(server.requests) == 8
    assert bad_reads == []
    assert len(results) == 2
    for X, y in results:
        np.testing.assert_array_equal(X, results[0][0])
        np.testing.assert_array_equal(y[6:], fake_mnist.arrays[TEST_LABELS])
    assert sorted(os.listdir(home / "mnist")) == sorted(MNIST_NAMES)
    for name in MNIST_NAMES:
        assert (home / "mnist" / name).read_bytes() == fake_mnist.gz[name]


def test_importing_datasets_does_not_import_tensorflow():
    code = (
        "import sys, skdigits.datasets\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'scikeras'))\n"
        "sys.exit(', '.join(heavy) or None)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------
# The real MNIST


@pytest.fixture(scope="module")
def real_mnist(mnist_data_home):
    return {
        subset: fetch_mnist(subset=subset, download_if_missing=False)
        for subset in ["train", "test", "all"]
    }


def test_real_mnist(real_mnist):
    train, test, full = real_mnist["train"], real_mnist["test"], real_mnist["all"]
    for bunch, n in [(train, 60000), (test, 10000), (full, 70000)]:
        assert bunch.data.shape == (n, 784) and bunch.data.dtype == np.uint8
        assert bunch.images.shape == (n, 28, 28) and bunch.images.dtype == np.uint8
        assert np.shares_memory(bunch.images, bunch.data)
        assert bunch.target.shape == (n,)
    assert np.bincount(test.target).tolist() == TEST_LABEL_COUNTS
    assert np.bincount(train.target).tolist() == TRAIN_LABEL_COUNTS
    assert test.target[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert train.target[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert train.data.min() == 0 and train.data.max() == 255
    # "all" is the training set, then the test set.
    np.testing.assert_array_equal(full.data[:60000], train.data)
    np.testing.assert_array_equal(full.data[60000:], test.data)
    np.testing.assert_array_equal(full.target, np.r_[train.target, test.target])
    for text in ["CC BY-SA 3.0", "LeCun", "Gradient-based learning"]:
        assert text in full.DESCR


def test_download_real_files(
    mnist_data_home, real_mnist, tmp_path, start_mirror, monkeypatch
):
    """The real checksums accept the local (re-compressed) copies when served."""
    root = tmp_path / "served"
    root.mkdir()
    for name in [TEST_IMAGES, TEST_LABELS]:
        shutil.copy(os.path.join(mnist_data_home, "mnist", name), root)
    server = start_mirror(root)
    use_mirrors(monkeypatch, server.url)
    home = tmp_path / "home"

    X, y = fetch_mnist(data_home=home, subset="test", return_X_y=True)

    np.testing.assert_array_equal(X, real_mnist["test"].data)
    np.testing.assert_array_equal(y, real_mnist["test"].target)
    assert sorted(os.listdir(home / "mnist")) == [TEST_IMAGES, TEST_LABELS]


def test_download_real_corrupt_file(
    mnist_data_home, tmp_path, start_mirror, monkeypatch
):
    root = tmp_path / "served"
    root.mkdir()
    shutil.copy(os.path.join(mnist_data_home, "mnist", TEST_LABELS), root)
    server = start_mirror(root, mode="corrupt")
    use_mirrors(monkeypatch, server.url)
    home = tmp_path / "home"
    (home / "mnist").mkdir(parents=True)
    shutil.copy(os.path.join(mnist_data_home, "mnist", TEST_IMAGES), home / "mnist")

    with pytest.raises(OSError, match="SHA-256 checksum of the decompressed"):
        fetch_mnist(data_home=home, subset="test")
    assert os.listdir(home / "mnist") == [TEST_IMAGES]
