#!/usr/bin/python3
"""Red-team suite (issue [security]): the attacks a token holder with some
rights or an admin sub-role would try, against the real modelvaultd and
mvault binaries, each expecting the documented refusal. docs/SECURITY.md maps
every attacker to the tests here.

Usage: redteam_test.py BUILD_DIR   (run by CTest)
"""
import array
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MVAULT = os.path.join(BUILD, "client", "mvault")
sys.path.insert(0, os.path.join(SRC, "tests", "python"))
from mvharness import Server, grpc, access_pb2, access_pb2_grpc  # noqa: E402
from mvharness import audit_pb2, audit_pb2_grpc  # noqa: E402
from mvharness import artifact_pb2, artifact_pb2_grpc  # noqa: E402
from mvharness import operator_pb2, operator_pb2_grpc, trace_pb2  # noqa: E402

EXIT_NOT_FOUND, EXIT_AUTH, EXIT_INTEGRITY = 3, 4, 5
MODELVAULTD = os.path.join(BUILD, "server", "modelvaultd")
FIXTURE = os.path.join(SRC, "tests", "security", "fixtures", "format1_vault")
# The fixture vault's master key. Public on purpose, like VaultTest's fixed
# key: it protects only the synthetic data of this test. No key or token
# file is kept in the repository; the test writes this one (0600) and mints
# a root token offline with `modelvaultd root-token`.
FIXTURE_KEY_HEX = "df38a4f1a712796e2e09af11f1505e835d5d3a82862188b2c6f74c9bc9819636"
ALICE_ACCESSOR = "297c0457a04f4dc32c9fb76f"  # her token, issued by the old release


def make_model(path, seed):
    """A float safetensors file of eight F32 256x256 tensors (markable)."""
    rng = random.Random(seed)
    header, blobs, at = {"__metadata__": {"format": "pt"}}, [], 0
    for i in range(8):
        data = array.array("f", (rng.gauss(0.0, 0.02) for _ in range(256 * 256))).tobytes()
        header[f"model.layers.{i}.mlp.up_proj.weight"] = {
            "dtype": "F32", "shape": [256, 256], "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def permute_rows(src, dst, seed):
    """`src` (make_model) with each tensor's rows in a random order of its
    own and half of them negated: only alignment by content reads it."""
    data = open(src, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = bytearray(data[8 + n:])
    rng = random.Random(seed)
    for name, t in header.items():
        if name == "__metadata__":
            continue
        rows, cols = t["shape"]
        b = t["data_offsets"][0]
        values = array.array("f", bytes(body[b:b + rows * cols * 4]))
        order = list(range(rows))
        rng.shuffle(order)
        out = array.array("f")
        for r in order:
            sign = -1.0 if rng.random() < 0.5 else 1.0
            out.extend(sign * v for v in values[r * cols:(r + 1) * cols])
        body[b:b + rows * cols * 4] = out.tobytes()
    with open(dst, "wb") as f:
        f.write(data[:8 + n] + bytes(body))


class RedTeam(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BUILD).start()
        cls.work = tempfile.mkdtemp(prefix="mv-redteam-")
        cls.root_file = cls.write("root.token", cls.server.root_token)
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.admin = access_pb2_grpc.AdminServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()

    @classmethod
    def write(cls, name, text):
        path = os.path.join(cls.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def mv(self, token_file, *args, stdin=None):
        return subprocess.run([MVAULT, "--addr", self.server.address, "--token-file", token_file,
                               *args], input=stdin, capture_output=True, text=True, timeout=120)

    def ok(self, *args, stdin=None):
        r = self.mv(self.root_file, *args, stdin=stdin)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def principal(self, name, policy_json=None, policies=()):
        """Creates `name` (with its own policy when given); returns its token file."""
        policies = list(policies)
        if policy_json is not None:
            self.ok("admin", "policy", "put", name + "-rights", "-", stdin=policy_json)
            policies.append(name + "-rights")
        args = ["admin", "principal", "create", name]
        for p in policies:
            args += ["--policy", p]
        self.ok(*args)
        token = self.ok("admin", "token", "create", "--principal", name).splitlines()[0]
        return self.write(name + ".token", token)

    def allow(self, actions, globs=None):
        rule = {"effect": "allow", "actions": actions}
        if globs:
            rule["artifacts"] = globs
        return json.dumps({"rules": [rule]})

    def denied(self, r, *fragments):
        self.assertEqual(r.returncode, EXIT_AUTH, r.stdout + r.stderr)
        for f in fragments:
            self.assertIn(f, r.stderr)

    # ---- No escalation by delegation ----

    def test_token_admin_cannot_mint_a_root_token(self):
        t = self.principal("tok-admin", self.allow(["admin:tokens"]))
        self.denied(self.mv(t, "admin", "token", "create", "--principal", "root"),
                    "holds the root policy")
        # Variant: a token for a principal who holds more than the caller.
        self.principal("wide-reader", self.allow(["read"], ["**"]))
        self.denied(self.mv(t, "admin", "token", "create", "--principal", "wide-reader"),
                    "read on **")
        # Variant: revoke root's token (cutting the vault's administrator off).
        accessor = json.loads(self.ok("-o", "json", "admin", "token", "ls",
                                      "--principal", "root"))
        accessor = accessor["tokens"][0]["accessor"] if isinstance(accessor, dict) \
            else accessor[0]["accessor"]
        self.denied(self.mv(t, "admin", "token", "revoke", accessor), "root policy")
        self.ok("whoami")

    def test_principal_admin_cannot_attach_root_or_wider_policies(self):
        t = self.principal("pr-admin", self.allow(["admin:principals"]))
        self.denied(self.mv(t, "admin", "principal", "attach", "pr-admin", "root"),
                    "only a root caller")
        self.ok("admin", "policy", "put", "everything-read", "-",
                stdin=self.allow(["read"], ["**"]))
        self.denied(self.mv(t, "admin", "principal", "attach", "pr-admin", "everything-read"),
                    "read on **")
        self.denied(self.mv(t, "admin", "principal", "create", "sock", "--policy", "root"),
                    "only a root caller")
        self.assertEqual(self.mv(self.root_file, "admin", "principal", "show", "sock").returncode,
                         EXIT_NOT_FOUND)
        # Variant: remove a deny fence from someone (it grants what it denied).
        self.ok("admin", "policy", "put", "fence", "-", stdin=json.dumps(
            {"rules": [{"effect": "deny", "artifacts": ["acme/**"], "actions": ["read"]}]}))
        self.principal("fenced", policies=["everything-read", "fence"])
        self.denied(self.mv(t, "admin", "principal", "detach", "fenced", "fence"),
                    "policy fence rule 0 (read on acme/**)")
        shown = self.ok("-o", "json", "admin", "principal", "show", "fenced")
        self.assertIn("fence", shown)

    def test_policy_admin_cannot_widen_its_own_policy(self):
        t = self.principal("po-admin", self.allow(["admin:policies"]))
        self.ok("push", "-", "acme/secret", stdin="top secret weights")
        wider = json.dumps({"rules": [
            {"effect": "allow", "actions": ["admin:policies"]},
            {"effect": "allow", "artifacts": ["**"], "actions": ["read", "read:exact"]}]})
        self.denied(self.mv(t, "admin", "policy", "put", "po-admin-rights", "-", stdin=wider),
                    "cannot grant policy po-admin-rights rule 1")
        r = self.mv(t, "pull", "acme/secret", "-", "--exact")
        self.assertEqual(r.returncode, EXIT_AUTH)
        self.assertEqual(r.stdout, "")
        self.assertNotIn("read", self.ok("admin", "policy", "get", "po-admin-rights"))

    def test_a_glob_no_name_can_match_is_refused(self):
        r = self.mv(self.root_file, "admin", "policy", "put", "upper", "-",
                    stdin=self.allow(["read"], ["ACME/**"]))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("can never match an artifact name", r.stderr)
        self.assertEqual(self.mv(self.root_file, "admin", "policy", "get", "upper").returncode,
                         EXIT_NOT_FOUND)

    def test_a_budget_on_read_exact_counts_exact_pulls(self):
        self.ok("push", "-", "acme/exact-budgeted", stdin="weights")
        t = self.principal("exact-puller", json.dumps({"rules": [
            {"effect": "allow", "artifacts": ["acme/**"], "actions": ["read"]},
            {"effect": "allow", "artifacts": ["acme/**"], "actions": ["read:exact"],
             "conditions": {"max_downloads_per_day": 1}}]}))
        first = self.mv(t, "pull", "acme/exact-budgeted", "-", "--exact")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(first.stdout, "weights")
        second = self.mv(t, "pull", "acme/exact-budgeted", "-", "--exact")
        self.assertNotEqual(second.returncode, 0)
        self.assertEqual(second.stdout, "")
        self.assertIn("daily download budget exhausted", second.stderr)
        # Pulls that are not exact are not charged to the read:exact budget.
        self.assertEqual(self.mv(t, "pull", "acme/exact-budgeted", "-").returncode, 0)

    # ---- Trace is scoped to what the caller may trace ----

    def test_trace_never_names_a_version_the_caller_may_not_trace(self):
        model = os.path.join(self.work, "secret.safetensors")
        make_model(model, 7)
        self.ok("push", model, "acme/model-secret")
        alice = self.principal("alice", self.allow(["read"], ["acme/**"]))
        leaked = os.path.join(self.work, "leaked.safetensors")
        r = self.mv(alice, "pull", "acme/model-secret", leaked)
        self.assertEqual(r.returncode, 0, r.stderr)
        # A permuted copy: found only by alignment, which reads the stored
        # original; the search by content must keep to the caller's scope.
        permuted = os.path.join(self.work, "permuted.safetensors")
        permute_rows(leaked, permuted, 3)
        tracer = self.principal("bob-tracer", self.allow(["trace"], ["bob/**"]))
        for args in (["--artifact", "bob/x"], []):
            # a delivery (tier 0), the original (tier 0), by content
            for f in (leaked, model, permuted):
                r = self.mv(tracer, "trace", f, *args)
                self.assertEqual(r.returncode, EXIT_NOT_FOUND, r.stdout + r.stderr)
                out = r.stdout + r.stderr
                for secret in ("acme", "alice", "model-secret", "127.0.0.1"):
                    self.assertNotIn(secret, out)
        # A root tracer finds it, so the refusal above was the scope.
        for f in (leaked, permuted):
            r = self.mv(self.root_file, "trace", f)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("alice", r.stdout)
        # Told another artifact, even root considers only that one.
        r = self.mv(self.root_file, "trace", leaked, "--artifact", "bob/x")
        self.assertEqual(r.returncode, EXIT_NOT_FOUND, r.stdout + r.stderr)

    # ---- Delivery: who gets which copy (Vault::PlanDownload) ----

    def download(self, token_file, **request):
        """One Download call with a generated client: (header, payload bytes
        received, the RpcError that ended it or None)."""
        with open(token_file) as f:
            md = [("authorization", "Bearer " + f.read().strip())]
        stub = artifact_pb2_grpc.ArtifactServiceStub(self.channel)
        header, received = None, 0
        try:
            for m in stub.Download(artifact_pb2.DownloadRequest(**request), metadata=md):
                if m.HasField("header"):
                    header = m.header
                elif m.HasField("chunk"):
                    received += len(m.chunk)
        except grpc.RpcError as e:
            return header, received, e
        return header, received, None

    def test_a_reader_cannot_take_over_another_principals_download(self):
        # Resuming alice's download id would hand bob alice's fingerprint:
        # a copy he leaks would then accuse her.
        model = os.path.join(self.work, "shared.safetensors")
        make_model(model, 11)
        self.ok("push", model, "acme/model-shared")
        alice = self.principal("dl-alice", self.allow(["read"], ["acme/**"]))
        bob = self.principal("dl-bob", self.allow(["read"], ["acme/**"]))
        header, received, err = self.download(alice, ref="acme/model-shared")
        self.assertIsNone(err)
        self.assertEqual(header.delivery, artifact_pb2.DELIVERY_FINGERPRINTED)
        self.assertGreater(received, 0)
        for variant in (dict(download_id=header.download_id),
                        dict(download_id=header.download_id, offset=4096),
                        dict(download_id=header.download_id + 1)):  # never issued
            h, got, err = self.download(bob, ref="acme/model-shared", **variant)
            self.assertIsNotNone(err, variant)
            self.assertEqual(err.code(), grpc.StatusCode.INVALID_ARGUMENT, variant)
            self.assertIn("is not one of your downloads of acme/model-shared@1", err.details())
            self.assertIsNone(h)
            self.assertEqual(got, 0, variant)
        # alice's own resume still works, under her id.
        h, got, err = self.download(alice, ref="acme/model-shared",
                                    download_id=header.download_id, offset=4096)
        self.assertIsNone(err)
        self.assertEqual(h.download_id, header.download_id)

    def test_read_without_read_exact_gets_no_original_bytes_and_learns_nothing(self):
        self.ok("push", "-", "acme/exact-target", stdin="original weights")
        reader = self.principal("dl-reader", self.allow(["read"], ["acme/**"]))
        for ref in ("acme/exact-target", "acme/no-such-model"):
            h, got, err = self.download(reader, ref=ref, exact=True)
            self.assertEqual(err.code(), grpc.StatusCode.PERMISSION_DENIED, ref)
            # Same refusal for a missing version: no existence oracle.
            self.assertEqual(err.details(), "permission denied: read:exact on " + ref)
            self.assertIsNone(h)
            self.assertEqual(got, 0)

    def test_a_rule_that_requires_marks_never_yields_an_unmarked_copy(self):
        self.ok("push", "-", "acme/blob-unmarkable", stdin="not a model")
        marked = self.principal("dl-marked-only", json.dumps({"rules": [
            {"effect": "allow", "artifacts": ["acme/**"], "actions": ["read"],
             "conditions": {"require_fingerprint": True}}]}))
        h, got, err = self.download(marked, ref="acme/blob-unmarkable")
        self.assertEqual(err.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("requires a fingerprinted download", err.details())
        self.assertEqual(got, 0)
        # Asking for the exact bytes instead is not a way around it.
        h, got, err = self.download(marked, ref="acme/blob-unmarkable", exact=True)
        self.assertEqual(err.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(got, 0)

    # ---- Every field at the API boundary is range-checked ----

    def test_token_ttl_out_of_range_is_refused_and_nothing_stored(self):
        md = [("authorization", "Bearer " + self.server.root_token)]
        self.principal("ttl-target", self.allow(["list"], ["**"]))
        before = self.admin.ListTokens(access_pb2.ListTokensRequest(principal="ttl-target"),
                                       metadata=md)
        for ttl in (9223372036854775, 2**63 - 1, 315360001):
            with self.assertRaises(grpc.RpcError) as e:
                self.admin.CreateToken(access_pb2.CreateTokenRequest(
                    principal="ttl-target", ttl_seconds=ttl), metadata=md)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("ttl_seconds", e.exception.details())
        for uses in (2**63 - 1, 1000000001):
            with self.assertRaises(grpc.RpcError) as e:
                self.admin.CreateToken(access_pb2.CreateTokenRequest(
                    principal="ttl-target", uses=uses), metadata=md)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("uses", e.exception.details())
        after = self.admin.ListTokens(access_pb2.ListTokensRequest(principal="ttl-target"),
                                      metadata=md)
        self.assertEqual(len(after.tokens), len(before.tokens))
        # The principal can still be removed (no corrupt token was stored).
        self.ok("admin", "principal", "rm", "ttl-target")

    def test_an_audit_reader_cannot_shrink_the_log(self):
        t = self.principal("auditor", self.allow(["admin:audit"]))
        out = os.path.join(self.work, "stolen-archive.jsonl")
        self.denied(self.mv(t, "admin", "audit", "archive", "--before",
                            "2099-01-01T00:00:00Z", "--output", out),
                    "admin:audit:archive")
        self.assertFalse(os.path.exists(out))
        # Variant: a policy admin cannot grant itself the right to archive.
        p = self.principal("pol-admin-archive", self.allow(["admin:policies"]))
        self.denied(self.mv(p, "admin", "policy", "put", "pol-admin-archive-rights", "-",
                            stdin=self.allow(["admin:policies", "admin:audit:archive"])),
                    "admin:audit:archive")
        self.assertIn('"ok": true', self.ok("-o", "json", "admin", "audit", "verify"))

    def test_revoking_an_unknown_accessor_is_not_found(self):
        r = self.mv(self.root_file, "admin", "token", "revoke", "0123456789abcdef01234567")
        self.assertEqual(r.returncode, EXIT_NOT_FOUND, r.stderr)


class FailedAuthenticationFlood(unittest.TestCase):
    """An outsider floods the server with bad tokens: beyond the address's
    allowance the calls are refused RESOURCE_EXHAUSTED and only counted, in
    one audit record per address per minute (written at the latest when the
    server stops); a valid token from the same address still works."""

    def test_failed_authentication_is_rate_limited_per_address(self):
        server = Server(BUILD, ["--auth-failure-burst", "5",
                                "--auth-failures-per-minute", "1"]).start()
        try:
            with grpc.insecure_channel(server.address) as channel:
                auth = access_pb2_grpc.AuthServiceStub(channel)
                codes = []
                for i in range(200):
                    try:
                        auth.WhoAmI(access_pb2.WhoAmIRequest(),
                                    metadata=[("authorization", f"Bearer mvt_guess{i}")])
                        codes.append(grpc.StatusCode.OK)
                    except grpc.RpcError as e:
                        codes.append(e.code())
                        if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                            self.assertIn("too many failed authentications from 127.0.0.1",
                                          e.details())
                self.assertEqual(codes[:5], [grpc.StatusCode.UNAUTHENTICATED] * 5)
                self.assertEqual(set(codes[5:]), {grpc.StatusCode.RESOURCE_EXHAUSTED})
                root = [("authorization", "Bearer " + server.root_token)]
                self.assertEqual(auth.WhoAmI(access_pb2.WhoAmIRequest(), metadata=root).principal,
                                 "root")
            self.assertEqual(server.stop(), 0)
            server.start()
            with grpc.insecure_channel(server.address) as channel:
                audit = audit_pb2_grpc.AuditServiceStub(channel)
                records = audit.QueryRecords(audit_pb2.QueryRecordsRequest(
                    filter=audit_pb2.AuditFilter(decision="unauthenticated"), page_size=1000),
                    metadata=[("authorization", "Bearer " + server.root_token)]).records
            unauthenticated = [r for r in records if r.status_code == 16]
            counted = [r for r in records if r.status_code == 8]
            self.assertEqual(len(unauthenticated), 5)
            self.assertEqual(len(counted), 1, [r.reason for r in counted])
            self.assertEqual(counted[0].peer, "127.0.0.1")
            self.assertTrue(counted[0].reason.startswith(
                "rate limited: 195 failed authentications refused from "), counted[0].reason)
        finally:
            server.stop()


class SealedVault(unittest.TestCase):
    """Attacks on a vault sealed by unseal keys (init --key-shares 5
    --key-threshold 3): before it is unsealed, a valid root token reaches
    nothing but Unseal and SealStatus; a forged key with the right tag and a
    valid checksum (all one share holder knows) never opens it; an admin of
    every other kind cannot seal it. Each test has a vault of its own."""

    def setUp(self):
        cls = self
        cls.dir = tempfile.mkdtemp(prefix="mv-sealed-")
        cls.data = os.path.join(cls.dir, "data")
        init = subprocess.run([MODELVAULTD, "init", "--data-dir", cls.data, "--key-shares", "5",
                               "--key-threshold", "3"], capture_output=True, text=True, check=True)
        lines = init.stdout.split()
        cls.keys, cls.root_token = lines[:5], lines[5]
        cls.proc = subprocess.Popen([MODELVAULTD, "serve", "--data-dir", cls.data, "--listen",
                                     "127.0.0.1:0"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()
        cls.address = line.split()[-1]
        cls.channel = grpc.insecure_channel(cls.address)
        cls.op = operator_pb2_grpc.OperatorServiceStub(cls.channel)
        cls.root = [("authorization", "Bearer " + cls.root_token)]

    def tearDown(self):
        self.channel.close()
        self.proc.terminate()
        self.proc.communicate(timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)

    def unseal(self, key):
        return self.op.Unseal(operator_pb2.UnsealRequest(key=key))

    def test_a_sealed_server_answers_a_valid_token_with_nothing(self):
        checked = 0
        for module in (access_pb2, artifact_pb2, audit_pb2, trace_pb2, operator_pb2):
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    if method.full_name in ("modelvault.v1.OperatorService.Unseal",
                                            "modelvault.v1.OperatorService.SealStatus"):
                        continue
                    call = self.channel.unary_unary(f"/{service.full_name}/{method.name}")
                    with self.assertRaises(grpc.RpcError, msg=method.full_name) as e:
                        call(b"", metadata=self.root, timeout=30)
                    self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
                    self.assertEqual(e.exception.details(),
                                     "vault is sealed (0 of 3 unseal keys given)")
                    checked += 1
        self.assertGreaterEqual(checked, 28)

    def test_a_forged_key_with_the_right_tag_never_opens_the_vault(self):
        _, tag, _, _, _ = self.keys[0].split("-")
        body = f"mvshare1-{tag}-3-{os.urandom(32).hex()}"
        forged = body + "-" + hashlib.blake2b(body.encode(), digest_size=32).digest()[:4].hex()
        self.assertEqual(self.unseal(self.keys[0]).progress, 1)
        self.assertEqual(self.unseal(self.keys[1]).progress, 2)
        with self.assertRaises(grpc.RpcError) as e:
            self.unseal(forged)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("do not combine", e.exception.details())
        state = self.op.SealStatus(operator_pb2.SealStatusRequest())
        self.assertTrue(state.sealed)
        self.assertEqual(state.progress, 0)
        for key in self.keys[2:]:
            state = self.unseal(key)
        self.assertFalse(state.sealed)
        audit = audit_pb2_grpc.AuditServiceStub(self.channel)
        records = audit.QueryRecords(audit_pb2.QueryRecordsRequest(page_size=1000),
                                     metadata=self.root).records
        unseals = [r for r in records if r.method.endswith("/Unseal")]
        self.assertEqual([r.decision for r in unseals], ["failed", "allowed"])
        self.assertIn("do not combine", unseals[0].reason)
        for r in records:
            self.assertNotIn(forged.split("-")[3], r.reason)

    def test_an_admin_without_admin_seal_cannot_seal(self):
        for key in self.keys[:3]:
            self.unseal(key)
        admin = access_pb2_grpc.AdminServiceStub(self.channel)
        actions = ["admin:principals", "admin:policies", "admin:tokens", "admin:audit",
                   "admin:keys", "admin:backup", "admin:audit:archive"]
        admin.PutPolicy(access_pb2.PutPolicyRequest(name="all-but-seal", json=json.dumps(
            {"rules": [{"effect": "allow", "actions": actions}]})), metadata=self.root)
        admin.CreatePrincipal(access_pb2.CreatePrincipalRequest(
            name="ops", policies=["all-but-seal"]), metadata=self.root)
        token = admin.CreateToken(access_pb2.CreateTokenRequest(principal="ops"),
                                  metadata=self.root).token
        with self.assertRaises(grpc.RpcError) as e:
            self.op.Seal(operator_pb2.SealRequest(),
                         metadata=[("authorization", "Bearer " + token)])
        self.assertEqual(e.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertFalse(self.op.SealStatus(operator_pb2.SealStatusRequest(),
                                            metadata=self.root).sealed)


class Format1Migration(unittest.TestCase):
    """A vault written by the previous release (format 1, fixtures/format1_vault,
    FIXTURE.md says how it was made) is migrated behind the storage barrier
    and keeps every version, token and policy."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mv-migrate-")
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.data, 0o700)
        with open(os.path.join(FIXTURE, "data.mdb"), "rb") as f, \
                open(os.path.join(self.data, "data.mdb"), "wb") as out:
            out.write(f.read())
        self.key = os.path.join(self.dir, "master.key")
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, bytes.fromhex(FIXTURE_KEY_HEX))
        os.close(fd)

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def daemon(self, *args):
        return subprocess.run([MODELVAULTD, *args, "--data-dir", self.data,
                               "--master-key-file", self.key],
                              capture_output=True, text=True, timeout=120)

    def serve_once(self, *args):
        """Starts serve, waits until it listens, stops it; returns stderr."""
        server = subprocess.Popen([MODELVAULTD, "serve", "--data-dir", self.data,
                                   "--master-key-file", self.key, "--listen", "127.0.0.1:0",
                                   *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        try:
            listening = server.stdout.readline().startswith("listening on ")
        finally:
            if server.poll() is None:
                server.terminate()
            _, err = server.communicate(timeout=60)
        return listening, err

    def test_the_previous_release_vault_migrates_and_keeps_everything(self):
        with open(os.path.join(self.data, "data.mdb"), "rb") as f:
            self.assertIn(b"stage", f.read(), "the fixture holds clear labels")
        r = self.daemon("verify")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("modelvaultd migrate", r.stderr)
        # The fixture comes without its audit witness (FIXTURE.md) while its
        # log has a checkpoint: the migration lands, the vault then refuses
        # to run until the witness is restored or deliberately reset.
        r = self.daemon("migrate")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("audit witness", r.stderr)
        self.assertIn("--reset-audit-witness", r.stderr)
        listening, err = self.serve_once()
        self.assertFalse(listening)
        self.assertIn("is missing, but the audit log has checkpoints", err)
        listening, err = self.serve_once("--reset-audit-witness")
        self.assertTrue(listening, err)
        self.assertEqual(self.daemon("migrate").stdout.strip(), "already at: data format 4")
        r = self.daemon("verify")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("2 versions", r.stdout)
        root_token = os.path.join(self.dir, "root.token")
        r = self.daemon("root-token", "--root-token-file", root_token)
        self.assertEqual(r.returncode, 0, r.stderr)
        server = subprocess.Popen([MODELVAULTD, "serve", "--data-dir", self.data,
                                   "--master-key-file", self.key, "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            address = server.stdout.readline().split()[-1]
            server.stdout.close()

            def mv(*args):
                return subprocess.run([MVAULT, "--addr", address, "--token-file",
                                       root_token, *args], capture_output=True, timeout=120)
            blob = mv("pull", "acme/blob", "-")
            self.assertEqual(blob.returncode, 0, blob.stderr)
            self.assertEqual(hashlib.sha256(blob.stdout).hexdigest(),
                             "93f07faf790e19162eec4ab3203101ccad6be1ef14348cc3b37abf4ca14a004c")
            model = mv("pull", "acme/model@prod", "-", "--exact")
            self.assertEqual(model.returncode, 0, model.stderr)
            self.assertEqual(hashlib.sha256(model.stdout).hexdigest(),
                             "775d57fd8c3afdf9b70f67a2df66131258457dfc7813e3bde9809e81d8d30743")
            info = mv("-o", "json", "info", "acme/model@1")
            self.assertIn(b'"stage"', info.stdout)
            tokens = mv("admin", "token", "ls", "--principal", "alice")
            self.assertIn(ALICE_ACCESSOR.encode(), tokens.stdout, tokens.stderr)
            audit = mv("admin", "audit", "tail", "-n", "50")
            self.assertIn(b"modelvaultd migrate", audit.stdout + audit.stderr)
            self.assertIn(b"--reset-audit-witness", audit.stdout + audit.stderr)
        finally:
            server.terminate()
            server.wait(timeout=60)

    def test_serve_migrates_on_start_and_says_so(self):
        listening, err = self.serve_once("--reset-audit-witness")
        self.assertTrue(listening, err)
        self.assertIn("migrated " + self.data + " to data format 4", err)
        self.assertEqual(self.daemon("verify").returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
