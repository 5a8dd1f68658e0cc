#!/usr/bin/python3
"""Hostile model headers (issue [security] item 6): 32 pushes at once of
safetensors and GGUF files whose headers hold a million tiny keys, against the
real modelvaultd. Each push succeeds or is refused (RESOURCE_EXHAUSTED when the
server's header memory is taken, INVALID_ARGUMENT for what the format rules
out); the server's peak RSS stays below 200 MiB and it serves on afterwards.

Usage: hostile_headers_test.py BUILD_DIR   (run by CTest; the sanitizer run
raises the limit with MV_HOSTILE_RSS_LIMIT_MIB for ASan's own overhead)
"""
import os
import struct
import sys
import threading
import unittest

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "python"))
from mvharness import Server, grpc, access_pb2, access_pb2_grpc  # noqa: E402
from mvharness import artifact_pb2, artifact_pb2_grpc  # noqa: E402

RSS_LIMIT_MIB = int(os.environ.get("MV_HOSTILE_RSS_LIMIT_MIB", "200"))
PUSHES = 32
MIB = 1 << 20


def safetensors(header_body, data=b""):
    h = ("{" + header_body + "}").encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def tiny_tensors(n):
    """n one-byte U8 tensors tiling n data bytes: a valid file."""
    body = ",".join(f'"t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}'
                    for i in range(n))
    return safetensors(body, bytes(n))


def tiny_metadata(n):
    return safetensors('"__metadata__":{' + ",".join(f'"k{i}":""' for i in range(n)) + "}")


def gguf_tiny_metadata(n):
    """GGUF v3 with n uint8 metadata keys and no tensors."""
    out = [b"GGUF", struct.pack("<IQQ", 3, 0, n)]
    for i in range(n):
        key = f"k{i}".encode()
        out.append(struct.pack("<Q", len(key)) + key + struct.pack("<IB", 0, 1))
    return b"".join(out)


class HostileHeaders(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BUILD).start()
        cls.channel = grpc.insecure_channel(
            cls.server.address, options=[("grpc.max_send_message_length", 8 * MIB)])
        cls.stub = artifact_pb2_grpc.ArtifactServiceStub(cls.channel)
        cls.md = [("authorization", "Bearer " + cls.server.root_token)]

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()

    def push_all(self, name, blob):
        """PUSHES concurrent pushes of `blob`; their status codes."""
        codes = []

        def push(i):
            def messages():
                yield artifact_pb2.UploadRequest(header=artifact_pb2.UploadHeader(
                    name=f"acme/{name}-{i}", expected_size=len(blob)))
                for at in range(0, len(blob), MIB):
                    yield artifact_pb2.UploadRequest(chunk=blob[at:at + MIB])
                yield artifact_pb2.UploadRequest(trailer=artifact_pb2.UploadTrailer())
            try:
                self.stub.Upload(messages(), metadata=self.md, timeout=300)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as e:
                codes.append(e.code())

        threads = [threading.Thread(target=push, args=(i,)) for i in range(PUSHES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return codes

    def check(self, name, blob, allowed):
        codes = self.push_all(name, blob)
        self.assertEqual(len(codes), PUSHES)
        self.assertTrue(set(codes) <= allowed, f"{name}: {codes}")
        peak = self.server.status_kib("VmHWM") // 1024
        counts = {c.name: codes.count(c) for c in set(codes)}
        print(f"{name}: {len(blob)} bytes, {counts}, server peak RSS {peak} MiB", flush=True)
        self.assertLess(peak, RSS_LIMIT_MIB, f"after {name}: peak RSS {peak} MiB")
        return codes

    def test_a_million_tiny_keys_32_times_at_once(self):
        busy = {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
        # A 58 MB header of a million tensors: more than the whole budget.
        codes = self.check("tensors", tiny_tensors(1_000_000),
                           {grpc.StatusCode.RESOURCE_EXHAUSTED})
        self.assertEqual(len(codes), PUSHES)
        # A million metadata keys: refused by the format's entry limit.
        self.check("metadata", tiny_metadata(1_000_000),
                   {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT})
        # A million GGUF metadata keys.
        self.check("gguf", gguf_tiny_metadata(1_000_000),
                   busy | {grpc.StatusCode.INVALID_ARGUMENT})
        # 150,000 tensors (8.6 MB header): valid; some get the memory.
        codes = self.check("valid", tiny_tensors(150_000), busy)
        self.assertIn(grpc.StatusCode.OK, codes)
        # The server serves on.
        auth = access_pb2_grpc.AuthServiceStub(self.channel)
        self.assertEqual(auth.WhoAmI(access_pb2.WhoAmIRequest(), metadata=self.md).principal,
                         "root")


if __name__ == "__main__":
    unittest.main(verbosity=2)
