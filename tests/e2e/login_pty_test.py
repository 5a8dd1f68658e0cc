"""`mvault login` (and `mvault operator unseal`) on a terminal, as a person
runs it (README "Using mvault").

Usage: login_pty_test.py BUILD_DIR   (run by CTest)

The CLI runs on a pseudo-terminal: it prompts "Token: ", turns echo off
before reading, so the token typed never appears on the terminal, turns echo
back on, checks the token with WhoAmI and saves it (mode 0600). A wrong token
is refused and nothing is saved.
"""
import os
import pty
import select
import stat
import sys
import termios
import time
import unittest

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build"
sys.path.insert(0, os.path.join(SRC, "tests", "python"))
from mvharness import Server  # noqa: E402

MVAULT = os.path.join(BUILD, "client", "mvault")


def echo_on(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


class Terminal:
    """mvault ARGS on a new pseudo-terminal, its controlling terminal."""

    def __init__(self, *args):
        self.pid, self.master = pty.fork()
        if self.pid == 0:
            os.execv(MVAULT, [MVAULT, *args])
        self.seen = b""

    def read_until(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while text not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the program exited and closed it
                    break
                if not chunk:
                    break
                self.seen += chunk
        return text in self.seen

    def wait_until_echo_off(self, timeout=10):
        deadline = time.monotonic() + timeout
        while echo_on(self.master) and time.monotonic() < deadline:
            time.sleep(0.01)
        return not echo_on(self.master)

    def type(self, line):
        os.write(self.master, line.encode() + b"\n")

    def exit_code(self):
        self.read_until(b"\0", timeout=5)  # drain to EOF
        _, status = os.waitpid(self.pid, 0)
        os.close(self.master)
        return os.waitstatus_to_exitcode(status)


class LoginOnATerminal(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BUILD).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def login(self, token_file):
        return Terminal("--addr", self.server.address, "--token-file", token_file, "login")

    def test_the_token_typed_is_not_echoed_and_is_saved(self):
        token_file = os.path.join(self.server.dir, "typed.token")
        term = self.login(token_file)
        self.assertTrue(term.read_until(b"Token: "), term.seen)
        self.assertTrue(term.wait_until_echo_off(), "echo stayed on at the prompt")
        term.type(self.server.root_token)
        self.assertTrue(term.read_until(b"logged in as root"), term.seen)
        self.assertTrue(echo_on(term.master), "echo was not turned back on")
        self.assertEqual(term.exit_code(), 0)
        self.assertNotIn(self.server.root_token.encode(), term.seen)
        with open(token_file) as f:
            self.assertEqual(f.read().strip(), self.server.root_token)
        self.assertEqual(stat.S_IMODE(os.stat(token_file).st_mode), 0o600)

    def test_a_wrong_token_is_refused_and_nothing_is_saved(self):
        token_file = os.path.join(self.server.dir, "wrong.token")
        term = self.login(token_file)
        self.assertTrue(term.read_until(b"Token: "), term.seen)
        self.assertTrue(term.wait_until_echo_off())
        wrong = "mvt_" + "0" * 40
        term.type(wrong)
        self.assertEqual(term.exit_code(), 4, term.seen)
        self.assertNotIn(wrong.encode(), term.seen)
        self.assertFalse(os.path.exists(token_file))


class UnsealOnATerminal(unittest.TestCase):
    """`mvault operator unseal` on a terminal: it prompts, turns echo off, so
    the unseal key typed never appears, and prints the progress."""

    def setUp(self):
        import shutil
        import subprocess
        import tempfile
        daemon = os.path.join(BUILD, "server", "modelvaultd")
        self.dir = tempfile.mkdtemp(prefix="mv-unseal-pty-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        data = os.path.join(self.dir, "data")
        init = subprocess.run([daemon, "init", "--data-dir", data, "--key-shares", "3",
                               "--key-threshold", "2"], capture_output=True, text=True,
                              check=True)
        self.keys = init.stdout.split()[:3]
        self.proc = subprocess.Popen([daemon, "serve", "--data-dir", data, "--listen",
                                      "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self.proc.wait, 60)
        self.addCleanup(self.proc.terminate)
        self.address = self.proc.stdout.readline().split()[-1]
        self.proc.stdout.close()

    def test_the_key_typed_is_not_echoed_and_the_progress_is_printed(self):
        term = Terminal("--addr", self.address, "operator", "unseal")
        self.assertTrue(term.read_until(b"Unseal key"), term.seen)
        self.assertTrue(term.wait_until_echo_off(), "echo stayed on at the prompt")
        term.type(self.keys[1])
        self.assertTrue(term.read_until(b"unseal progress: 1 of 2"), term.seen)
        self.assertTrue(echo_on(term.master), "echo was not turned back on")
        self.assertEqual(term.exit_code(), 0)
        self.assertNotIn(self.keys[1].encode(), term.seen)


if __name__ == "__main__":
    unittest.main(verbosity=2)
