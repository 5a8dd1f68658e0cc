#!/usr/bin/python3
"""Boundary test generated from the service descriptors (issue [security]
item 5): every field of every request message of every modelvault.v1 RPC,
set to extreme values (0, -1, the type's MIN and MAX, 1 MiB strings and
bytes, 10,000 repeated entries, unknown enum values), is sent as root (so
the call gets past authentication and authorization to the code that must
range-check it) to a real modelvaultd. No call may end UNKNOWN or INTERNAL
(a crash or an unchecked value); afterwards the server answers, every list
RPC works, and `modelvaultd verify` exits 0: nothing out of range was stored.

A new RPC or field is covered without editing this file; a request message
whose fields need a valid base value to get past its name checks gets one in
BASE (otherwise the extremes would only ever meet the first check).

Usage: boundary_test.py BUILD_DIR   (run by CTest)
"""
import os
import subprocess
import sys
import unittest

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MVAULT = os.path.join(BUILD, "client", "mvault")
MODELVAULTD = os.path.join(BUILD, "server", "modelvaultd")
sys.path.insert(0, os.path.join(SRC, "tests", "python"))
from mvharness import (Server, grpc, access_pb2, artifact_pb2, audit_pb2,  # noqa: E402
                       operator_pb2, trace_pb2)
from google.protobuf.descriptor import FieldDescriptor as F  # noqa: E402

MIB = 1 << 20
INT64 = [0, -1, -(1 << 63), (1 << 63) - 1]
INT32 = [0, -1, -(1 << 31), (1 << 31) - 1]
UINT64 = [0, 1, (1 << 64) - 1]
UINT32 = [0, 1, (1 << 32) - 1]
STRINGS = ["", "a" * MIB, "\x00", "../../etc", "A" * 300, "é" * 100, "acme/x@" + "9" * 30]
BYTES = [b"", b"\xff" * MIB]

# Valid values for the fields that name things, per request type, so that the
# other fields' extremes reach the code that checks them. "{n}" is replaced
# by a counter (names that must be new).
BASE = {
    "modelvault.v1.DownloadRequest": {"ref": "acme/x"},
    "modelvault.v1.GetVersionRequest": {"ref": "acme/x"},
    "modelvault.v1.SetAliasRequest": {"ref": "acme/x@1", "alias": "prod"},
    "modelvault.v1.DeleteAliasRequest": {"name": "acme/x", "alias": "gone"},
    "modelvault.v1.UploadHeader": {"name": "acme/bnd-{n}"},
    "modelvault.v1.CreatePrincipalRequest": {"name": "bnd-{n}"},
    "modelvault.v1.GetPrincipalRequest": {"name": "bob"},
    "modelvault.v1.AttachPolicyRequest": {"principal": "bob", "policy": "readers"},
    "modelvault.v1.DetachPolicyRequest": {"principal": "bob", "policy": "nothing"},
    "modelvault.v1.CreateTokenRequest": {"principal": "bob"},
    "modelvault.v1.PutPolicyRequest": {
        "name": "bnd-{n}",
        "json": '{"rules":[{"effect":"allow","artifacts":["acme/*"],"actions":["read"]}]}'},
    "modelvault.v1.TraceHeader": {"size": 64},
}
# Requests that would wait for more (follow mode) end at their deadline.
FOLLOWING = {"FollowRecords"}
# The message a client stream ends with after its first (varied) message.
CLOSING = {
    "Upload": artifact_pb2.UploadRequest(trailer=artifact_pb2.UploadTrailer()),
    "Trace": trace_pb2.TraceRequest(end=trace_pb2.TraceEnd()),
}
MODULES = [artifact_pb2, access_pb2, audit_pb2, trace_pb2, operator_pb2]
REPEATED = 10_000


def extremes(field):
    """The values one scalar field is tried with."""
    t = field.type
    if t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return INT64
    if t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return INT32
    if t in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return UINT64
    if t in (F.TYPE_UINT32, F.TYPE_FIXED32):
        return UINT32
    if t == F.TYPE_BOOL:
        return [True]
    if t == F.TYPE_STRING:
        return STRINGS
    if t == F.TYPE_BYTES:
        return BYTES
    if t == F.TYPE_ENUM:
        return [v.number for v in field.enum_type.values] + [99, -1]
    return []


def base_fill(message, counter):
    for name, value in BASE.get(message.DESCRIPTOR.full_name, {}).items():
        setattr(message, name, value.replace("{n}", str(counter)) if isinstance(value, str)
                else value)


def variants(descriptor, counter, depth=0):
    """(label, message) pairs: the base message with one field at one extreme."""
    cls = message_class(descriptor)
    for field in descriptor.fields:
        path = field.name
        if field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
            m = cls()
            base_fill(m, next(counter))
            target = getattr(m, field.name)
            for i in range(REPEATED):
                target[f"k{i}"] = "v"
            yield f"{path}: {REPEATED} entries", m
            continue
        if field.label == F.LABEL_REPEATED:
            m = cls()
            base_fill(m, next(counter))
            if field.type == F.TYPE_MESSAGE:
                for _ in range(REPEATED):
                    getattr(m, field.name).add()
            elif field.type == F.TYPE_STRING:
                getattr(m, field.name).extend(["x"] * REPEATED)
            else:
                getattr(m, field.name).extend([extremes(field)[-1]] * REPEATED)
            yield f"{path}: {REPEATED} entries", m
            continue
        if field.type == F.TYPE_MESSAGE:
            if depth >= 1:
                continue
            for label, inner in variants(field.message_type, counter, depth + 1):
                m = cls()
                base_fill(m, next(counter))
                getattr(m, field.name).CopyFrom(inner)
                yield f"{path}.{label}", m
            continue
        for value in extremes(field):
            m = cls()
            base_fill(m, next(counter))
            setattr(m, field.name, value)
            shown = value if not isinstance(value, (str, bytes)) or len(value) < 40 \
                else f"<{len(value)} bytes>"
            yield f"{path}={shown!r}", m


def message_class(descriptor):
    for module in MODULES:
        cls = getattr(module, descriptor.name, None)
        if cls is not None and cls.DESCRIPTOR.full_name == descriptor.full_name:
            return cls
    raise KeyError(descriptor.full_name)


def counter_from(start):
    n = start
    while True:
        n += 1
        yield n


class Boundary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BUILD).start()
        cls.channel = grpc.insecure_channel(
            cls.server.address, options=[("grpc.max_send_message_length", 64 * MIB),
                                         ("grpc.max_receive_message_length", 64 * MIB)])
        cls.md = [("authorization", "Bearer " + cls.server.root_token)]
        token_file = os.path.join(cls.server.dir, "root.token")

        def mv(*args, stdin=None):
            r = subprocess.run([MVAULT, "--addr", cls.server.address, "--token-file",
                                token_file, *args], input=stdin, capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, r.stderr
        mv("push", "-", "acme/x", stdin="weights")
        mv("admin", "policy", "put", "readers", "-",
           stdin='{"rules":[{"effect":"allow","artifacts":["acme/*"],"actions":["read"]}]}')
        mv("admin", "principal", "create", "bob", "--policy", "readers")

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        if cls.server.proc.poll() is None:
            cls.server.stop()

    def call(self, service, method, request):
        path = f"/{service.full_name}/{method.name}"
        raw = dict(request_serializer=lambda m: m.SerializeToString(),
                   response_deserializer=lambda b: b)
        timeout = 3 if method.name in FOLLOWING else 60
        try:
            if method.client_streaming:
                stub = self.channel.stream_unary(path, **raw)
                messages = [request] + ([CLOSING[method.name]] if method.name in CLOSING else [])
                stub(iter(messages), metadata=self.md, timeout=timeout)
            elif method.server_streaming:
                stub = self.channel.unary_stream(path, **raw)
                for _ in stub(request, metadata=self.md, timeout=timeout):
                    pass
            else:
                self.channel.unary_unary(path, **raw)(request, metadata=self.md,
                                                      timeout=timeout)
        except grpc.RpcError as e:
            return e.code(), e.details()
        return grpc.StatusCode.OK, ""

    def test_every_field_of_every_request_at_its_extremes(self):
        counter = counter_from(0)
        calls, failures = 0, []
        for module in MODULES:
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    for label, request in variants(method.input_type, counter):
                        code, details = self.call(service, method, request)
                        calls += 1
                        if code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
                            failures.append(f"{method.full_name} {label}: {code} {details}")
                        if method.name in FOLLOWING and code == grpc.StatusCode.DEADLINE_EXCEEDED:
                            continue
                        if code == grpc.StatusCode.UNAVAILABLE:
                            failures.append(f"{method.full_name} {label}: server unavailable "
                                            f"({details})")
                        self.assertIsNone(self.server.proc.poll(),
                                          f"server died after {method.full_name} {label}")
        print(f"{calls} calls", file=sys.stderr)
        self.assertGreater(calls, 300)
        self.assertEqual(failures, [])

        # The server still answers, every list RPC works, and what it stored
        # passes verify.
        for call in (
                lambda: artifact_pb2_list(self),
                lambda: self.unary(access_pb2.ListPrincipalsRequest(), "AdminService",
                                   "ListPrincipals"),
                lambda: self.unary(access_pb2.ListTokensRequest(), "AdminService", "ListTokens"),
                lambda: self.unary(access_pb2.ListPoliciesRequest(), "AdminService",
                                   "ListPolicies"),
                lambda: self.unary(audit_pb2.QueryRecordsRequest(), "AuditService",
                                   "QueryRecords")):
            call()
        # The symptom of a stored out-of-range ttl: bob (who got tokens
        # with every extreme) could no longer be removed.
        self.unary(access_pb2.DeletePrincipalRequest(name="bob"), "AdminService",
                   "DeletePrincipal")
        self.assertEqual(self.server.stop(), 0)
        r = subprocess.run([MODELVAULTD, "verify", "--data-dir", self.server.data,
                            "--master-key-file", self.server.key],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def unary(self, request, service, method):
        self.channel.unary_unary(f"/modelvault.v1.{service}/{method}",
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=lambda b: b)(
            request, metadata=self.md, timeout=60)


def artifact_pb2_list(test):
    test.unary(artifact_pb2.ListVersionsRequest(), "ArtifactService", "ListVersions")


if __name__ == "__main__":
    unittest.main(verbosity=2)
