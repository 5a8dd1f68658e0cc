#!/usr/bin/python3
"""Offline attacks on data.mdb (issue [security], docs/SECURITY.md: the writer
of the data file without the key). With the server stopped, each test edits a
copy of a real vault with Debian's python3-lmdb -- swaps records, moves one
to another key, flips a byte, deletes a key -- then expects the documented
detection: `serve` refuses to start, the request fails DATA_LOSS (mvault exit
5), or `modelvaultd verify` exits 5 naming the record.

Usage: offline_attacks_test.py BUILD_DIR   (run by CTest)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import lmdb

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
MVAULT = os.path.join(BUILD, "client", "mvault")
MODELVAULTD = os.path.join(BUILD, "server", "modelvaultd")
EXIT_INTEGRITY = 5  # and 4: unauthenticated


class Vault:
    """A vault directory (data/, master.key, tokens) and a server on it."""

    def __init__(self, root):
        self.root = root
        self.data = os.path.join(root, "data")
        self.key = os.path.join(root, "master.key")
        self.proc = None
        self.address = None

    def start(self):
        self.proc = subprocess.Popen(
            [MODELVAULTD, "serve", "--data-dir", self.data, "--master-key-file", self.key,
             "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.wait(timeout=60)
            err = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
            return self.proc.returncode, err
        self.address = line.split()[-1]
        return 0, ""

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def mv(self, token, *args, stdin=None):
        return subprocess.run([MVAULT, "--addr", self.address, "--token-file",
                               os.path.join(self.root, token), *args], input=stdin,
                              capture_output=True, text=True, timeout=120)

    def verify(self):
        return subprocess.run([MODELVAULTD, "verify", "--data-dir", self.data,
                               "--master-key-file", self.key], capture_output=True, text=True,
                              timeout=300)

    def edit(self, fn):
        """Runs fn(txn, dbs) in one write transaction on the stopped vault."""
        env = lmdb.open(self.data, max_dbs=32, subdir=True, lock=True)
        names = [b"meta", b"versions", b"artifacts", b"tokens", b"accessors", b"principals",
                 b"policies", b"downloads", b"audit"]
        dbs = {n.decode(): env.open_db(n, create=False) for n in names}
        with env.begin(write=True) as txn:
            fn(txn, dbs)
        env.close()


class OfflineAttacks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """One vault with versions, principals, a policy and a download."""
        cls.pristine = tempfile.mkdtemp(prefix="mv-offline-")
        v = Vault(cls.pristine)
        subprocess.run([MODELVAULTD, "init", "--data-dir", v.data, "--master-key-file", v.key,
                        "--root-token-file", os.path.join(v.root, "root.token")], check=True,
                       capture_output=True)
        assert v.start()[0] == 0
        for name, data in (("acme/a", "aaaa"), ("acme/b", "bbbb")):
            assert v.mv("root.token", "push", "-", name, stdin=data).returncode == 0
        assert v.mv("root.token", "admin", "policy", "put", "readers", "-", stdin=(
            '{"rules":[{"effect":"allow","artifacts":["acme/*"],"actions":["read"]}]}'
        )).returncode == 0
        for who in ("alice", "bob"):
            assert v.mv("root.token", "admin", "principal", "create", who, "--policy",
                        "readers").returncode == 0
            token = v.mv("root.token", "admin", "token", "create", "--principal", who)
            with open(os.path.join(v.root, who + ".token"), "w") as f:
                f.write(token.stdout.splitlines()[0] + "\n")
        assert v.mv("alice.token", "pull", "acme/a", "-").returncode == 0
        v.stop()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pristine, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mv-attack-")
        shutil.rmtree(self.dir)
        shutil.copytree(self.pristine, self.dir)
        self.v = Vault(self.dir)

    def tearDown(self):
        if self.v.proc is not None and self.v.proc.poll() is None:
            self.v.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def assert_verify_names(self, fragment):
        """verify exits 5 with a "problem:" line naming fragment, then a FAILED summary."""
        r = self.v.verify()
        self.assertEqual(r.returncode, EXIT_INTEGRITY, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(any(line.startswith("problem: ") and fragment in line for line in lines),
                        r.stdout)
        self.assertTrue(lines and lines[-1].startswith("FAILED: "), r.stdout)

    def test_swapped_version_records_are_data_loss(self):
        def swap(txn, dbs):
            a = txn.get(b"acme/a\x00" + (1).to_bytes(8, "big"), db=dbs["versions"])
            b = txn.get(b"acme/b\x00" + (1).to_bytes(8, "big"), db=dbs["versions"])
            txn.put(b"acme/a\x00" + (1).to_bytes(8, "big"), b, db=dbs["versions"])
            txn.put(b"acme/b\x00" + (1).to_bytes(8, "big"), a, db=dbs["versions"])
        self.v.edit(swap)
        self.assertEqual(self.v.start()[0], 0)
        r = self.v.mv("root.token", "pull", "acme/a", "-")
        self.assertEqual(r.returncode, EXIT_INTEGRITY, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("fails to authenticate", r.stderr)
        self.v.stop()
        self.assert_verify_names("versions/")

    def test_a_revoked_token_or_deleted_version_put_back_is_named_by_verify(self):
        """Put back an older copy of the same record: it opens (same vault,
        database and key), but the audit log records its removal."""
        saved = {}
        self.v.edit(lambda txn, dbs: saved.update(
            tokens=list(txn.cursor(db=dbs["tokens"])),
            version=txn.get(b"acme/b\x00" + (1).to_bytes(8, "big"), db=dbs["versions"])))
        self.assertEqual(self.v.start()[0], 0)
        tokens = self.v.mv("root.token", "-o", "json", "admin", "token", "ls",
                           "--principal", "bob")
        self.assertEqual(tokens.returncode, 0, tokens.stderr)
        listed = json.loads(tokens.stdout)
        listed = listed["tokens"] if isinstance(listed, dict) else listed
        accessor = listed[0]["accessor"]
        r = self.v.mv("root.token", "admin", "token", "revoke", accessor)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.v.mv("root.token", "rm", "acme/b@1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.v.stop()
        self.assertEqual(self.v.verify().returncode, 0)

        def put_back(txn, dbs):
            for k, v in saved["tokens"]:
                txn.put(k, v, db=dbs["tokens"])
            txn.put(b"acme/b\x00" + (1).to_bytes(8, "big"), saved["version"],
                    db=dbs["versions"])
        self.v.edit(put_back)
        r = self.v.verify()
        self.assertEqual(r.returncode, EXIT_INTEGRITY, r.stdout + r.stderr)
        self.assertIn("token %s of bob: removed by audit record" % accessor, r.stdout)
        self.assertIn("acme/b@1: removed by audit record", r.stdout)

    def test_a_token_pointed_at_root_does_not_authenticate(self):
        def point(txn, dbs):
            records = list(txn.cursor(db=dbs["tokens"]))
            # Every token record sealed for its own key: give each another's.
            for (k, _), (_, v2) in zip(records, records[1:] + records[:1]):
                txn.put(k, v2, db=dbs["tokens"])
        self.v.edit(point)
        self.assertEqual(self.v.start()[0], 0)
        for who in ("alice", "root"):
            r = self.v.mv(who + ".token", "whoami")
            self.assertEqual(r.returncode, EXIT_INTEGRITY, r.stdout + r.stderr)
        self.v.stop()
        self.assert_verify_names("tokens/")

    def test_root_added_to_a_principal_by_hand_does_not_open(self):
        def promote(txn, dbs):
            txn.put(b"alice", txn.get(b"root", db=dbs["principals"]), db=dbs["principals"])
        self.v.edit(promote)
        self.assertEqual(self.v.start()[0], 0)
        # Her token names a principal whose record does not open: the same
        # refusal as any bad credential (no oracle), and nothing is sent.
        r = self.v.mv("alice.token", "pull", "acme/a", "-", "--exact")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("unauthenticated", r.stderr)
        self.assertEqual(r.stdout, "")
        self.v.stop()
        self.assert_verify_names('principals/"alice"')

    def test_an_edited_policy_stops_the_server_from_starting(self):
        def edit(txn, dbs):
            value = bytearray(txn.get(b"readers", db=dbs["policies"]))
            value[-20] ^= 0x01
            txn.put(b"readers", bytes(value), db=dbs["policies"])
        self.v.edit(edit)
        code, err = self.v.start()
        self.assertEqual(code, 1)
        self.assertIn('policies/"readers"', err)
        self.assert_verify_names('policies/"readers"')

    def test_a_flipped_fingerprint_count_or_download_entry_is_detected(self):
        for db in ("versions", "downloads"):
            with self.subTest(db=db):
                def flip(txn, dbs):
                    key, value = next(iter(txn.cursor(db=dbs[db])))
                    value = bytearray(value)
                    value[len(value) // 2] ^= 0x80
                    txn.put(key, bytes(value), db=dbs[db])
                self.tearDown()  # a fresh copy for each database
                self.setUp()
                self.v.edit(flip)
                self.assert_verify_names(db + "/")

    def regenerate(self, key, *extra):
        return subprocess.run([MODELVAULTD, "regenerate-key", "--key", key, "--data-dir",
                               self.v.data, "--master-key-file", self.v.key, *extra],
                              capture_output=True, text=True, timeout=300)

    def assert_audited(self, token, method, resource):
        tail = self.v.mv(token, "admin", "audit", "tail", "-n", "50")
        self.assertEqual(tail.returncode, 0, tail.stderr)
        self.assertIn(method, tail.stdout)
        self.assertIn(resource, tail.stdout)

    def test_a_deleted_fingerprint_key_is_not_replaced(self):
        self.v.edit(lambda txn, dbs: txn.delete(b"fingerprint_key", db=dbs["meta"]))
        code, err = self.v.start()
        self.assertEqual(code, 1)
        self.assertIn("lacks its fingerprint_key", err)
        self.assertIn("regenerate-key --key fingerprint", err)
        self.assertEqual(self.v.verify().returncode, 1)  # refuses too
        # Only the explicit command replaces it, on record.
        r = self.regenerate("fingerprint")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.v.start()[0], 0)
        self.assert_audited("root.token", "modelvaultd regenerate-key", "key:fingerprint")
        self.assertEqual(self.v.mv("alice.token", "pull", "acme/a", "-").stdout, "aaaa")

    def test_a_regenerated_key_that_is_intact_is_refused(self):
        for key in ("fingerprint", "token", "key-check"):
            r = self.regenerate(key)
            self.assertEqual(r.returncode, 1)
            self.assertIn("intact; nothing to regenerate", r.stderr)
        self.assertEqual(self.v.verify().returncode, 0)

    def test_a_deleted_token_key_revokes_every_token_through_regeneration(self):
        self.v.edit(lambda txn, dbs: txn.delete(b"token_key", db=dbs["meta"]))
        code, err = self.v.start()
        self.assertEqual(code, 1)
        self.assertIn("lacks its token_key", err)
        r = self.regenerate("token", "--root-token-file",
                            os.path.join(self.v.root, "new-root.token"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.v.start()[0], 0)
        for old in ("root.token", "alice.token"):
            self.assertEqual(self.v.mv(old, "ls").returncode, 4, old)
        self.assert_audited("new-root.token", "modelvaultd regenerate-key", "key:token")

    def test_a_damaged_key_check_value_is_not_taken_for_a_wrong_key(self):
        def damage(txn, dbs):
            kcv = bytearray(txn.get(b"kcv", db=dbs["meta"]))
            kcv[0] ^= 1
            txn.put(b"kcv", bytes(kcv), db=dbs["meta"])
        self.v.edit(damage)
        code, err = self.v.start()
        self.assertEqual(code, 1)
        self.assertIn("regenerate-key --key key-check", err)
        with open(os.path.join(self.v.root, "other.key"), "wb") as f:
            f.write(os.urandom(32))
        os.chmod(os.path.join(self.v.root, "other.key"), 0o600)
        r = subprocess.run([MODELVAULTD, "regenerate-key", "--key", "key-check", "--data-dir",
                            self.v.data, "--master-key-file",
                            os.path.join(self.v.root, "other.key")],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 1)
        self.assertIn("wrong master key", r.stderr)
        self.assertEqual(self.regenerate("key-check").returncode, 0)
        self.assertEqual(self.v.verify().returncode, 0)

    def test_a_truncated_witness_is_refused(self):
        witness = self.v.data + ".audit-witness"
        with open(witness) as f:
            lines = f.read().splitlines(keepends=True)
        self.assertGreaterEqual(len(lines), 1)
        with open(witness, "w") as f:
            f.writelines(lines[:-1])  # drop the newest checkpoint
        code, err = self.v.start()
        self.assertEqual(code, 1)
        self.assertIn("truncated or replaced by an older copy", err)
        r = self.v.verify()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("truncated", r.stderr)

    def test_a_deleted_witness_is_refused_until_reset_on_record(self):
        os.remove(self.v.data + ".audit-witness")
        code, err = self.v.start()
        self.assertEqual(code, 1)
        self.assertIn("is missing", err)
        self.assertEqual(self.v.verify().returncode, 1)
        self.assertFalse(os.path.exists(self.v.data + ".audit-witness"))

    def test_a_cut_export_fails_and_the_witness_confirms_the_whole_one(self):
        self.assertEqual(self.v.start()[0], 0)
        self.assertEqual(self.v.mv("root.token", "push", "-", "acme/c", stdin="cccc").returncode, 0)
        export = os.path.join(self.v.root, "export.jsonl")
        pub = os.path.join(self.v.root, "vault.pub")
        with open(export, "w") as f:
            self.assertEqual(subprocess.run(
                [MVAULT, "--addr", self.v.address, "--token-file",
                 os.path.join(self.v.root, "root.token"), "admin", "audit", "export"],
                stdout=f, timeout=120).returncode, 0)
        with open(pub, "w") as f:
            f.write(self.v.mv("root.token", "admin", "audit", "pubkey").stdout)
        self.v.stop()
        with open(export) as f:
            lines = f.read().splitlines(keepends=True)
        self.assertIn('"type":"export_end"', lines[-1])
        checkpoints = [i for i, l in enumerate(lines) if '"type":"checkpoint"' in l]
        self.assertGreaterEqual(len(checkpoints), 2)

        def verify(kept, *extra):
            path = os.path.join(self.v.root, "copy.jsonl")
            with open(path, "w") as f:
                f.writelines(kept)
            return subprocess.run([MVAULT, "admin", "audit", "verify", path, "--pubkey", pub,
                                   *extra], capture_output=True, text=True, timeout=120)
        witness = ("--witness", self.v.data + ".audit-witness")
        # Cut at an earlier checkpoint: signed so far, but not the export.
        r = verify(lines[:checkpoints[-2] + 1], *witness)
        self.assertEqual(r.returncode, EXIT_INTEGRITY, r.stdout + r.stderr)
        self.assertIn("no signed end", r.stderr)
        # Cut at the start, the signed end kept.
        r = verify(lines[2:], *witness)
        self.assertEqual(r.returncode, EXIT_INTEGRITY, r.stdout + r.stderr)
        self.assertIn("records cut from its start or end", r.stderr)
        r = verify(lines, *witness)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("checkpoints agree", r.stdout)
        self.assertIn("; exported ", r.stdout)

    def test_a_record_from_another_vault_does_not_open(self):
        other = Vault(tempfile.mkdtemp(prefix="mv-other-"))
        try:
            shutil.copy(self.v.key, other.key)  # the same master key
            subprocess.run([MODELVAULTD, "init", "--data-dir", other.data,
                            "--master-key-file", other.key], check=True, capture_output=True)
            env = lmdb.open(other.data, max_dbs=32)
            with env.begin(db=env.open_db(b"principals", create=False)) as txn:
                foreign_root = txn.get(b"root")
            env.close()
            self.v.edit(lambda txn, dbs: txn.put(b"root", foreign_root,
                                                 db=dbs["principals"]))
            self.assert_verify_names('principals/"root"')
        finally:
            shutil.rmtree(other.root, ignore_errors=True)

    def test_the_untouched_copy_verifies(self):
        r = self.v.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
