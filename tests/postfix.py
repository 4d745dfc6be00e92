"""A private, real Postfix on loopback for integration tests.

Everything lives under one directory (a pytest `tmp_path`): main.cf and master.cf in
`etc/`, the queue in `spool/`, Postfix's own data (master.lock) in `data/`, and the mail
log in `maillog`. Nothing under /etc/postfix, /var/spool/postfix or /var/lib/postfix is
read for configuration or written, so a system Postfix (running or not) is never touched.

How it runs, and why:

* `postfix -c DIR start-fg`. As root, Postfix accepts any `-c` directory: the
  `alternate_config_directories` check only applies to callers that are not root (or run
  a set-gid command unprivileged), so /etc/postfix/main.cf needs no change. `start-fg`
  runs the same integrity steps as `postfix start` (`post-install create-missing` builds
  the queue directories with their owners and modes, `postsuper` checks the queue files)
  and then `master -s` in the foreground. The master makes itself a session leader, so
  killing our child would not reach it: `stop` sends SIGTERM to the pid in
  spool/pid/master.pid (what `postfix stop` does), and the master passes it on to its
  process group.
* Logging goes to `maillog_file` through the `postlog` service (postlogd), so no syslog
  daemon is needed. `maillog_file_prefixes` must allow the path, or postlogd refuses it.
* Every Postfix daemon chdirs into the queue directory, so `stop` finds leftovers by their
  /proc/PID/cwd and kills them: no process survives a test, whatever state it ended in.
  The internal sockets are relative to that directory (private/..., public/...), so the
  length of the test's directory does not hit the 108-byte unix socket path limit.
* No DNS: relayhost is an address literal in brackets, `smtp_dns_support_level=disabled`,
  `smtp_host_lookup=native`, and `myhostname` is set so Postfix never asks for one.
* Tests wait in seconds, not minutes: queue runs and retries every second, `in_flow_delay`
  and `smtpd_error_sleep_time` are 0 (their 1s defaults would slow every burst).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

POSTLOG = "postlog   unix-dgram n  -       n       -       1       postlogd"

# The services a relay-only Postfix needs; chroot is off (column 5) so no files must be
# copied into the queue directory. `inet` services are added per instance.
MASTER_CF = f"""\
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
{POSTLOG}
"""

QUEUES = frozenset({"maildrop", "incoming", "active", "deferred", "hold", "corrupt"})


class Postfix:
    """A private Postfix (master in the foreground via `postfix start-fg`) for one test.

    smtpd listens on 127.0.0.1:`smtpd_port` and relays every message from loopback to
    [127.0.0.1]:`relay_port`; nothing is delivered locally. With `milter`, smtpd (and
    sendmail/pickup) use it, and an unreachable milter means 4xx (tempfail). With
    `reinject_port`, a second smtpd without milters listens there: the path for messages
    that were held and are released into the mail stream again.
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
        self.main_cf = self._main_cf(milter, extra_main_cf or {})
        self._foreground: asyncio.subprocess.Process | None = None

    def _main_cf(self, milter: str | None, extra: dict[str, str]) -> dict[str, str]:
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
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
        if milter is not None:
            settings |= {
                "smtpd_milters": milter,
                "non_smtpd_milters": milter,
                "milter_default_action": "tempfail",
                "milter_protocol": "6",
            }
        settings |= extra
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
            raise RuntimeError("a private Postfix needs root (mail_owner/setgid_group)")
        postfix = shutil.which("postfix") or "/usr/sbin/postfix"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        shutil.chown(self.data_dir, "postfix", "postfix")  # data_directory: mail_owner
        (self.config_dir / "main.cf").write_text(
            "".join(f"{name} = {value}\n" for name, value in self.main_cf.items())
        )
        (self.config_dir / "master.cf").write_text(self._master_cf())
        self._foreground = await asyncio.create_subprocess_exec(
            postfix,
            "-c",
            str(self.config_dir),
            "start-fg",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
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
        deadline = time.monotonic() + within
        while True:
            process = self._foreground
            if process is None or process.returncode is not None:
                output = ""
                if process is not None and process.stdout is not None:
                    output = (await process.stdout.read()).decode(errors="replace")
                raise RuntimeError(f"postfix start-fg exited: {output}\n{self.log()}")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no smtpd on port {port}:\n{self.log()}") from None
                await asyncio.sleep(0.05)
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
        """SIGTERM the master (it signals its children), then kill whatever still runs in
        our queue directory. Idempotent; safe after a failed start."""
        pid = self._master_pid()
        if pid is not None and pid in self._processes():  # not a stale pid file
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        process, self._foreground = self._foreground, None
        if process is not None:
            if pid is None:  # still in start-fg's checks: stop them before the master
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.communicate(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        await self._reap(grace=1.0)

    async def _reap(self, grace: float) -> None:
        """Wait `grace` seconds for daemons to follow the master's SIGTERM, then SIGKILL."""
        for _ in range(int(grace / 0.02)):
            if not self._processes():
                return
            await asyncio.sleep(0.02)
        deadline = time.monotonic() + 5
        while leftovers := self._processes():
            if time.monotonic() > deadline:
                raise RuntimeError(f"postfix processes survive SIGKILL: {leftovers}")
            for leftover in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(leftover, signal.SIGKILL)
            await asyncio.sleep(0.02)

    def _master_pid(self) -> int | None:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _processes(self) -> list[int]:
        """Processes whose working directory is our queue: the master and its daemons."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if Path(os.readlink(entry / "cwd")) == self.queue_dir:
                    found.append(int(entry.name))
        return found

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
        """Queue IDs in one queue ("hold", "deferred", ...), read from the queue directory
        (no showq round trip; `deferred` is hashed into subdirectories)."""
        if queue not in QUEUES:
            raise ValueError(f"unknown queue {queue!r}")
        root = self.queue_dir / queue
        return sorted(path.name for path in root.rglob("*") if path.is_file())

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
