#!/usr/bin/python3
"""Crash loops and I/O-error loops against the real modelvaultd (TESTING.md:
"kill -9 ... after restart every version is whole or absent" and "I/O errors
injected through strace -e inject=... at each write point").

The server runs as a real process; faults come from `strace -e inject=...`
attached to it after it printed "listening on". After every fault the server
is restarted without injection and the invariants are checked:
  * every acknowledged version pulls byte-identical; a deleted one is gone;
  * an unacknowledged upload is absent (NOT_FOUND) or whole and byte-identical;
  * nothing else is listed; `mdb_stat -s pending` is 0; `modelvaultd verify`
    exits 0 and counts exactly the listed versions.

strace semantics that shape the loops (strace(1): "Accounting of syscalls that
are subject to injection is done per syscall and per tracee"): the `when=K`
counter is per syscall NAME and per THREAD, so no single counter runs over all
write syscalls of an upload. One upload writes from two threads: the gRPC
handler thread (the version-id transaction, then the publish transaction) and
a per-upload committer thread (the chunk transactions). Each point is
therefore (attach mode, syscall, K):
  follow  = `strace -f -p PID`: all threads incl. the new committer; the K-th
            call of the thread that gets there first;
  handler = `strace -p TID -p TID ...` (no -f) on the threads that exist when
            the server idles: the committer is not traced, so K counts the
            handler thread's calls only (reaches the publish transaction).
Every run also traces the write-family calls to a file, and the point that
was actually hit is labelled from that trace (transaction role + call), so the
summary says which write points were exercised.

Usage: fault_loops_test.py BUILD_DIR   (run by CTest; needs strace, mdb_stat)
Env: MV_FAULT_SEED=N picks another random-kill seed (default 20261207, so CI
runs the same operations every time; printed either way);
nightly variants: MV_FAULT_MAX_POINTS (default 60 sampled kill points),
MV_FAULT_OPS (default 50 mixed operations in the random-kill loop).
"""
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections import Counter

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELVAULTD = os.path.join(BUILD, "server", "modelvaultd")
sys.path.insert(0, os.path.join(SRC, "tests", "python"))
from mvharness import grpc  # noqa: E402  (generates the stubs)
from mvharness import artifact_pb2 as pb, artifact_pb2_grpc as pb_grpc  # noqa: E402

KIB = 1 << 10
CHUNK = 64 * KIB
UPLOAD_SIZE = 3 * CHUNK - 100          # three stored chunks
# Every syscall that can put bytes on disk or make them durable.
WRITE_FAMILY = ["write", "pwrite64", "writev", "pwritev", "pwritev2", "fsync", "fdatasync",
                "msync", "ftruncate", "fallocate", "sync_file_range"]
# CI samples 60 kill points; nightly runs set MV_FAULT_MAX_POINTS=100000 (all).
MAX_KILL_POINTS = int(os.environ.get("MV_FAULT_MAX_POINTS", "60"))
FAIL_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
              grpc.StatusCode.INTERNAL, grpc.StatusCode.ABORTED}
STORAGE_WORDS = re.compile(r"storage|disk|I/O|input/output|no space", re.I)
RPC_TIMEOUT = 60


def sha(b):
    return hashlib.sha256(b).digest()


def log(*args):
    print(*args, flush=True)


# ---------------------------------------------------------------- the vault


class Server:
    """One modelvaultd serve process (optionally with strace attached)."""

    def __init__(self, vault):
        self.vault = vault
        self.proc = subprocess.Popen(
            [MODELVAULTD, "serve", "--data-dir", vault.data, "--master-key-file", vault.key,
             "--listen", "127.0.0.1:0", "--chunk-size-kib", str(CHUNK // KIB)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        m = re.match(r"listening on (\S+)", line)
        if not m:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"server did not start (exit {self.proc.returncode}): {line!r}")
        self.channel = grpc.insecure_channel(m.group(1))
        self.stub = pb_grpc.ArtifactServiceStub(self.channel)
        self.strace = None
        self.trace_file = None

    # -- strace
    def attach(self, expr, follow=True, attempts=3):
        """Attaches strace with `expr` (list of -e args) and waits until it
        traces. Returns the trace file of the write-family calls. Retries
        when strace gives up before attaching (a thread of the server that
        exits while strace seizes it can make the attach fail)."""
        for attempt in range(attempts):
            said = self._try_attach(expr, follow)
            if said is None:
                return self.trace_file
            self.strace.wait(timeout=60)
            self.strace.stderr.close()
            self.strace = None
            time.sleep(0.2)
        raise RuntimeError(f"strace exited before attaching ({attempts} attempts): {said}")

    def _try_attach(self, expr, follow):
        """None once strace traces; otherwise what strace said."""
        self.trace_file = os.path.join(self.vault.dir, f"trace-{time.monotonic_ns()}")
        cmd = ["strace"]
        if follow:
            cmd += ["-f", "-p", str(self.proc.pid)]
            want = 1
        else:
            tids = sorted(os.listdir(f"/proc/{self.proc.pid}/task"))
            for tid in tids:
                cmd += ["-p", tid]
            want = len(tids)
        # -P: only calls on the data file are traced, counted and injected
        # (not gRPC's own writes on sockets and eventfds).
        cmd += ["-P", os.path.join(self.vault.data, "data.mdb")]
        cmd += ["-e", "trace=" + ",".join(WRITE_FAMILY), "-e", "signal=none"] + expr
        cmd += ["-o", self.trace_file]
        self.strace = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
        seen = 0
        said = []
        while seen < want:
            line = self.strace.stderr.readline()
            if not line:
                return "".join(said).strip() or "(nothing)"
            said.append(line)
            if "attached" in line or "No such process" in line:
                seen += 1
        return None

    def detach(self):
        """Stops strace; a live server keeps running untraced."""
        if self.strace is None:
            return
        if self.strace.poll() is None:
            self.strace.send_signal(signal.SIGINT)
        self.strace.wait(timeout=60)
        self.strace.stderr.close()
        self.strace = None

    # -- lifecycle
    def alive(self):
        return self.proc.poll() is None

    def wait_dead(self, timeout=30):
        code = self.proc.wait(timeout=timeout)
        self.detach()
        self.channel.close()
        return code

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        return self.wait_dead()

    def stop(self):
        self.detach()
        self.channel.close()   # an idle open channel makes the drain wait ~5 s
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    # -- RPCs
    def md(self):
        return [("authorization", "Bearer " + self.vault.token)]

    def push(self, name, data, aliases=(), piece=256 * KIB, timeout=RPC_TIMEOUT):
        def messages():
            yield pb.UploadRequest(header=pb.UploadHeader(name=name, aliases=list(aliases)))
            for at in range(0, len(data), piece):
                yield pb.UploadRequest(chunk=data[at:at + piece])
            yield pb.UploadRequest(trailer=pb.UploadTrailer(sha256=sha(data)))
        return self.stub.Upload(messages(), metadata=self.md(), timeout=timeout).version

    def pull(self, ref):
        out, trailer = bytearray(), None
        for m in self.stub.Download(pb.DownloadRequest(ref=ref), metadata=self.md(),
                                    timeout=RPC_TIMEOUT):
            kind = m.WhichOneof("kind")
            if kind == "chunk":
                out += m.chunk
            elif kind == "trailer":
                trailer = m.trailer
        if trailer is None or trailer.sha256 != sha(bytes(out)):
            raise AssertionError(f"download of {ref} ended without a matching trailer")
        return bytes(out)

    def list_all(self):
        versions, token = [], ""
        while True:
            r = self.stub.ListVersions(pb.ListVersionsRequest(page_size=1000, page_token=token),
                                       metadata=self.md(), timeout=RPC_TIMEOUT)
            versions += list(r.versions)
            token = r.next_page_token
            if not token:
                return versions


class Vault:
    def __init__(self, test):
        self.dir = tempfile.mkdtemp(prefix="mv-faults-")
        test.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.data = os.path.join(self.dir, "data")
        self.key = os.path.join(self.dir, "master.key")
        token_file = os.path.join(self.dir, "root.token")
        subprocess.run([MODELVAULTD, "init", "--data-dir", self.data, "--master-key-file",
                        self.key, "--root-token-file", token_file], check=True,
                       stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        with open(token_file) as f:
            self.token = f.read().strip()
        self.servers = []
        test.addCleanup(self._cleanup)
        # Acknowledged state: (name, number) -> bytes; (name, alias) -> number.
        self.versions = {}
        self.aliases = {}

    def _cleanup(self):
        for s in self.servers:
            if s.alive():
                s.proc.kill()
                s.proc.wait()
            if s.strace is not None:
                s.strace.kill()
                s.strace.wait()

    def serve(self):
        s = Server(self)
        self.servers.append(s)
        return s

    def entries(self, db):
        out = subprocess.run(["mdb_stat", "-s", db, self.data], capture_output=True,
                             text=True, check=True).stdout
        return int(re.search(r"Entries: (\d+)", out).group(1))

    def verify(self):
        r = subprocess.run([MODELVAULTD, "verify", "--data-dir", self.data, "--master-key-file",
                            self.key], capture_output=True, text=True, timeout=300)
        return r.returncode, r.stdout + r.stderr


def rpc_error(fn, *args, **kw):
    """Runs fn; returns (None, result) or (RpcError, None)."""
    try:
        return None, fn(*args, **kw)
    except grpc.RpcError as e:
        return e, None


class FaultTestBase(unittest.TestCase):
    maxDiff = 2000

    def check_restart(self, vault, maybe=None):
        """Restarts the server without faults and checks every invariant.

        maybe: {name: bytes} uploads whose outcome the client never learned
        (or did not trust). Each must be absent or whole; returns
        {name: "present"|"absent"} and adds present ones to vault.versions.
        """
        maybe = dict(maybe or {})
        server = vault.serve()
        outcome = {}
        try:
            for (name, number), data in sorted(vault.versions.items()):
                err, got = rpc_error(server.pull, f"{name}@{number}")
                self.assertIsNone(err, f"acknowledged {name}@{number} lost: {err}")
                self.assertEqual(sha(got), sha(data), f"{name}@{number} changed")
            for (name, alias), number in sorted(vault.aliases.items()):
                err, v = rpc_error(server.stub.GetVersion, pb.GetVersionRequest(
                    ref=f"{name}@{alias}"), metadata=server.md(), timeout=RPC_TIMEOUT)
                self.assertIsNone(err, f"alias {name}@{alias} lost: {err}")
                self.assertEqual(v.number, number, f"alias {name}@{alias} moved")
            listed = server.list_all()
            known = set(vault.versions)
            for v in listed:
                key = (v.name, v.number)
                if key in known:
                    self.assertEqual(v.sha256, sha(vault.versions[key]))
                    self.assertEqual(v.size, len(vault.versions[key]))
                    continue
                self.assertIn(v.name, maybe, f"unexpected version {v.name}@{v.number} listed")
                data = maybe[v.name]
                self.assertEqual((v.size, v.sha256), (len(data), sha(data)),
                                 f"{v.name}@{v.number} is visible but not whole")
                err, got = rpc_error(server.pull, f"{v.name}@{v.number}")
                self.assertIsNone(err, f"{v.name}@{v.number} listed but does not pull: {err}")
                self.assertEqual(sha(got), sha(data))
                self.assertNotIn(v.name, outcome, f"two versions of one upload: {v.name}")
                outcome[v.name] = "present"
                vault.versions[key] = data
            for name in maybe:
                if name not in outcome:
                    outcome[name] = "absent"
            self.assertEqual(server.stop(), 0, "server did not stop cleanly")
        finally:
            if server.alive():
                server.kill9()
        self.assertEqual(vault.entries("pending"), 0, "pending uploads survived a restart")
        code, out = vault.verify()
        self.assertEqual(code, 0, f"modelvaultd verify failed:\n{out}")
        m = re.search(r"ok: (\d+) versions", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(int(m.group(1)), len(vault.versions), out)
        return outcome

    def seed_versions(self, vault, n=3):
        server = vault.serve()
        for i in range(n):
            data = os.urandom(i * 70_000 + 1000)
            v = server.push(f"acme/keep-{i}", data, aliases=["stable"])
            vault.versions[(v.name, v.number)] = data
            vault.aliases[(v.name, "stable")] = v.number
        self.assertEqual(server.stop(), 0)


# ---------------------------------------------------------------- traces

SYSCALL_RE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((.*)$")
RESUMED_RE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+<\.\.\. (\w+) resumed>(.*)$")


class Call:
    def __init__(self, tid, name, text):
        self.tid, self.name, self.text = tid, name, text
        self.result = None
        self.label = None

    def is_meta(self):
        # LMDB's meta-page write: a pwrite64 of less than a page (the MDB_meta).
        m = re.search(r", (\d+), \d+\s*(?:\)|<unfinished)", self.text)
        return self.name == "pwrite64" and m is not None and int(m.group(1)) < 4096


def parse_trace(path):
    """Write-family calls in order, each labelled role:call#n, where role is
    the transaction: alloc (handler, version id), chunks#i (committer),
    publish (handler, second transaction; or cleanup after a failure)."""
    calls, open_calls = [], {}
    with open(path, errors="replace") as f:
        for line in f:
            m = RESUMED_RE.match(line)
            if m:
                c = open_calls.pop(m.group(1), None)
                if c is not None:
                    c.result = m.group(3)
                continue
            m = SYSCALL_RE.match(line)
            if not m or m.group(2) not in WRITE_FAMILY:
                continue
            c = Call(m.group(1), m.group(2), m.group(3))
            if "<unfinished ...>" in line:
                open_calls[c.tid] = c
            else:
                c.result = m.group(3)
            calls.append(c)
    handler = calls[0].tid if calls else None
    txn_of = Counter()       # meta writes seen per thread
    step = Counter()         # (tid, txn, name) -> n
    for c in calls:
        t = txn_of[c.tid]
        if c.tid == handler:
            role = "alloc" if t == 0 else ("publish" if t == 1 else f"handler-txn{t + 1}")
        else:
            role = f"chunks{t + 1}"
        step[(c.tid, t, c.name)] += 1
        what = "pwrite64(meta)" if c.is_meta() else c.name
        c.label = f"{role}:{what}#{step[(c.tid, t, c.name)]}"
        if c.is_meta():
            txn_of[c.tid] += 1
    return calls


def injected_call(calls):
    for c in calls:
        if c.result and "INJECTED" in c.result:
            return c
    return None


# ---------------------------------------------------------------- the tests


class CrashLoopTest(FaultTestBase):
    def count_upload_writes(self, vault):
        """One traced upload (follow mode) → (per-name counts per thread, calls)."""
        server = vault.serve()
        trace = server.attach([], follow=True)
        data = os.urandom(UPLOAD_SIZE)
        v = server.push("acme/count", data)
        server.detach()
        vault.versions[(v.name, v.number)] = data
        self.assertEqual(server.stop(), 0)
        calls = parse_trace(trace)
        return calls

    def test_sigkill_at_every_write_point_of_an_upload(self):
        vault = Vault(self)
        self.seed_versions(vault)
        calls = self.count_upload_writes(vault)
        used = sorted({c.name for c in calls})
        log(f"[crash] one {UPLOAD_SIZE}-byte upload ({-(-UPLOAD_SIZE // CHUNK)} chunks of "
            f"{CHUNK // KIB} KiB) makes {len(calls)} write-family calls: "
            + ", ".join(f"{n}={sum(c.name == n for c in calls)}" for n in used))
        log("[crash] sequence: " + " ".join(c.label for c in calls))
        self.assertTrue({"pwrite64", "fdatasync"} <= set(used), used)
        handler = calls[0].tid
        per_thread = Counter((c.tid, c.name) for c in calls)
        points = []
        for name in used:
            most = max(n for (tid, nm), n in per_thread.items() if nm == name)
            points += [("follow", name, k) for k in range(1, most + 1)]
            mine = per_thread[(handler, name)]
            points += [("handler", name, k) for k in range(1, mine + 1)]
        if len(points) > MAX_KILL_POINTS:
            step = len(points) / (MAX_KILL_POINTS - 10)
            chosen = sorted({int(i * step) for i in range(MAX_KILL_POINTS - 10)}
                            | set(range(len(points) - 10, len(points))))
            log(f"[crash] {len(points)} kill points; taking every {step:.1f}th plus the last 10: "
                f"indices {chosen}")
            points = [points[i] for i in chosen]

        rows, hit_labels = [], Counter()
        for i, (mode, name, k) in enumerate(points):
            upload = f"acme/crash-{i}"
            data = os.urandom(UPLOAD_SIZE)
            server = vault.serve()
            trace = server.attach(["-e", f"inject={name}:signal=SIGKILL:when={k}"],
                                  follow=(mode == "follow"))
            err, v = rpc_error(server.push, upload, data)
            if err is None:
                acked = "OK"
                self.assertEqual((v.size, v.sha256), (len(data), sha(data)))
                vault.versions[(v.name, v.number)] = data
            else:
                acked = err.code().name
            if err is not None:
                # The failed upload must be due to the kill, not a server error.
                self.assertEqual(server.wait_dead(), -signal.SIGKILL,
                                 f"upload failed without a kill: {err}")
                killed = True
            else:
                server.detach()
                killed = not server.alive()
                if killed:   # a kill after the acknowledgement
                    self.assertEqual(server.wait_dead(), -signal.SIGKILL)
                else:
                    self.assertEqual(server.stop(), 0)
            trace_calls = parse_trace(trace)
            label = trace_calls[-1].label if killed and trace_calls else "-"
            outcome = self.check_restart(vault, {} if err is None else {upload: data})
            state = "present" if err is None else outcome[upload]
            if killed:
                hit_labels[label] += 1
            rows.append((mode, name, k, "killed" if killed else "not reached", label, acked, state))
            log(f"[crash] {mode:7} {name:9} when={k:<3} -> {rows[-1][3]:11} at {label:28} "
                f"client={acked:12} version={state}")
        kills = [r for r in rows if r[3] == "killed"]
        log(f"[crash] SUMMARY: {len(rows)} kill points run, {len(kills)} killed the server "
            f"({len(set(hit_labels))} distinct write points: {sorted(hit_labels)}); "
            f"after restart: present={sum(r[6] == 'present' for r in rows)} "
            f"absent={sum(r[6] == 'absent' for r in rows)}; acknowledged lost=0; verify ok "
            f"{len(rows)}/{len(rows)}")
        roles = {lbl.split(":")[0].rstrip("0123456789") for lbl in hit_labels}
        self.assertTrue({"alloc", "chunks", "publish"} <= roles,
                        f"kill points missed a transaction: {sorted(hit_labels)}")
        self.assertGreaterEqual(len(kills), len(rows) // 2)
        # Killing on entry to the publish meta-page write happens before the
        # commit point: that version must be absent.
        for r in kills:
            if r[4].startswith("publish:pwrite64(meta)"):
                self.assertEqual(r[6], "absent", r)


    def test_sigkill_at_every_commit_of_an_rm_shreds_the_key_first(self):
        """README: rm removes the version and its audit record in one
        commit, zeroes its data key in the key file, and frees the chunks
        in the background (64 per transaction). A kill at any durable point
        of an rm leaves the version whole or gone, never listed without its
        chunks: kills after the first commit find it gone, and the restart
        shreds and frees what the rm left (pending empty, verify ok)."""
        vault = Vault(self)
        size = 130 * CHUNK + 7   # 131 chunks: three chunk-freeing transactions
        server = vault.serve()
        data = os.urandom(size)
        v = server.push("acme/count-rm", data, aliases=["prod"])
        trace = server.attach([], follow=True)
        server.stub.DeleteVersion(pb.DeleteVersionRequest(ref="acme/count-rm@1"),
                                  metadata=server.md(), timeout=RPC_TIMEOUT)
        time.sleep(2)  # the chunks are freed in the background
        server.detach()
        self.assertEqual(server.stop(), 0)
        syncs = sum(c.name == "fdatasync" for c in parse_trace(trace))
        log(f"[rm] deleting a {size}-byte version makes {syncs} fdatasync calls")
        self.assertGreaterEqual(syncs, 4, "the delete's commit, the key's shred, "
                                "then chunk-freeing commits")

        outcomes = []
        for k in range(1, syncs + 1):
            name = f"acme/rm-{k}"
            server = vault.serve()
            data = os.urandom(size)
            v = server.push(name, data, aliases=["prod"])
            key = (v.name, v.number)
            server.attach(["-e", f"inject=fdatasync:signal=SIGKILL:when={k}"], follow=True)
            err, _ = rpc_error(server.stub.DeleteVersion,
                               pb.DeleteVersionRequest(ref=f"{name}@1"),
                               metadata=server.md(), timeout=RPC_TIMEOUT)
            # Past the shred the reply comes first and the kill lands in the
            # background freeing, which may also finish in fewer syncs than
            # counted above (then the server lives on, and stops cleanly).
            try:
                code = server.wait_dead(timeout=10)
                self.assertEqual(code, -signal.SIGKILL, f"rm failed without a kill: {err}")
            except subprocess.TimeoutExpired:
                self.assertIsNone(err, f"rm failed without a kill at #{k}")
                server.detach()
                self.assertEqual(server.stop(), 0)
            # Whole or gone: find out which, then every invariant must hold.
            server = vault.serve()
            try:
                err, got = rpc_error(server.pull, f"{name}@1")
                if err is None:
                    self.assertEqual(sha(got), sha(data), f"{name}@1 changed")
                    vault.versions[key] = data
                    vault.aliases[(name, "prod")] = 1
                    outcomes.append("whole")
                else:
                    self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND, str(err))
                    err, _ = rpc_error(server.stub.GetVersion,
                                       pb.GetVersionRequest(ref=f"{name}@prod"),
                                       metadata=server.md(), timeout=RPC_TIMEOUT)
                    self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND, "alias outlived rm")
                    outcomes.append("gone")
                self.assertEqual(server.stop(), 0)
            finally:
                if server.alive():
                    server.kill9()
            self.check_restart(vault)
            log(f"[rm] kill at fdatasync #{k}: {outcomes[-1]}")
        # Once the key's transaction is durable the version is gone for good,
        # and most kill points fall in the chunk freeing that follows it.
        first_gone = outcomes.index("gone")
        self.assertEqual(outcomes, ["whole"] * first_gone + ["gone"] * (syncs - first_gone))
        self.assertGreaterEqual(syncs - first_gone, 3, outcomes)


class RandomKillTest(FaultTestBase):
    OPS = int(os.environ.get("MV_FAULT_OPS", "50"))  # nightly: more

    def test_random_sigkill_during_mixed_operations(self):
        seed = int(os.environ.get("MV_FAULT_SEED", "20261207"))
        log(f"[random] seed={seed} (rerun with MV_FAULT_SEED={seed})")
        rng = random.Random(seed)
        vault = Vault(self)
        self.seed_versions(vault, n=2)
        names = [f"acme/r{i}" for i in range(4)]
        done, rounds, stats = 0, 0, Counter()
        while done < self.OPS:
            rounds += 1
            server = vault.serve()
            killed = threading.Event()
            ops, touched = [], set()
            started = []   # started[i] is set as op i is sent
            for _ in range(min(rng.randint(1, 4), self.OPS - done)):
                kind = rng.choices(["push", "pull", "rm", "alias"], [5, 2, 2, 2])[0]
                # Each existing version at most once per round, so every op is
                # valid against the state the round started from.
                free = sorted(set(vault.versions) - touched)
                if kind != "push" and not free:
                    kind = "push"
                if kind == "push":
                    size = rng.choice([1, 100, CHUNK, CHUNK + 1, rng.randint(1, 1_200_000)])
                    ops.append(("push", rng.choice(names), rng.randbytes(size)))
                else:
                    target = rng.choice(free)
                    touched.add(target)
                    ops.append((kind, target, f"a{rng.randint(0, 2)}"))
            done += len(ops)
            results = []   # (op, "ok"|"interrupted", value)

            def worker():
                for i, op in enumerate(ops):
                    started[i].set()
                    kind = op[0]
                    try:
                        if kind == "push":
                            v = server.push(op[1], op[2], piece=rng_piece)
                            results.append((op, "ok", v))
                        elif kind == "pull":
                            results.append((op, "ok", server.pull(f"{op[1][0]}@{op[1][1]}")))
                        elif kind == "rm":
                            r = server.stub.DeleteVersion(
                                pb.DeleteVersionRequest(ref=f"{op[1][0]}@{op[1][1]}"),
                                metadata=server.md(), timeout=RPC_TIMEOUT)
                            results.append((op, "ok", r.deleted))
                        else:
                            r = server.stub.SetAlias(
                                pb.SetAliasRequest(ref=f"{op[1][0]}@{op[1][1]}", alias=op[2]),
                                metadata=server.md(), timeout=RPC_TIMEOUT)
                            results.append((op, "ok", r.version))
                    except grpc.RpcError as e:
                        results.append((op, "interrupted" if killed.is_set() else "error", e))
                        return

            rng_piece = rng.choice([16 * KIB, 256 * KIB, 1024 * KIB])
            # The kill is aimed at one op: it lands a moment after that op was
            # sent (most ops take 5-50 ms), not at a time that a slow machine
            # could let pass before anything started.
            started.extend(threading.Event() for _ in ops)
            victim = rng.randrange(len(ops))
            delay = rng.uniform(0, 0.03)
            t = threading.Thread(target=worker)
            t.start()
            self.assertTrue(started[victim].wait(RPC_TIMEOUT) or not t.is_alive(),
                            f"op {victim} was never sent")
            time.sleep(delay)
            killed.set()
            server.kill9()
            t.join(timeout=RPC_TIMEOUT)
            self.assertFalse(t.is_alive(), "an RPC hung after the server died")

            maybe = {}
            for op, status, value in results:
                stats[(op[0], status)] += 1
                self.assertNotEqual(status, "error",
                                    f"{op[0]} failed while the server was alive: {value}")
                kind = op[0]
                if status == "ok":
                    if kind == "push":
                        self.assertEqual((value.size, value.sha256), (len(op[2]), sha(op[2])))
                        vault.versions[(value.name, value.number)] = op[2]
                    elif kind == "pull":
                        self.assertEqual(sha(value), sha(vault.versions[op[1]]))
                    elif kind == "rm":
                        del vault.versions[op[1]]
                        for key in [k for k, n in vault.aliases.items()
                                    if k[0] == op[1][0] and n == op[1][1]]:
                            del vault.aliases[key]
                    else:
                        vault.aliases[(op[1][0], op[2])] = op[1][1]
                elif kind == "push":
                    maybe[op[1]] = op[2]
                elif kind == "rm":
                    # Either outcome is fine; find out which and adopt it.
                    data = vault.versions.pop(op[1])
                    stale = {k: n for k, n in vault.aliases.items()
                             if k[0] == op[1][0] and n == op[1][1]}
                    for k in stale:
                        del vault.aliases[k]
                    maybe_rm = (op[1], data, stale)
                    maybe.setdefault(("rm",), []).append(maybe_rm)
                elif kind == "alias":
                    vault.aliases.pop((op[1][0], op[2]), None)
                    maybe.setdefault(("alias",), []).append((op[1][0], op[2], op[1][1]))
            not_started = len(ops) - len(results)
            stats[("*", "not started")] += not_started
            for name, state in self.resolve_and_check(vault, maybe).items():
                stats[("interrupted push", state)] += 1
        # The event under test is a kill in the middle of an operation: a run
        # where every kill fell between operations proves nothing.
        interrupted = sum(n for (kind, status), n in stats.items() if status == "interrupted")
        self.assertGreater(interrupted, 0, f"no kill interrupted an operation: {dict(stats)}")
        log(f"[random] SUMMARY: {self.OPS} operations in {rounds} kill rounds (seed {seed}): "
            + ", ".join(f"{k[0]}/{k[1]}={n}" for k, n in sorted(stats.items()))
            + f"; {len(vault.versions)} versions at the end, all whole; verify ok {rounds}/{rounds}")

    def resolve_and_check(self, vault, maybe):
        """Interrupted rm/alias: observe which outcome happened (both are
        fine), fold it into the expected state, then run the invariants."""
        rms = maybe.pop(("rm",), [])
        alias_ops = maybe.pop(("alias",), [])
        # An interrupted push uses the same name as a maybe-upload; a name can
        # have at most one in-flight push per round (ops are sequential and the
        # first interrupted op ends the round).
        if rms or alias_ops:
            server = vault.serve()
            try:
                for key, data, stale in rms:
                    err, got = rpc_error(server.pull, f"{key[0]}@{key[1]}")
                    if err is None:
                        self.assertEqual(sha(got), sha(data), f"{key} changed")
                        vault.versions[key] = data
                        vault.aliases.update(stale)
                    else:
                        self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND, str(err))
                for name, alias, number in alias_ops:
                    err, v = rpc_error(server.stub.GetVersion,
                                       pb.GetVersionRequest(ref=f"{name}@{alias}"),
                                       metadata=server.md(), timeout=RPC_TIMEOUT)
                    if err is None:
                        vault.aliases[(name, alias)] = v.number
                    else:
                        self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND, str(err))
                self.assertEqual(server.stop(), 0)
            finally:
                if server.alive():
                    server.kill9()
        return self.check_restart(vault, maybe)


class IoErrorLoopTest(FaultTestBase):
    def test_eio_and_enospc_at_each_write_point(self):
        vault = Vault(self)
        self.seed_versions(vault)
        calls = CrashLoopTest.count_upload_writes(self, vault)
        used = sorted({c.name for c in calls})
        handler = calls[0].tid
        per_thread = Counter((c.tid, c.name) for c in calls)
        rows = []
        gaps = []
        i = 0
        for name in used:
            most = max(n for (tid, nm), n in per_thread.items() if nm == name)
            last_handler = per_thread[(handler, name)]
            # follow K=1..3: the version-id and first chunk transactions;
            # handler K=1..all: every call of the handler thread, which
            # includes both LMDB meta-page writes (version id, publish).
            points = [("once", "follow", f"{k}") for k in range(1, min(3, most) + 1)]
            points += [("once", "handler", f"{k}") for k in range(1, min(8, last_handler) + 1)]
            points += [("persistent", "follow", "1+"), ("persistent", "follow", "2+")]
            # How chunks batch into transactions varies from run to run, so
            # the handler thread may make none of these calls at all.
            if last_handler > 0:
                points.append(("persistent", "handler", f"{last_handler}+"))
            for errno_name in ("EIO", "ENOSPC"):
                for kind, mode, when in points:
                    i += 1
                    rows.append(self.one_fault(vault, i, name, errno_name, kind, mode, when, gaps))
        self.print_table(rows)
        fired = [r for r in rows if r["at"] != "-"]
        self.assertGreaterEqual(len(fired), len(rows) * 2 // 3,
                                "most injection points never fired")
        roles = {r["at"].split(":")[0].rstrip("0123456789") for r in fired}
        self.assertTrue({"alloc", "chunks", "publish"} <= roles, roles)
        if gaps:
            log("[io] SERVER GAPS (one-shot fault; same process afterwards):")
            for g in gaps:
                log("[io]   " + g)

    def one_fault(self, vault, i, name, errno_name, kind, mode, when, gaps):
        upload = f"acme/io-{i}"
        data = os.urandom(UPLOAD_SIZE)
        server = vault.serve()
        trace = server.attach(["-e", f"inject={name}:error={errno_name}:when={when}"],
                              follow=(mode == "follow"))
        err, v = rpc_error(server.push, upload, data)
        row = {"syscall": name, "errno": errno_name, "kind": kind, "mode": mode, "when": when,
               "at": "-", "status": "OK", "message": "", "same": "-", "version": "-"}
        maybe = {}
        if kind == "once":
            server.detach()   # the fault has fired (or not); the process goes on untraced
        hit = injected_call(parse_trace(trace))
        if hit is not None:
            row["at"] = hit.label
        if err is None:
            self.assertIsNone(hit, f"{hit and hit.label}: {errno_name} injected but upload OK")
            vault.versions[(v.name, v.number)] = data
            row["version"] = "present"
        else:
            row["status"], row["message"] = err.code().name, err.details() or ""
            self.assertIsNotNone(hit, f"upload failed with no fault injected: {err}")
            self.assertIn(err.code(), FAIL_CODES, f"{row}")
            self.assertTrue(row["message"], f"empty message: {row}")
            self.assertRegex(row["message"], STORAGE_WORDS, f"unclear message: {row}")
            # A full disk is RESOURCE_EXHAUSTED, unless it hit the audit
            # record's write: then the call fails closed (UNAVAILABLE).
            audit_hit = "audit log" in row["message"]
            if errno_name == "ENOSPC" and "panic" not in row["message"] and not audit_hit:
                self.assertEqual(err.code(), grpc.StatusCode.RESOURCE_EXHAUSTED, f"{row}")
            if audit_hit:
                self.assertEqual(err.code(), grpc.StatusCode.UNAVAILABLE, f"{row}")
            maybe[upload] = data
            # Earlier versions from the same process (reads write nothing).
            self.assertTrue(server.alive(), "the server died on an I/O error")
            same = self.probe_same_process(server, vault, i)
            row["same"] = same
            if kind == "once" and same != "healthy":
                gaps.append(f"inject={name}:error={errno_name}:when={when} ({mode}) at "
                            f"{row['at']}: upload -> {row['status']} '{row['message']}'; "
                            f"afterwards on the same process: {same}")
            # A one-shot fault must leave the same process fully usable (LMDB
            # panics after a failed meta-page write; the server reopens the
            # environment). Under a persistent one a pull works only if its
            # audit record can still be made durable; otherwise it is refused
            # (fail closed), naming the audit log and the storage error.
            if kind == "once":
                self.assertEqual(same, "healthy", f"{row}")
            else:
                refused = (same.startswith("pull UNAVAILABLE") and "audit log" in same
                           and re.search(STORAGE_WORDS, same))
                self.assertTrue(same == "pull ok" or refused, f"{row}")
        self.assertEqual(server.kill9() if server.alive() else 0, -signal.SIGKILL)
        outcome = self.check_restart(vault, maybe)
        if err is not None:
            # The client was told it failed: it must not have been published.
            self.assertEqual(outcome[upload], "absent", f"failed upload visible: {row}")
            row["version"] = "absent"
            # After the fault clears (restart without injection) uploads work.
            server = vault.serve()
            fresh = os.urandom(UPLOAD_SIZE)
            v2 = server.push(f"acme/io-{i}-after", fresh)
            self.assertEqual(server.pull(f"acme/io-{i}-after@{v2.number}"), fresh)
            vault.versions[(v2.name, v2.number)] = fresh
            self.assertEqual(server.stop(), 0)
        log(f"[io] {name:9} {errno_name:6} {kind:10} {mode:7} when={when:3} at "
            f"{row['at']:26} -> {row['status']:18} {row['message']!r}; same process "
            f"after: {row['same']}")
        return row

    def test_one_shot_fault_at_the_meta_page_write_recovers_in_process(self):
        """The commit point of an LMDB transaction is its meta-page write; a
        failure there leaves the environment in MDB_PANIC. With the fault
        gone (one-shot) the same server process must serve reads and take a
        new upload. The handler thread's pwrite64 count before the meta
        write varies with the page layout, so K is searched."""
        vault = Vault(self)
        self.seed_versions(vault)
        for errno_name in ("EIO", "ENOSPC"):
            hits = []
            for k in range(1, 16):
                upload = f"acme/meta-{errno_name.lower()}-{k}"
                data = os.urandom(UPLOAD_SIZE)
                server = vault.serve()
                trace = server.attach(["-e", f"inject=pwrite64:error={errno_name}:when={k}"],
                                      follow=False)
                err, v = rpc_error(server.push, upload, data)
                server.detach()
                hit = injected_call(parse_trace(trace))
                if err is None:
                    self.assertIsNone(hit, hit and hit.label)
                    vault.versions[(v.name, v.number)] = data
                else:
                    self.assertIsNotNone(hit, f"upload failed with no fault injected: {err}")
                if hit is None or "(meta)" not in hit.label:
                    server.stop()
                    continue
                self.assertIsNotNone(err, f"meta write failed at {hit.label} but upload OK")
                self.assertIn(err.code(), FAIL_CODES, err)
                self.assertRegex(err.details(), STORAGE_WORDS)
                same = self.probe_same_process(server, vault, f"{errno_name.lower()}-{k}")
                log(f"[meta] pwrite64 {errno_name} when={k} at {hit.label}: upload -> "
                    f"{err.code().name} '{err.details()}'; same process after: {same}")
                self.assertEqual(same, "healthy")
                self.assertEqual(server.stop(), 0)
                self.assertEqual(self.check_restart(vault, {upload: data})[upload], "absent")
                hits.append(hit.label)
                if len(hits) == 2:
                    break
            log(f"[meta] {errno_name}: meta-page write faults exercised: {hits}")
            self.assertTrue(hits, f"no K in 1..15 hit a meta-page write with {errno_name}")

    def probe_same_process(self, server, vault, i):
        """Pull an earlier version and upload anew on the faulted process.
        With a persistent fault still injected only the read is expected to
        work; returns a short description."""
        (name, number), data = sorted(vault.versions.items())[0]
        err, got = rpc_error(server.pull, f"{name}@{number}")
        if err is None:
            self.assertEqual(sha(got), sha(data), "an earlier version changed after a fault")
            read = "pull ok"
        else:
            read = f"pull {err.code().name} '{err.details()}'"
        if server.strace is not None:   # persistent fault still injected
            return read
        fresh = os.urandom(UPLOAD_SIZE)
        err, v = rpc_error(server.push, f"acme/io-{i}-same", fresh)
        if err is None:
            self.assertEqual(server.pull(f"acme/io-{i}-same@{v.number}"), fresh)
            vault.versions[(v.name, v.number)] = fresh
            return "healthy" if read == "pull ok" else f"{read}; upload ok"
        return f"{read}; upload {err.code().name} '{err.details()}'"

    def print_table(self, rows):
        log("[io] SUMMARY (injection point x outcome):")
        log(f"[io]   {'syscall':9} {'errno':6} {'kind':10} {'attach':7} {'when':4} "
            f"{'hit':26} {'status':18} {'after restart':13} same process after the fault")
        for r in rows:
            log(f"[io]   {r['syscall']:9} {r['errno']:6} {r['kind']:10} {r['mode']:7} "
                f"{r['when']:4} {r['at']:26} {r['status']:18} {r['version']:13} {r['same']}")
        log(f"[io]   {len(rows)} points, {sum(r['at'] != '-' for r in rows)} fired, "
            f"statuses {dict(Counter(r['status'] for r in rows))}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
