"""Key lifecycle through the real binaries (issue [keys]): online rotation
under load with kill -9 in the middle of the second one, and an offline
check of the data file that nothing is sealed under a retired key version.

Run: python3 key_lifecycle_test.py BUILD_DIR
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mvharness import Server  # noqa: E402

import lmdb  # noqa: E402  (python3-lmdb)

MVAULT = os.path.join(BUILD, "client", "mvault")
MODELVAULTD = os.path.join(BUILD, "server", "modelvaultd")
BARRIER_LAYOUT = 2  # storage/barrier.h: u8 2 ‖ u32 key version ‖ ...


class Cli:
    def __init__(self, server):
        self.server = server
        self.token_file = os.path.join(server.dir, "cli.token")
        with open(self.token_file, "w") as f:
            f.write(server.root_token)
        os.chmod(self.token_file, 0o600)

    def run(self, *args, check=True, stdin=None):
        proc = subprocess.run([MVAULT, "--addr", self.server.address, "--token-file",
                               self.token_file, *args], capture_output=True, text=True,
                              stdin=stdin)
        if check and proc.returncode != 0:
            raise AssertionError(f"mvault {' '.join(args)}: exit {proc.returncode}: "
                                 f"{proc.stderr}")
        return proc

    def key_status(self):
        return json.loads(self.run("admin", "key", "status", "-o", "json").stdout)


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def sealed_key_versions(data_dir):
    """The keyring version of every barrier-sealed value in data.mdb."""
    versions = {}
    env = lmdb.open(data_dir, max_dbs=32, readonly=True, lock=False)
    with env.begin() as txn:
        names = [k for k, _ in txn.cursor()]
    for name in names:
        if name == b"chunks":
            continue
        db = env.open_db(name, create=False)
        with env.begin(db=db) as txn:
            for key, value in txn.cursor():
                if name == b"meta" and key in (b"kcv", b"vault_id"):
                    continue
                assert value[0] == BARRIER_LAYOUT, (name, key)
                v = int.from_bytes(value[1:5], "big")
                versions[v] = versions.get(v, 0) + 1
    env.close()
    return versions


class Rotation(unittest.TestCase):
    def setUp(self):
        self.server = Server(BUILD).start()
        self.cli = Cli(self.server)
        self.files = {}
        rng = random.Random(7)
        for i in range(6):
            path = os.path.join(self.server.dir, f"m{i}.bin")
            with open(path, "wb") as f:
                f.write(rng.randbytes(300_000 + 1000 * i))
            self.cli.run("push", path, f"r/m{i}")
            self.files[f"r/m{i}"] = path
        # Enough records that a rotation's job takes a moment: tokens and
        # their audit records.
        self.cli.run("admin", "principal", "create", "load")
        for _ in range(150):
            self.cli.run("admin", "token", "create", "--principal", "load")

    def tearDown(self):
        if self.server.proc.poll() is None:
            self.server.stop()

    def pull_all_identical(self):
        for name, path in self.files.items():
            out = os.path.join(self.server.dir, "pulled")
            if os.path.exists(out):
                os.remove(out)
            self.cli.run("pull", name, out)
            self.assertEqual(read(out), read(path), name)

    def wait_for_one_version(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.cli.key_status()
            if not status["rotation_running"] and len(status["versions"]) == 1:
                return status
            time.sleep(0.2)
        self.fail(f"rotation did not finish: {status}")

    def test_rotation_under_load_survives_kill_9_and_resumes(self):
        stop = threading.Event()
        errors = []

        def load(kind):
            i = 0
            while not stop.is_set():
                i += 1
                name = random.choice(list(self.files))
                if kind == "push":
                    p = self.cli.run("push", self.files[name], f"r/live{i}", check=False)
                else:
                    out = os.path.join(self.server.dir, f"live-pull-{i}")
                    p = self.cli.run("pull", name, out, check=False)
                    if p.returncode == 0:
                        with open(out, "rb") as a, open(self.files[name], "rb") as b:
                            if a.read() != b.read():
                                errors.append(f"pull of {name} differs")
                        os.remove(out)
                if p.returncode != 0 and not stop.is_set():
                    errors.append(f"{kind}: {p.stderr}")

        threads = [threading.Thread(target=load, args=(k,)) for k in ("push", "pull")]
        for t in threads:
            t.start()
        first = json.loads(self.cli.run("admin", "key", "rotate", "-o", "json").stdout)
        self.assertEqual(first["rotated_to"], 2)
        self.wait_for_one_version()
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

        # The second rotation: kill -9 as soon as its job has started.
        second = json.loads(self.cli.run("admin", "key", "rotate", "-o", "json").stdout)
        self.assertEqual(second["rotated_to"], 3)
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait()
        left = sealed_key_versions(self.server.data)
        self.assertTrue(set(left) <= {2, 3}, left)

        self.server.start()  # the job resumes on start
        status = self.wait_for_one_version()
        self.assertEqual(status["versions"][0]["version"], 3)
        self.assertTrue(status["versions"][0]["current"])
        self.pull_all_identical()
        self.server.stop()
        self.assertEqual(set(sealed_key_versions(self.server.data)), {3})
        verify = subprocess.run([MODELVAULTD, "verify", "--data-dir", self.server.data,
                                 "--master-key-file", self.server.key],
                                capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    def test_status_shows_what_each_version_protects(self):
        status = self.cli.key_status()
        self.assertEqual(len(status["versions"]), 1)
        v = status["versions"][0]
        self.assertEqual(v["data_keys"], 6)
        self.assertEqual(v["named_keys"], 3)
        self.assertGreater(v["records"], 150)
        text = self.cli.run("admin", "key", "status").stdout
        self.assertIn("1*", text)
        self.assertIn("rotation job: idle", text)


class ShredAndRekey(unittest.TestCase):
    def setUp(self):
        self.server = Server(BUILD).start()
        self.cli = Cli(self.server)
        self.model = os.path.join(self.server.dir, "model.bin")
        with open(self.model, "wb") as f:
            f.write(random.Random(3).randbytes(200_000))
        self.cli.run("push", self.model, "s/model")
        self.cli.run("push", self.model, "s/keep")
        self.pub = os.path.join(self.server.dir, "vault.pub")
        with open(self.pub, "w") as f:
            f.write(self.cli.run("admin", "audit", "pubkey").stdout)

    def tearDown(self):
        if self.server.proc.poll() is None:
            self.server.stop()

    def verify_certificate(self, path):
        return self.cli.run("admin", "audit", "verify-certificate", path, "--pubkey",
                            self.pub, check=False)

    def test_rm_returns_a_certificate_that_verifies_offline_and_an_edit_does_not(self):
        cert = os.path.join(self.server.dir, "model.shred.json")
        out = self.cli.run("rm", "s/model@1", "--certificate", cert).stdout
        self.assertIn("data key destroyed", out)
        self.assertEqual(os.stat(cert).st_mode & 0o777, 0o644)
        ok = self.verify_certificate(cert)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("certificate verifies: s/model@1", ok.stdout)
        doc = json.loads(read(cert, "r"))
        self.assertEqual(doc["certificate"]["data_key"], "destroyed")
        self.assertEqual(doc["certificate"]["principal"], "root")
        # The delete's own audit record is the one the certificate names.
        lines = self.cli.run("admin", "audit", "tail", "-n", "50", "-o", "json").stdout
        records = [json.loads(line) for line in lines.splitlines() if line.strip()]
        seqs = [r["sequence"] for r in records if r.get("resource") == "s/model@1"
                and "DeleteVersion" in r.get("method", "")]
        self.assertIn(doc["certificate"]["audit_sequence"], seqs)
        for field, value in (("principal", "eve"), ("version", "s/other@1"),
                             ("deleted_at_unix_ms", 1)):
            edited = dict(doc, certificate=dict(doc["certificate"], **{field: value}))
            path = os.path.join(self.server.dir, f"edited-{field}.json")
            with open(path, "w") as f:
                json.dump(edited, f)
            bad = self.verify_certificate(path)
            self.assertEqual(bad.returncode, 5, (field, bad.stdout, bad.stderr))
        # -o json carries the certificate too; the file is never overwritten.
        j = json.loads(self.cli.run("rm", "s/keep@1", "-o", "json").stdout)
        self.assertEqual(j["deleted"]["name"], "s/keep")
        self.assertEqual(len(j["signature"]), 128)
        self.cli.run("push", self.model, "s/again")
        again = self.cli.run("rm", "s/again@1", "--certificate", cert, check=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("never overwritten", again.stderr)

    def test_rekey_refuses_the_old_key_and_moves_to_unseal_keys(self):
        self.server.stop()
        daemon = [MODELVAULTD, "rekey", "--data-dir", self.server.data]
        new_key = os.path.join(self.server.dir, "new.key")
        r = subprocess.run(daemon + ["--old-key", self.server.key, "--new-key", new_key],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(new_key).st_mode & 0o777, 0o600)
        old = subprocess.run([MODELVAULTD, "verify", "--data-dir", self.server.data,
                              "--master-key-file", self.server.key],
                             capture_output=True, text=True)
        self.assertNotEqual(old.returncode, 0)
        self.assertIn("wrong master key", old.stderr)
        self.server.key = new_key
        self.server.start()
        pulled = os.path.join(self.server.dir, "pulled")
        self.cli.run("pull", "s/model", pulled)
        self.assertEqual(read(pulled), read(self.model))
        self.server.stop()

        prefix = os.path.join(self.server.dir, "unseal")
        r = subprocess.run(daemon + ["--old-key", new_key, "--key-shares", "3",
                                     "--key-threshold", "2", "--unseal-key-files", prefix],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Sealed now: serve without a key file, unseal with 2 of the 3 keys.
        proc = subprocess.Popen([MODELVAULTD, "serve", "--data-dir", self.server.data,
                                 "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        self.server.proc = proc
        self.server.address = proc.stdout.readline().split()[-1]
        proc.stdout.close()
        for i in (1, 3):
            with open(f"{prefix}.{i}") as share:
                self.cli.run("operator", "unseal", stdin=share)
        os.remove(pulled)
        self.cli.run("pull", "s/model", pulled)
        self.assertEqual(read(pulled), read(self.model))
        self.server.stop()
        stale = subprocess.run([MODELVAULTD, "verify", "--data-dir", self.server.data,
                                "--master-key-file", new_key], capture_output=True, text=True)
        self.assertNotEqual(stale.returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
