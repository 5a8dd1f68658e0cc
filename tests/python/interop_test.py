#!/usr/bin/python3
"""Interop and crash tests: a Python client generated from proto/ (Debian's
protoc + grpc_python_plugin, python3-grpcio) drives the real modelvaultd.

Usage: interop_test.py BUILD_DIR   (run by CTest)
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELVAULTD = os.path.join(BUILD, "server", "modelvaultd")
sys.path.insert(0, os.path.join(SRC, "tests", "python"))
from mvharness import grpc  # noqa: E402  (generates the stubs)
from mvharness import artifact_pb2 as pb, artifact_pb2_grpc as pb_grpc  # noqa: E402

MIB = 1 << 20


class Vault:
    """A real modelvaultd process over a vault in a temp dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mv-interop-")
        self.data = os.path.join(self.dir, "data")
        self.key = os.path.join(self.dir, "master.key")
        token_file = os.path.join(self.dir, "root.token")
        subprocess.run([MODELVAULTD, "init", "--data-dir", self.data, "--master-key-file",
                        self.key, "--root-token-file", token_file], check=True,
                       stderr=subprocess.DEVNULL)
        with open(token_file) as f:
            self.token = f.read().strip()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [MODELVAULTD, "serve", "--data-dir", self.data, "--master-key-file", self.key,
             "--listen", "127.0.0.1:0", "--chunk-size-kib", "256"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        m = re.match(r"listening on (\S+)", line)
        if not m:
            raise RuntimeError("server did not start: " + line)
        self.address = m.group(1)
        self.channel = grpc.insecure_channel(self.address)
        self.stub = pb_grpc.ArtifactServiceStub(self.channel)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.channel.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.channel.close()
        return code

    def md(self):
        return [("authorization", "Bearer " + self.token)]

    def push(self, name, data, piece=MIB):
        def messages():
            yield pb.UploadRequest(header=pb.UploadHeader(name=name))
            for at in range(0, len(data), piece):
                yield pb.UploadRequest(chunk=data[at:at + piece])
            yield pb.UploadRequest(trailer=pb.UploadTrailer(sha256=hashlib.sha256(data).digest()))
        return self.stub.Upload(messages(), metadata=self.md(), timeout=120).version

    def pull(self, ref, offset=0, length=0):
        out, header, trailer = bytearray(), None, None
        for m in self.stub.Download(pb.DownloadRequest(ref=ref, offset=offset, length=length),
                                    metadata=self.md(), timeout=120):
            kind = m.WhichOneof("kind")
            if kind == "header":
                header = m.header
            elif kind == "chunk":
                out += m.chunk
            else:
                trailer = m.trailer
        return bytes(out), header, trailer

    def entries(self, db):
        """Number of records in one LMDB database (server must be stopped)."""
        out = subprocess.run(["mdb_stat", "-s", db, self.data], capture_output=True,
                             text=True, check=True).stdout
        return int(re.search(r"Entries: (\d+)", out).group(1))


class InteropTest(unittest.TestCase):
    def setUp(self):
        self.vault = Vault()

    def tearDown(self):
        if self.vault.proc.poll() is None:
            self.vault.kill9()
        shutil.rmtree(self.vault.dir, ignore_errors=True)

    def test_python_client_round_trip_range_and_list(self):
        data = os.urandom(3 * MIB + 5)
        v = self.vault.push("acme/py-model", data)
        self.assertEqual((v.name, v.number, v.size), ("acme/py-model", 1, len(data)))
        self.assertEqual(v.sha256, hashlib.sha256(data).digest())
        got, header, trailer = self.vault.pull("acme/py-model@1")
        self.assertEqual(got, data)
        self.assertEqual(trailer.sha256, hashlib.sha256(data).digest())
        part, header, trailer = self.vault.pull("acme/py-model", offset=MIB - 1, length=MIB + 2)
        self.assertEqual(part, data[MIB - 1:2 * MIB + 1])
        self.assertEqual(trailer.sha256, hashlib.sha256(part).digest())
        listed = self.vault.stub.ListVersions(pb.ListVersionsRequest(prefix="acme/"),
                                              metadata=self.vault.md())
        self.assertEqual([x.name for x in listed.versions], ["acme/py-model"])

    def test_python_client_without_token_is_unauthenticated(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.vault.stub.GetVersion(pb.GetVersionRequest(ref="acme/x"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_reflection_lists_the_artifact_service_and_health_needs_no_token(self):
        # Raw bytes: ServerReflectionRequest{list_services: ""} is field 7, empty.
        reflect = self.vault.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        reply = next(reflect(iter([b"\x3a\x00"]), timeout=10))
        self.assertIn(b"modelvault.v1.ArtifactService", reply)
        # HealthCheckRequest{} → HealthCheckResponse{status: SERVING (1)}.
        check = self.vault.channel.unary_unary("/grpc.health.v1.Health/Check")
        self.assertEqual(check(b"", timeout=10), b"\x08\x01")

    def test_an_unknown_method_is_answered_by_the_server_not_by_grpc(self):
        # UnknownMethodService answers (and audits) it: gRPC's own answer
        # would be UNIMPLEMENTED without a message, and never UNAUTHENTICATED.
        probe = self.vault.channel.unary_unary("/modelvault.v1.ArtifactService/Nope")
        with self.assertRaises(grpc.RpcError) as e:
            probe(b"", metadata=self.vault.md(), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertEqual(e.exception.details(),
                         "unknown method /modelvault.v1.ArtifactService/Nope")
        with self.assertRaises(grpc.RpcError) as e:
            probe(b"", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_sigterm_drains_and_exits_zero(self):
        self.vault.push("acme/m", b"x" * 1000)
        self.assertEqual(self.vault.stop(), 0)

    def drains_on(self, sig):
        """After `sig` a new call is refused while an in-flight pull completes, then exit 0."""
        data = os.urandom(24 * MIB)
        self.vault.push("acme/drain", data)
        stream = self.vault.stub.Download(pb.DownloadRequest(ref="acme/drain"),
                                          metadata=self.vault.md(), timeout=120)
        first = next(stream)
        self.assertEqual(first.WhichOneof("kind"), "header")
        self.vault.proc.send_signal(sig)   # mid-stream
        # The signal is handled asynchronously: poll until the listener is
        # closed (UNAVAILABLE). A call that raced the start of the shutdown on
        # an accepted connection is CANCELLED by gRPC, never run.
        refusals, deadline = [], time.monotonic() + 20
        while grpc.StatusCode.UNAVAILABLE not in refusals and time.monotonic() < deadline:
            with grpc.insecure_channel(self.vault.address) as fresh:
                try:
                    pb_grpc.ArtifactServiceStub(fresh).GetVersion(
                        pb.GetVersionRequest(ref="acme/drain"), metadata=self.vault.md(),
                        timeout=5)
                    time.sleep(0.05)
                except grpc.RpcError as e:
                    refusals.append(e.code())
        self.assertIn(grpc.StatusCode.UNAVAILABLE, refusals)
        self.assertLessEqual(set(refusals),
                             {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})
        got, trailer = bytearray(), None
        for m in stream:
            if m.WhichOneof("kind") == "chunk":
                got += m.chunk
            elif m.WhichOneof("kind") == "trailer":
                trailer = m.trailer
        self.assertEqual(bytes(got), data)
        self.assertEqual(trailer.sha256, hashlib.sha256(data).digest())
        self.assertEqual(self.vault.proc.wait(timeout=60), 0)

    def test_sigterm_refuses_new_calls_and_lets_an_in_flight_download_finish(self):
        self.drains_on(signal.SIGTERM)

    def test_sigint_drains_like_sigterm(self):
        self.drains_on(signal.SIGINT)

    def test_a_stalled_stream_holds_the_drain_at_most_30_s(self):
        """README: after SIGTERM in-flight streams may finish for up to 30 s;
        a client that stops reading does not keep the server up longer."""
        data = os.urandom(48 * MIB)   # far more than the flow-control windows
        self.vault.push("acme/stalled", data)
        stream = self.vault.stub.Download(pb.DownloadRequest(ref="acme/stalled"),
                                          metadata=self.vault.md(), timeout=300)
        self.assertEqual(next(stream).WhichOneof("kind"), "header")   # then stop reading
        sent = time.monotonic()
        self.vault.proc.send_signal(signal.SIGTERM)
        # 30 s of drain plus a margin for a loaded machine to tear down.
        self.assertEqual(self.vault.proc.wait(timeout=75), 0)
        took = time.monotonic() - sent
        self.assertGreaterEqual(took, 25, "the drain did not wait for the stream")
        got = 0
        with self.assertRaises(grpc.RpcError) as e:
            for m in stream:
                got += len(m.chunk)
        self.assertIn(e.exception.code(),
                      {grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE})
        self.assertLess(got, len(data), "the stalled stream was cut, not finished")

    def test_kill9_mid_upload_leaves_no_partial_version(self):
        keep = {f"acme/keep-{i}": os.urandom(i * 300_000 + 1) for i in range(3)}
        for name, data in keep.items():
            self.vault.push(name, data)

        def slow_upload():
            yield pb.UploadRequest(header=pb.UploadHeader(name="acme/doomed"))
            for i in range(40):
                yield pb.UploadRequest(chunk=os.urandom(MIB))
                if i == 20:
                    self.vault.kill9()
            yield pb.UploadRequest(trailer=pb.UploadTrailer())

        with self.assertRaises(grpc.RpcError):
            self.vault.stub.Upload(slow_upload(), metadata=self.vault.md(), timeout=60)
        self.assertGreater(self.vault.entries("pending"), 0, "the crash left a pending upload")
        self.vault.start()   # start-up collects the abandoned upload
        self.assertEqual(self.vault.stop(), 0)
        self.assertEqual(self.vault.entries("pending"), 0)
        expected_chunks = sum(max(1, -(-len(d) // (256 << 10))) for d in keep.values())
        self.assertEqual(self.vault.entries("chunks"), expected_chunks)
        self.vault.start()
        with self.assertRaises(grpc.RpcError) as e:
            self.vault.pull("acme/doomed")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        for name, data in keep.items():
            self.assertEqual(self.vault.pull(name)[0], data)


if __name__ == "__main__":
    unittest.main(verbosity=2)
