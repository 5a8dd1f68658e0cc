#!/usr/bin/python3
"""Load: 16 concurrent clients mixing push/pull/list/info/alias/delete/admin
against the real modelvaultd for MV_LOAD_SECONDS (default 60; nightly runs
use longer). Checks: zero unexpected errors, every pulled byte verified,
server peak RSS bounded, server fd count back to its baseline once the
clients are gone. Prints p50/p99 per operation, throughput and peak RSS.

Half the clients are a scoped service principal (policy: everything on
load/**), half the root token; the scoped ones also try one admin call
each round, which must be PERMISSION_DENIED (an expected outcome).

Usage: load_test.py BUILD_DIR   (run by CTest)
"""
import hashlib
import os
import random
import sys
import threading
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "python"))
import mvharness as h  # noqa: E402
from mvharness import grpc, artifact_pb2 as apb, access_pb2 as xpb  # noqa: E402

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build"
SECONDS = float(os.environ.get("MV_LOAD_SECONDS", "60"))
CLIENTS = 16
MIB = 1 << 20
# The README's bound for the server (< 200 MiB; 80 MiB measured for 20 s on
# 2026-12-07). Sanitizer builds raise it (ASan shadow memory and quarantine).
PEAK_RSS_LIMIT_MIB = int(os.environ.get("MV_LOAD_RSS_LIMIT_MIB", "200"))
TIMEOUT = 120
POLICY = '{"rules": [{"effect": "allow", "artifacts": ["load/**"], ' \
         '"actions": ["read", "write", "list", "delete", "alias"]}]}'


class Catalog:
    """What the clients stored: name → {number: sha256}, shared under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.versions = {}

    def add(self, name, number, digest):
        with self.lock:
            self.versions.setdefault(name, {})[number] = digest

    def remove(self, name, number):
        with self.lock:
            self.versions.get(name, {}).pop(number, None)

    def pick(self, rng):
        with self.lock:
            live = [(n, v, d) for n, vs in self.versions.items() for v, d in vs.items()]
        return rng.choice(live) if live else None

    def has(self, name, number):
        with self.lock:
            return number in self.versions.get(name, {})


class Client(threading.Thread):
    def __init__(self, index, address, token, scoped, catalog, deadline, stats):
        super().__init__(daemon=True)
        self.rng = random.Random(index)
        self.index, self.scoped, self.catalog = index, scoped, catalog
        self.deadline, self.stats = deadline, stats
        # A local subchannel pool: each client gets its own TCP connection,
        # as 16 separate processes would (by default they would share one).
        self.channel = grpc.insecure_channel(address,
                                             options=[("grpc.use_local_subchannel_pool", 1)])
        self.art = h.artifact_pb2_grpc.ArtifactServiceStub(self.channel)
        self.admin = h.access_pb2_grpc.AdminServiceStub(self.channel)
        self.auth = h.access_pb2_grpc.AuthServiceStub(self.channel)
        self.md = [("authorization", "Bearer " + token)]

    def push(self):
        name = f"load/c{self.index % 4}/model-{self.rng.randrange(6)}"
        data = os.urandom(self.rng.choice([0, 1000, 300_000, MIB + 7, 2 * MIB]))

        def messages():
            yield apb.UploadRequest(header=apb.UploadHeader(name=name))
            for at in range(0, len(data), MIB):
                yield apb.UploadRequest(chunk=data[at:at + MIB])
            yield apb.UploadRequest(trailer=apb.UploadTrailer(sha256=hashlib.sha256(data).digest()))
        v = self.art.Upload(messages(), metadata=self.md, timeout=TIMEOUT).version
        assert v.sha256 == hashlib.sha256(data).digest(), "push digest"
        self.catalog.add(name, v.number, v.sha256)

    def pull(self):
        picked = self.catalog.pick(self.rng)
        if not picked:
            return
        name, number, digest = picked
        body, trailer = hashlib.sha256(), None
        try:
            for m in self.art.Download(apb.DownloadRequest(ref=f"{name}@{number}"),
                                       metadata=self.md, timeout=TIMEOUT):
                kind = m.WhichOneof("kind")
                if kind == "chunk":
                    body.update(m.chunk)
                elif kind == "trailer":
                    trailer = m.trailer
        except grpc.RpcError as e:
            # Deleted by another client meanwhile: expected, and only then.
            if e.code() == grpc.StatusCode.NOT_FOUND and not self.catalog.has(name, number):
                return "expected"
            raise
        assert trailer is not None and body.digest() == digest == trailer.sha256, "pull digest"

    def list(self):
        page = self.art.ListVersions(apb.ListVersionsRequest(prefix="load/", page_size=50),
                                     metadata=self.md, timeout=TIMEOUT)
        assert all(v.name.startswith("load/") for v in page.versions)

    def info(self):
        picked = self.catalog.pick(self.rng)
        if not picked:
            return
        name, number, digest = picked
        try:
            v = self.art.GetVersion(apb.GetVersionRequest(ref=f"{name}@{number}"),
                                    metadata=self.md, timeout=TIMEOUT)
            assert v.sha256 == digest
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND and not self.catalog.has(name, number):
                return "expected"
            raise

    def alias(self):
        picked = self.catalog.pick(self.rng)
        if not picked:
            return
        name, number, _ = picked
        try:
            self.art.SetAlias(apb.SetAliasRequest(ref=f"{name}@{number}", alias="latest-good"),
                              metadata=self.md, timeout=TIMEOUT)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND and not self.catalog.has(name, number):
                return "expected"
            raise

    def delete(self):
        picked = self.catalog.pick(self.rng)
        if not picked:
            return
        name, number, _ = picked
        self.catalog.remove(name, number)   # before: nobody may expect it any more
        try:
            self.art.DeleteVersion(apb.DeleteVersionRequest(ref=f"{name}@{number}"),
                                   metadata=self.md, timeout=TIMEOUT)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:   # two clients picked the same one
                return "expected"
            raise

    def admin_call(self):
        me = self.auth.WhoAmI(xpb.WhoAmIRequest(), metadata=self.md, timeout=TIMEOUT)
        assert me.principal == ("loader" if self.scoped else "root")
        try:
            self.admin.ListPrincipals(xpb.ListPrincipalsRequest(), metadata=self.md,
                                      timeout=TIMEOUT)
        except grpc.RpcError as e:
            if self.scoped and e.code() == grpc.StatusCode.PERMISSION_DENIED:
                return "expected"
            raise
        assert not self.scoped, "a scoped token listed principals"

    OPS = [("push", 20), ("pull", 30), ("list", 15), ("info", 10), ("admin_call", 15),
           ("alias", 5), ("delete", 5)]

    def run(self):
        names = [n for n, w in self.OPS for _ in range(w)]
        while time.monotonic() < self.deadline:
            op = self.rng.choice(names)
            start = time.monotonic()
            try:
                outcome = getattr(self, op)() or "ok"
            except Exception as e:  # noqa: BLE001 — every failure is counted and printed
                outcome = "unexpected"
                self.stats.error(op, e)
            self.stats.record(op, outcome, time.monotonic() - start)
        self.channel.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)
        self.outcomes = defaultdict(int)
        self.errors = []

    def record(self, op, outcome, seconds):
        with self.lock:
            self.latency[op].append(seconds)
            self.outcomes[(op, outcome)] += 1

    def error(self, op, e):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(f"{op}: {e!r}"[:300])


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def setup_scoped_token(address, root_token):
    channel = grpc.insecure_channel(address)
    admin = h.access_pb2_grpc.AdminServiceStub(channel)
    md = [("authorization", "Bearer " + root_token)]
    admin.PutPolicy(xpb.PutPolicyRequest(name="load-rw", json=POLICY), metadata=md, timeout=30)
    admin.CreatePrincipal(xpb.CreatePrincipalRequest(
        name="loader", kind=xpb.PRINCIPAL_KIND_SERVICE, policies=["load-rw"]),
        metadata=md, timeout=30)
    token = admin.CreateToken(xpb.CreateTokenRequest(principal="loader", ttl_seconds=3600),
                              metadata=md, timeout=30).token
    channel.close()
    return token


def wait_for_fds(server, baseline, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if server.fd_count() <= baseline:
            return server.fd_count()
        time.sleep(0.25)
    return server.fd_count()


def main():
    server = h.Server(BUILD, ["--chunk-size-kib", "256"]).start()
    try:
        scoped_token = setup_scoped_token(server.address, server.root_token)
        time.sleep(0.5)
        fd_baseline = server.fd_count()
        stats, catalog = Stats(), Catalog()
        deadline = time.monotonic() + SECONDS
        clients = [Client(i, server.address, scoped_token if i % 2 else server.root_token,
                          bool(i % 2), catalog, deadline, stats) for i in range(CLIENTS)]
        started = time.monotonic()
        for c in clients:
            c.start()
        fd_peak = fd_baseline
        while any(c.is_alive() for c in clients):
            fd_peak = max(fd_peak, server.fd_count())
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        fd_after = wait_for_fds(server, fd_baseline)
        peak_rss_mib = server.status_kib("VmHWM") / 1024
    finally:
        code = server.stop()

    total = sum(len(v) for v in stats.latency.values())
    print(f"load: {CLIENTS} clients, {elapsed:.0f} s, {total} requests, "
          f"{total / elapsed:.0f} req/s")
    print(f"{'op':<11}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}  outcomes")
    for op, _ in Client.OPS:
        lat = stats.latency.get(op, [0])
        outs = {o: n for (k, o), n in stats.outcomes.items() if k == op}
        print(f"{op:<11}{len(stats.latency.get(op, [])):>7}{percentile(lat, 50) * 1e3:>9.1f}"
              f"{percentile(lat, 99) * 1e3:>9.1f}  {outs}")
    every = [x for v in stats.latency.values() for x in v]
    print(f"all        {len(every):>7}{percentile(every, 50) * 1e3:>9.1f}"
          f"{percentile(every, 99) * 1e3:>9.1f}")
    print(f"server peak RSS {peak_rss_mib:.0f} MiB; fds baseline {fd_baseline}, "
          f"peak {fd_peak}, after {fd_after}; exit code {code}")
    for e in stats.errors:
        print("  unexpected:", e)

    failures = []
    unexpected = sum(n for (_, o), n in stats.outcomes.items() if o == "unexpected")
    if unexpected:
        failures.append(f"{unexpected} unexpected errors")
    if stats.outcomes[("pull", "ok")] == 0 or stats.outcomes[("push", "ok")] == 0:
        failures.append("the mix did not push and pull anything")
    if peak_rss_mib > PEAK_RSS_LIMIT_MIB:
        failures.append(f"peak RSS {peak_rss_mib:.0f} MiB > {PEAK_RSS_LIMIT_MIB} MiB")
    if fd_after > fd_baseline:
        failures.append(f"fd count {fd_after} did not return to baseline {fd_baseline}")
    if code != 0:
        failures.append(f"modelvaultd exited {code} on SIGTERM")
    if failures:
        print("FAILED:", "; ".join(failures))
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
