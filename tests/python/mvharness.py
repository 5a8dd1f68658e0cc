"""Shared harness for the Python tests: generated stubs and a real modelvaultd.

The stubs are generated from proto/ at import time by Debian's protoc and
grpc_python_plugin into a temp dir, exactly as a training cluster would.
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTOS = ["modelvault/v1/artifact.proto", "modelvault/v1/access.proto",
          "modelvault/v1/audit.proto", "modelvault/v1/trace.proto",
          "modelvault/v1/operator.proto"]

_STUBS = tempfile.mkdtemp(prefix="mv-pystubs-")
# A load run leaves gigabytes in its vault; a CI machine's disk is not ours
# to fill, so every temp dir goes when the test process exits.
atexit.register(shutil.rmtree, _STUBS, ignore_errors=True)
subprocess.run(["protoc", f"--proto_path={SRC}/proto", f"--python_out={_STUBS}",
                f"--grpc_out={_STUBS}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                *PROTOS], check=True)
sys.path.insert(0, _STUBS)
import grpc  # noqa: E402,F401  (re-exported)
from modelvault.v1 import access_pb2, access_pb2_grpc  # noqa: E402,F401
from modelvault.v1 import artifact_pb2, artifact_pb2_grpc  # noqa: E402,F401
from modelvault.v1 import audit_pb2, audit_pb2_grpc, trace_pb2  # noqa: E402,F401
from modelvault.v1 import operator_pb2, operator_pb2_grpc  # noqa: E402,F401


class Server:
    """A real modelvaultd over a fresh vault in a temp dir, on 127.0.0.1:0."""

    def __init__(self, build, serve_args=()):
        self.modelvaultd = os.path.join(build, "server", "modelvaultd")
        self.dir = tempfile.mkdtemp(prefix="mv-py-")
        atexit.register(self._remove)
        self.data = os.path.join(self.dir, "data")
        self.key = os.path.join(self.dir, "master.key")
        token_file = os.path.join(self.dir, "root.token")
        subprocess.run([self.modelvaultd, "init", "--data-dir", self.data, "--master-key-file",
                        self.key, "--root-token-file", token_file], check=True,
                       stderr=subprocess.DEVNULL)
        with open(token_file) as f:
            self.root_token = f.read().strip()
        self.serve_args = list(serve_args)
        self.proc = None
        self.address = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.modelvaultd, "serve", "--data-dir", self.data, "--master-key-file", self.key,
             "--listen", "127.0.0.1:0", *self.serve_args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        m = re.match(r"listening on (\S+)", line)
        if not m:
            raise RuntimeError("server did not start: " + line)
        self.address = m.group(1)
        return self

    def stop(self, sig=15, timeout=60):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def _remove(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def status_kib(self, field):
        """A /proc/PID/status memory field (VmRSS, VmHWM) in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)
