"""Test-suite environment: fast mode, offline, quiet TF; notebook kernels inherit it.

Unit tests also get a socket guard: any connection to a non-loopback address fails the test.
"""

import os
import socket

import pytest

from aigc_tf.config import TEST_ENV

os.environ.update(TEST_ENV)

_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not host.startswith(_LOOPBACK):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
