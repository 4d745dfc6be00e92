"""A private, real Postfix on loopback for integration tests.

Everything lives under one directory (a pytest `tmp_path`): main.cf and master.cf in
`etc/`, the queue in `spool/`, Postfix's data directory (master.lock) in `data/`, the mail
log in `maillog`, and whatever `postfix start-fg` prints in `start-fg.out`. Nothing under
/etc/postfix, /var/spool/postfix or /var/lib/postfix is written, so a system Postfix,
running or not, is never touched.

How it runs, and why:

* `postfix -c DIR start-fg`. As root, Postfix accepts any `-c` directory: the
  `alternate_config_directories` check only applies to callers that are not root, so
  /etc/postfix/main.cf needs no change. `start-fg` does what `postfix start` does first
  (`post-install create-missing` makes the queue directories with the owners and modes
  of /etc/postfix/postfix-files, `postsuper` checks the queue files), then runs
  `master -s` in the foreground of its shell.
* The master makes itself a session leader, and on SIGTERM (what `postfix stop` sends)
  it signals its process group and exits at once, orphaning its dying children. So the
  whole thing runs under a tiny Python "reaper" that is a child subreaper
  (PR_SET_CHILD_SUBREAPER): the orphans become its children, it reaps them, and it exits
  only when no Postfix process is left. `stop` = SIGTERM the master, wait for the reaper.
  Without it the zombies would be left to PID 1, which in a container may never reap.
* Logging goes to `maillog_file` through the `postlog` service (postlogd), so no syslog
  daemon is needed; `maillog_file_prefixes` must allow the path or postlogd refuses it.
* main.cf is back-dated after writing it: Postfix rereads a configuration file that
  changed within the last second or two (it may be mid-edit), which adds ~1.8 s to the
  start and to every postqueue/postsuper run right after it.
* The master opens data_directory/master.lock, and daemons the postlog socket, as the
  postfix user by absolute path, so the directories above them need o+x; pytest makes its
  temporary directories 0700.
* Unix socket paths have a 108-byte limit. Daemons chdir into the queue directory and
  use relative paths, but every logging process connects to QUEUE/public/postlog by its
  absolute path (and dies silently, with no log, if that is too long). So when the queue
  path is long, Postfix is given a short alias instead: a symlink /tmp/pfXXXX/q to it.
* That cwd also lets `stop` find and kill any straggler through /proc/PID/cwd.
* No DNS: relayhost is a bracketed address literal, `smtp_dns_support_level=disabled`,
  `smtp_host_lookup=native`, `smtpd_peername_lookup=no` (clients log as unknown[IP]),
  and `myhostname` is set so Postfix never looks one up.
* Tests wait seconds, not minutes: queue runs and retries every second, and
  `in_flow_delay`/`smtpd_error_sleep_time` are 0 (their 1 s defaults slow every burst).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import free_port, require_tool

# The services a relay-only Postfix needs. chroot (column 5) is off: nothing has to be
# copied into the queue directory. The `inet` services are added per instance.
MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# Runs `postfix start-fg` as a child subreaper (prctl 36): exits once every descendant,
# including the daemons the master leaves behind when it exits, has been reaped.
REAPER = """\
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
status = subprocess.call(sys.argv[1:])
while True:
    try:
        os.wait()
    except ChildProcessError:
        sys.exit(status)
"""

# QUEUE + "/public/postlog" must fit in sun_path (108 bytes with its NUL).
LONGEST_QUEUE_PATH = 108 - 1 - len("/public/postlog")

QUEUES = frozenset({"maildrop", "incoming", "active", "deferred", "hold", "corrupt"})


class Postfix:
    """A private Postfix (master in the foreground via `postfix start-fg`) for one test.

    smtpd listens on 127.0.0.1:`smtpd_port` and relays every message from loopback to
    [127.0.0.1]:`relay_port`; nothing is delivered locally. With `milter`, smtpd (and
    sendmail/pickup) use it, and an unreachable milter means 4xx (tempfail). With
    `reinject_port`, a second smtpd without milters listens there: the path for held
    messages that are released into the mail stream again.
    """

    def __init__(
        self,
        directory: Path,
        *,
        smtpd_port: int,
        relay_port: int,
        milter: str | None,
        extra_main_cf: dict[str, str] | None = None,
        reinject_port: int | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.config_dir = self.directory / "etc"
        self.queue_dir = self.directory / "spool"
        self.data_dir = self.directory / "data"
        self.maillog = self.directory / "maillog"
        self.smtpd_port = smtpd_port
        self.relay_port = relay_port
        self.reinject_port = reinject_port
        self.milter = milter
        self.extra_main_cf = extra_main_cf or {}
        self._alias: Path | None = None  # a short /tmp/pfXXXX holding a symlink to the queue
        self._reaper: asyncio.subprocess.Process | None = None

    def _main_cf(self, queue_path: Path) -> dict[str, str]:
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(queue_path),
            "data_directory": str(self.data_dir),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.directory),
            "myhostname": "postfix.test",
            "mydomain": "test",
            "myorigin": "$myhostname",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtpd_peername_lookup": "no",  # no reverse DNS per connection (unknown[IP])
            "relayhost": f"[127.0.0.1]:{self.relay_port}",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtp_connect_timeout": "2s",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "1s",
            "in_flow_delay": "0",
            "smtpd_error_sleep_time": "0",
        }
        if self.milter is not None:
            settings |= {
                "smtpd_milters": self.milter,
                "non_smtpd_milters": self.milter,
                "milter_default_action": "tempfail",
                "milter_protocol": "6",
            }
        settings |= self.extra_main_cf
        for name, value in settings.items():
            if "\n" in name or "\n" in value:
                raise ValueError(f"main.cf {name!r}: one line per setting")
        return settings

    def _master_cf(self) -> str:
        smtpd = f"127.0.0.1:{self.smtpd_port} inet n - n - - smtpd\n"
        if self.reinject_port is not None:
            smtpd += (
                f"127.0.0.1:{self.reinject_port} inet n - n - - smtpd\n"
                "  -o smtpd_milters=\n"
                "  -o syslog_name=postfix/reinject\n"
            )
        return smtpd + MASTER_CF

    async def start(self) -> None:
        """Write the configuration, start the master, return once smtpd greets on
        127.0.0.1:smtpd_port (and the re-injection port). Stops everything on failure."""
        if os.geteuid() != 0:
            raise RuntimeError("a private Postfix needs root (mail_owner, setgid_group)")
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)  # `postfix` chdirs here; post-install fills it
        self.data_dir.mkdir(exist_ok=True)
        shutil.chown(self.data_dir, "postfix", "postfix")
        _let_others_search(self.data_dir)
        queue_path = self.queue_dir
        if len(str(queue_path)) > LONGEST_QUEUE_PATH:
            # /tmp, not $TMPDIR: a long TMPDIR is what makes the queue path too long
            self._alias = Path(tempfile.mkdtemp(prefix="pf", dir="/tmp"))
            self._alias.chmod(0o711)
            queue_path = self._alias / "q"
            queue_path.symlink_to(self.queue_dir)
        settings = self._main_cf(queue_path)
        main_cf = "".join(f"{name} = {value}\n" for name, value in settings.items())
        for name, text in (("main.cf", main_cf), ("master.cf", self._master_cf())):
            path = self.config_dir / name
            path.write_text(text)
            past = time.time() - 60
            os.utime(path, (past, past))
        with (self.directory / "start-fg.out").open("ab") as output:
            self._reaper = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                REAPER,
                shutil.which("postfix") or "/usr/sbin/postfix",
                "-c",
                str(self.config_dir),
                "start-fg",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        try:
            for port in (self.smtpd_port, self.reinject_port):
                if port is not None:
                    await self._wait_for_greeting(port, within=30)
        except BaseException:
            await self.stop()
            raise

    async def _wait_for_greeting(self, port: int, within: float) -> None:
        """A 220 banner, not just a TCP accept: the master's listener exists before any
        smtpd can run. QUIT keeps the log free of "lost connection" lines."""
        deadline = time.monotonic() + within
        while True:
            if self._reaper is None or self._reaper.returncode is not None:
                output = (self.directory / "start-fg.out").read_text(errors="replace")
                log = self.log() or (
                    "(no maillog: an error before logging works goes to syslog, which is"
                    f" absent; try `postfix -c {self.config_dir} check` in a terminal)"
                )
                raise RuntimeError(f"postfix start-fg exited: {output}\n{log}")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no smtpd on port {port}:\n{self.log()}") from None
                await asyncio.sleep(0.02)
                continue
            try:
                banner = await asyncio.wait_for(reader.readline(), 10)
                if not banner.startswith(b"220 "):
                    raise RuntimeError(f"smtpd on port {port} greeted {banner!r}")
                writer.write(b"QUIT\r\n")
                await writer.drain()
                await asyncio.wait_for(reader.read(), 10)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            return

    async def stop(self) -> None:
        """SIGTERM the master (it signals its children) and wait until the reaper has
        reaped every Postfix process; SIGKILL what is left after 10 s. Idempotent, and
        safe after a failed start."""
        reaper, self._reaper = self._reaper, None
        pid = self._master_pid()
        master = pid is not None and pid in self._processes()  # not a stale pid file
        if pid is not None and master:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if reaper is not None:
            if not master:  # still in start-fg's checks: no master to stop yet
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(reaper.pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(reaper.wait(), 10)
            except TimeoutError:
                self._kill_leftovers()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(reaper.pid, signal.SIGKILL)
                await reaper.wait()
        for _ in range(250):
            if not self._kill_leftovers():
                if self._alias is not None:
                    shutil.rmtree(self._alias)  # the symlink only, not the queue
                    self._alias = None
                return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"postfix processes survive SIGKILL: {self._processes()}")

    def _master_pid(self) -> int | None:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _processes(self) -> list[int]:
        """Live processes whose working directory is our queue: the master, its daemons."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if Path(os.readlink(entry / "cwd")) == self.queue_dir:
                        found.append(int(entry.name))
        return found

    def _kill_leftovers(self) -> bool:
        leftovers = self._processes()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return bool(leftovers)

    def log(self) -> str:
        """The instance's mail log (postlogd writes it; empty before the first line)."""
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def problems(self) -> list[str]:
        """Log lines a test should not ignore: Postfix's warning/error/fatal/panic lines."""
        marks = (": warning: ", ": error: ", ": fatal: ", ": panic: ")
        return [line for line in self.log().splitlines() if any(m in line for m in marks)]

    async def flush(self) -> None:
        """`postqueue -f`: retry all deferred mail now, not at the next queue run."""
        await self._run("postqueue", "-c", str(self.config_dir), "-f")

    def queue_ids(self, queue: str) -> list[str]:
        """Queue IDs in one queue ("hold", "deferred", ...), read from the queue directory:
        no showq round trip, and `deferred` is hashed into subdirectories."""
        if queue not in QUEUES:
            raise ValueError(f"unknown queue {queue!r}")
        return sorted(path.name for path in (self.queue_dir / queue).rglob("*") if path.is_file())

    async def release_hold(self, queue_id: str | None = None) -> None:
        """`postsuper -H ID|ALL` moves held mail to the deferred queue; the flush after it
        sends it now instead of at the next queue run."""
        await self._run("postsuper", "-c", str(self.config_dir), "-H", queue_id or "ALL")
        await self.flush()

    async def _run(self, command: str, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            shutil.which(command) or f"/usr/sbin/{command}",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 30)
        if process.returncode != 0:
            raise RuntimeError(f"{command} {' '.join(args)}: {output.decode(errors='replace')}")


def _let_others_search(path: Path) -> None:
    """The master opens data_directory/master.lock as mail_owner, by absolute path: every
    directory above it must be searchable by the postfix user. pytest makes its temporary
    directories 0700, so add o+x (search, not read) where it is missing."""
    for directory in path.parents:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


@contextlib.asynccontextmanager
async def smtp_sink(*flags: str, dump_dir: Path | None = None) -> AsyncIterator[int]:
    """Postfix's smtp-sink on a free loopback port, with fault-injection flags."""
    binary = require_tool("smtp-sink")
    port = free_port()
    dump = ["-d", f"{dump_dir}/%M."] if dump_dir else []
    process = await asyncio.create_subprocess_exec(
        binary,
        "-u",
        "nobody",
        *dump,
        *flags,
        f"127.0.0.1:{port}",
        "64",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if process.returncode is not None:
                pytest.fail(f"smtp-sink {' '.join(flags)} exited with {process.returncode}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        yield port
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def smtp_source(
    port: int,
    *,
    messages: int,
    sessions: int,
    size: int | None = None,
    sender: str = "agent@acme.example",
    within: float = 600,
) -> float:
    """Postfix's smtp-source: `messages` (of `size` bytes) to maria@customer.test over
    `sessions` connections at once, a new one per message; the seconds it took. It is
    silent when every message got a 2xx; any exit status or output is an error."""
    started = time.perf_counter()
    length = ["-l", str(size)] if size else []
    process = await asyncio.create_subprocess_exec(
        require_tool("smtp-source"),
        "-s",
        str(sessions),
        "-m",
        str(messages),
        *length,
        "-f",
        sender,
        "-t",
        "maria@customer.test",
        f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), within)
    if process.returncode != 0 or output.strip():
        raise RuntimeError(f"smtp-source: {output.decode(errors='replace').strip()[:300]}")
    return time.perf_counter() - started
