"""Issue 26: kill -9 at every stage of a firmware install. Afterwards the service, started
again through scripts/ota-launch.sh as systemd would, serves the old release or the new
one (GET /api/version), never neither; no temporary stays, no release folder is
half-made, `current`/`previous` name whole releases and the state files parse.

The kill points, each deterministic and replayable (OTA_CRASH_SEED picks the subset):
- inside device-app (host): strace's `-e inject=SYSCALL:signal=SIGKILL:when=N` kills it
  on entering its Nth call of SYSCALL, for every fsync, rename, symlink, mkdir, unlink and
  rmdir of the upload, its checks and install (run 0), and of the new release's first
  start and confirmation (run 1), plus seeded writes of the streamed image;
- inside device-app (every board; under qemu-user strace cannot trace the app): the
  whole service killed as soon as the install root shows a stage (the image at a seeded
  size, whole, its release folder assembled, renamed in, `previous` or `current`
  swapped, the confirmation's temporary, the marker), and at seeded offsets through the
  upload and install;
- in the launcher (every board): after each of its file commands (mv, sync, ln, rm) the
  launcher and its app are killed together (kill -9 of the process group, as systemd
  kills a unit's cgroup), both while it counts a start and while it rolls back.

OTA_CRASH_KILLS caps the kills (a seeded sample of the plan, each stage in it; default 80 on
the host, 10 on ARM boards under qemu, where a kill and restart take about 6 s: `make
test`'s share, 100 kills over the three boards); `make crash-test` runs the whole plan (OTA_CRASH_KILLS=0); OTA_CRASH_STAGE=WORDS keeps the stages whose name has
WORDS, OTA_CRASH_VERBOSE=1 prints each kill. And with strace (host): the order of the syncs that
makes each rename survive a power cut, where kill -9 alone (the page cache survives it)
cannot show it, for device-app's install and confirmation and for the launcher's
rollback."""
import collections
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import threading
import time

import pytest
from conftest import BOARD, RUNNER, SLOW, RawClient, device_login, device_record
from test_ota import LAUNCHER, STARTS, api_version, app_image, release_id, sign
from test_ota import keys as ota_keys  # noqa: F401 (the fixture: the signing keys, made for the test)

SEED = int(os.environ.get("OTA_CRASH_SEED", str(int(time.time()) % 100_000)))
KILLS = int(os.environ.get("OTA_CRASH_KILLS", "80" if not RUNNER else "10"))   # 0: the whole plan
STRACE = not RUNNER and shutil.which("strace") is not None
FILE_CALLS = ("fsync", "fdatasync", "rename", "renameat", "renameat2", "symlink", "symlinkat", "mkdir", "mkdirat",
              "unlink", "unlinkat", "rmdir")
TEMPORARY = re.compile(r"(^\..*\.[0-9a-f]{8}\.part$)|(\.tmp$)")


class Case:
    """An install root with `old` as its confirmed release (as the bundle installs it),
    the signed `new` image to install, and device-app's data folder."""

    def __init__(self, tmp, key_folder, old, new):
        self.tmp, self.keys, self.old, self.new = tmp, key_folder, old, new
        self.images = {release_id(old): old, release_id(new): new}
        self.root, self.data = tmp / "opt", tmp / "data"
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.data, ignore_errors=True)
        self.place(old)
        os.symlink(f"releases/{release_id(old)}", self.root / "current")
        (self.root / "state").mkdir()
        (self.root / "state" / f"{release_id(old)}.confirmed").write_text("")
        self.data.mkdir()
        (self.data / "provisioned").write_text(device_record())

    def place(self, image):
        folder = self.root / "releases" / release_id(image)
        folder.mkdir(parents=True)
        (folder / "device-app").write_bytes(image)
        os.chmod(folder / "device-app", 0o755)

    def installed(self, starts):
        """The new release installed and current, not confirmed, after `starts` starts."""
        self.place(self.new)
        os.symlink(f"releases/{release_id(self.old)}", self.root / "previous")
        os.replace(self.root / "current", self.root / "current.x")
        os.symlink(f"releases/{release_id(self.new)}", self.root / "current")
        os.unlink(self.root / "current.x")
        if starts:
            (self.root / "state" / f"{release_id(self.new)}.starts").write_text(f"{starts}\n")


class Start:
    """One start of the service: ota-launch.sh in a process group of its own (a unit's
    cgroup, which systemd kills whole), its output read in the background."""

    def __init__(self, case, runner=None, path=None, traced=()):
        env = {**os.environ, "OTA_RUNNER": " ".join(RUNNER if runner is None else runner),
               "OTA_STARTS": str(STARTS), "OTA_CONFIRM_SECONDS": str(int(20 * SLOW))}
        if path:
            env["PATH"] = f"{path}:{env['PATH']}"
        self.proc = subprocess.Popen(
            [*traced, "sh", LAUNCHER, str(case.root), "device-app", "--listen", "http://127.0.0.1:0", "--dir", str(case.data),
             "--password-file", str(case.data / "provisioned"), "--sntp", "none", "--ota-root", str(case.root),
             "--ota-key", str(case.keys / "signer.pub")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.url, self.output = None, []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            self.output.append(line)
            if m := re.match(r"listening on (\S+)", line):
                self.url = m.group(1)

    def listening(self, timeout=20):
        """True once the app listens; False if the start ended first."""
        deadline = time.time() + timeout * SLOW
        while self.url is None and self.proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        return self.url is not None

    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    def connect(self, i=0, timeout=10):
        import socket
        return socket.create_connection(("127.0.0.1", self.port()), timeout=timeout * SLOW)

    def ended(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self):
        """kill -9 of the whole service (the launcher, the app, qemu or strace)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.thread.join(timeout=5)
        self.proc.stdout.close()


def upload(s, case):
    """POST /api/ota with the new image; True for a 200 (None when the kill came first)."""
    sha, signature = case.signed
    try:
        c = RawClient(s.connect())
        c.send((f"POST /api/ota HTTP/1.1\r\nHost: 127.0.0.1:{s.port()}\r\nOrigin: http://127.0.0.1:{s.port()}\r\n"
                f"Cookie: {s.cookie}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(case.new)}\r\nX-Ota-Sha256: {sha}\r\nX-Ota-Signature: {signature}\r\n\r\n").encode()
               + case.new)
        answer = c.response(timeout=30)
        c.close()
        return answer is not None and answer[0] == 200
    except OSError:
        return None


def serve_and_upload(s, case):
    """Logs in and uploads; what a kill midway interrupts is ignored."""
    try:
        if s.listening():
            s.cookie = device_login(s)
            upload(s, case)
    except (OSError, AssertionError, TypeError):
        pass


def first_request(s, case=None):
    """The new release's first served request (it confirms itself on it)."""
    try:
        if s.listening():
            s.cookie = device_login(s)
            api_version(s)
    except (OSError, AssertionError, TypeError):
        pass


def recover(case):
    """Starts the service again, as Restart=always would, until a start answers; its
    /api/version. Fails when no release comes up within K + 2 starts."""
    for attempt in range(STARTS + 2):
        s = Start(case)
        try:
            if s.listening(30):
                s.cookie = device_login(s)
                return api_version(s), attempt + 1
            s.ended(10 * SLOW)
        finally:
            s.kill()
    pytest.fail("neither release starts after the kill:\n" + "".join(s.output[-15:]))


def check_layout(case, answered):
    """What a user (and the next update) relies on, after the kill and the restart."""
    root = case.root
    ids = set(case.images)
    assert answered["release"] in ids, answered
    assert os.readlink(root / "current") == f"releases/{answered['release']}"
    for link in ("current", "previous"):
        if os.path.lexists(root / link):
            target = os.readlink(root / link)
            assert target.startswith("releases/") and target[9:] in ids, (link, target)
    if os.path.lexists(root / "previous"):   # after a rollback the launcher removes it
        assert os.readlink(root / "previous") != os.readlink(root / "current"), "previous names the running release"
    for rid in os.listdir(root / "releases"):
        assert rid in ids, f"a release folder under another name: {rid}"
        assert os.listdir(root / "releases" / rid) == ["device-app"], rid
        binary = root / "releases" / rid / "device-app"
        assert binary.read_bytes() == case.images[rid], f"release {rid}: its binary is not whole"
        assert os.stat(binary).st_mode & stat.S_IXUSR
    assert not (root / "staging").exists() or os.listdir(root / "staging") == [], "staging not cleaned"
    leftovers = [f for d in (root, root / "state") for f in os.listdir(d) if TEMPORARY.search(f)]
    assert leftovers == [], leftovers
    if (root / "state" / f"{release_id(case.new)}.bad").exists() and answered["release"] == release_id(case.old):
        assert answered["rollback"] and release_id(case.new) in answered["rollback"], "a rollback not reported"
    for f in os.listdir(root / "state"):
        text = (root / "state" / f).read_text()
        kind = f.rsplit(".", 1)[-1] if "." in f else f
        assert kind in ("starts", "confirmed", "bad", "rollback"), f
        assert f == "rollback" or f.rsplit(".", 1)[0] in ids, f
        if kind == "starts":
            assert re.fullmatch(r"\d+\n", text), (f, text)
        elif kind == "confirmed":
            assert text == "", (f, text)
        else:
            assert text.endswith("\n") and len(text) > 1, (f, text)


# The plan: every kill point, labelled with the stage it falls in.
Kill = collections.namedtuple("Kill", "stage how arg")


def stage_of(call, args, root, rid):
    """Which stage of the install a traced call belongs to, from its paths (strace -y
    shows a descriptor's path as FD<PATH>)."""
    first = args.split(", ")[0]
    if call.startswith("rename") and "/staging/" + rid + "/" in args:
        return "install: the image moved into its release folder"
    if call.startswith("rename") and "/releases/" + rid in args:
        return "install: the release folder renamed in"
    if "/staging/.image." in first:
        return "upload: the image streamed to staging" if call == "write" else "end: checks, then the image's fsync"
    if "/staging/" + rid in first:
        return "install: the release folder assembled"
    if first.endswith(("/releases>", "/staging>")):
        return "install: folders synced"
    if "current" in first or "previous" in first or first.endswith(f"{root}>"):
        return "install: current/previous swapped"
    if call.startswith("mkdir") and first.startswith(f'"{root}'):
        return "begin: the layout's folders"
    if "/state" in first:
        return "confirm: the marker written"
    return "start: the app's own files"


def traced_calls(case, log, rid):
    """(call, N, stage) of device-app's file calls in a clean trace, in order; N counts
    every call of that name (failed ones and writes to other files too), as strace's
    `when=N` does."""
    calls, seen = [], collections.Counter()
    for line in open(log).read().splitlines():
        m = re.match(r"(\d+\s+)?(\w+)\((.*)", line)
        if m and m[2] in FILE_CALLS + ("write",):
            seen[m[2]] += 1
            if m[2] == "write" and "/staging/.image." not in m[3]:
                continue   # the log's lines, the answers
            args = re.sub(r"\)\s+= .*$", "", m[3])
            args = args.split(", ", 1)[1] if m[2].startswith("symlink") else args   # the link, not its target
            calls.append((m[2], seen[m[2]], stage_of(m[2], args, str(case.root), rid)))
    return calls


def clean_traces(case, tmp):
    """A whole update (upload, install, the new release's first start and confirmation)
    with device-app traced: the calls each run makes."""
    logs = []
    trace = ",".join(FILE_CALLS + ("write",))
    for run in (0, 1):
        log = tmp / f"clean-{run}.log"
        s = Start(case, runner=["strace", "-qq", "-y", "-e", f"trace={trace}", "-o", str(log)])
        (serve_and_upload if run == 0 else first_request)(s, case)
        if run == 0:
            assert s.ended(20 * SLOW), "device-app did not restart after the install"
        s.kill()
        logs.append(traced_calls(case, log, release_id(case.new)))
    assert os.path.exists(case.root / "state" / f"{release_id(case.new)}.confirmed")
    return logs


SHIM = """#!/bin/sh
# A file command of the launcher: counted, run, and at the count in OTA_KILL_AFTER the
# launcher's whole process group is killed (kill -9), as systemd kills a unit.
n=$(( $(cat "$OTA_KILL_COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$OTA_KILL_COUNT"
PATH=$OTA_REAL_PATH "$(basename "$0")" "$@"
rc=$?
if [ "$n" -eq "${OTA_KILL_AFTER:-0}" ]; then kill -9 0; fi
exit $rc
"""


def shims(tmp):
    folder = tmp / "shims"
    if not folder.exists():
        folder.mkdir()
        for name in ("mv", "sync", "ln", "rm"):
            (folder / name).write_text(SHIM)
            os.chmod(folder / name, 0o755)
    return str(folder)


def launcher_commands(case, tmp, starts):
    """How many file commands the launcher runs before the app listens."""
    case.installed(starts)
    count = tmp / "count"
    count.unlink(missing_ok=True)
    os.environ.update(OTA_KILL_COUNT=str(count), OTA_REAL_PATH=os.environ["PATH"], OTA_KILL_AFTER="0")
    s = Start(case, path=shims(tmp))
    assert s.listening(30), "".join(s.output)
    s.kill()
    return int(count.read_text())


def plan(case, tmp):
    kills = []
    rng = random.Random(SEED)
    for starts, stage in ((0, "launcher: a start counted"), (STARTS, "launcher: the rollback swap")):
        Case.__init__(case, tmp, case.keys, case.old, case.new)
        for n in range(1, launcher_commands(case, tmp, starts) + 1):
            kills.append(Kill(stage, "launcher", (starts, n)))
    if STRACE:
        Case.__init__(case, tmp, case.keys, case.old, case.new)
        for run, calls in enumerate(clean_traces(case, tmp)):
            writes = [i for i, (call, _, _) in enumerate(calls) if call == "write"]
            sampled = set(rng.sample(writes, min(30, len(writes)))) | ({writes[-1]} if writes else set())
            for i, (call, n, stage) in enumerate(calls):
                if call != "write" or i in sampled:
                    kills.append(Kill(stage, "strace", (run, call, n)))
    for fraction in sorted(rng.random() for _ in range(5)):
        kills.append(Kill("upload: the image streamed to staging", "watch", (0, "image", fraction)))
    for sight, stage in WATCHED:
        kills += [Kill(stage, "watch", (1 if "confirm" in stage else 0, sight, None))] * 2
    slices = 16 if RUNNER else 24   # one kill in each of equal slices of the upload and install
    kills += [Kill("upload and install, by time", "time", (k, slices)) for k in range(slices)]
    return kills


# What the install root shows at each stage, and the stage: a "watch" kill comes as soon
# as the test sees it (polling every half millisecond; under qemu-user the app is slow
# enough that this lands within the stage or just after it).
WATCHED = [("image whole", "end: checks, then the image's fsync"),
           ("assembled", "install: the release folder assembled"),
           ("released", "install: the release folder renamed in"),
           ("previous", "install: current/previous swapped"),
           ("current", "install: current/previous swapped"),
           ("marker", "confirm: the marker written"),
           ("confirmed", "confirm: the marker written")]


def seen(case, sight, fraction):
    root, rid = case.root, release_id(case.new)
    try:
        if sight.startswith("image"):
            images = [f for f in os.listdir(root / "staging") if f.startswith(".image.")]
            size = os.stat(root / "staging" / images[0]).st_size if images else -1
            return size >= (len(case.new) if fraction is None else fraction * len(case.new))
        if sight == "assembled":
            return (root / "staging" / rid).exists()
        if sight == "released":
            return (root / "releases" / rid).exists()
        if sight == "previous":
            return os.path.lexists(root / "previous")
        if sight == "current":
            return os.readlink(root / "current") == f"releases/{rid}"
        if sight == "marker":
            return any(f.startswith(f".{rid}.confirmed.") for f in os.listdir(root / "state"))
        return (root / "state" / f"{rid}.confirmed").exists()
    except (FileNotFoundError, IndexError):
        return False


def kill_when_seen(s, case, sight, fraction, timeout):
    """Kills the start as soon as the install root shows `sight`; whether it was alive."""
    deadline = time.time() + timeout
    while time.time() < deadline and s.proc.poll() is None:
        if seen(case, sight, fraction):
            landed = s.proc.poll() is None
            s.kill()
            return landed
        time.sleep(0.0005)
    s.kill()
    return False


def run_kill(case, tmp, kill, window):
    """Runs the update with `kill` armed; whether the kill landed."""
    how, arg = kill.how, kill.arg
    if how == "launcher":
        starts, n = arg
        case.installed(starts)
        (tmp / "count").unlink(missing_ok=True)
        os.environ.update(OTA_KILL_COUNT=str(tmp / "count"), OTA_REAL_PATH=os.environ["PATH"], OTA_KILL_AFTER=str(n))
        s = Start(case, path=shims(tmp))
        landed = s.ended(20 * SLOW) and s.proc.returncode == -signal.SIGKILL
        s.kill()
        return landed
    if how == "strace":
        run, call, n = arg
        log = tmp / "inject.log"
        injected = ["strace", "-q", "-o", str(log), "-e", f"trace={call}", "-e", f"inject={call}:signal=SIGKILL:when={n}"]
        if run == 1:
            s = Start(case)
            serve_and_upload(s, case)
            s.ended(20 * SLOW)
            s.kill()
        s = Start(case, runner=injected)
        (serve_and_upload if run == 0 else first_request)(s, case)
        s.ended(5 * SLOW)
        s.kill()
        return "killed by SIGKILL" in log.read_text()
    if how == "watch":
        run, sight, fraction = arg
        if run == 1:   # the update installed whole, then its first start watched
            s = Start(case)
            serve_and_upload(s, case)
            s.ended(20 * SLOW)
            s.kill()
        s = Start(case)
        action = threading.Thread(target=serve_and_upload if run == 0 else first_request, args=(s, case))
        action.start()
        landed = kill_when_seen(s, case, sight, fraction, 30 * SLOW)
        action.join()
        return landed
    k, slices = arg
    s = Start(case)
    if not s.listening():
        s.kill()
        return False
    s.cookie = device_login(s)
    t = threading.Thread(target=upload, args=(s, case))
    t.start()
    time.sleep(window * (k + random.Random(SEED + k).random()) / slices)
    landed = s.proc.poll() is None
    s.kill()
    t.join()
    return landed


def test_kill_9_at_every_stage_of_an_update_leaves_a_release_that_starts(tmp_path, ota_keys):  # noqa: F811 (the fixture)
    keys = ota_keys
    old, new = app_image(tag=b"old"), app_image(tag=b"new")
    case = Case(tmp_path, keys, old, new)
    case.signed = sign(keys, new)
    began = time.monotonic()
    kills = plan(case, tmp_path)
    # The time window: how long a whole upload and install takes, with a margin.
    Case.__init__(case, tmp_path, keys, old, new)
    s = Start(case)
    assert s.listening()
    s.cookie = device_login(s)
    started = time.monotonic()
    assert upload(s, case)
    window = (time.monotonic() - started) * 1.2   # to the 200, which comes after the install
    assert s.ended(20 * SLOW)
    s.kill()
    if os.environ.get("OTA_CRASH_STAGE"):   # replaying one stage: its kills alone
        kills = [k for k in kills if os.environ["OTA_CRASH_STAGE"] in k.stage]
    if KILLS and len(kills) > KILLS:   # a seeded sample, every stage kept in it
        rng = random.Random(SEED)
        by_stage = collections.defaultdict(list)
        for k in kills:
            by_stage[k.stage].append(k)
        chosen = [rng.choice(group) for group in by_stage.values()]
        rest = [k for k in kills if k not in chosen]
        kills = chosen + rng.sample(rest, max(0, KILLS - len(chosen)))
    print(f"\n{BOARD}: OTA_CRASH_SEED={SEED}, {len(kills)} kill points (planned in {time.monotonic() - began:.0f} s)")
    figures = collections.defaultdict(collections.Counter)
    began = time.monotonic()
    for i, kill in enumerate(kills):
        Case.__init__(case, tmp_path, keys, old, new)
        landed = run_kill(case, tmp_path, kill, window)
        answered, starts = recover(case)
        try:
            check_layout(case, answered)
        except AssertionError as e:
            raise AssertionError(f"kill {i} {kill} (seed {SEED}): {e}") from e
        outcome = "old" if answered["release"] == release_id(old) else "new"
        if os.environ.get("OTA_CRASH_VERBOSE"):
            print(f"  kill {i}: {kill.stage} {kill.how} {kill.arg}: {'landed' if landed else 'missed'}, {outcome}")
        figures[kill.stage]["kills" if landed else "missed"] += 1
        figures[kill.stage][outcome] += 1
        figures[kill.stage][f"{starts} start{'s' if starts > 1 else ''}"] += 1
    took = time.monotonic() - began
    for stage, counts in sorted(figures.items()):
        print(f"  {stage}: {dict(counts)}")
    landed = sum(c["kills"] for c in figures.values())
    print(f"{BOARD}: {landed} kills landed of {len(kills)} in {took:.0f} s; never neither")
    assert landed >= len(kills) * 0.8, figures   # the kill points are where the calls are


@pytest.mark.skipif(not STRACE, reason="strace on the host binary")
def test_each_install_step_is_synced_before_the_next_is_visible(tmp_path, ota_keys):  # noqa: F811 (the fixture)
    """kill -9 keeps the page cache, so the campaign above cannot show that the syncs
    are there; the order of the calls does: the image fsynced before its rename, the
    release folder synced before and after its rename, `current` swapped then its folder
    synced before the 200; the confirmation marker fsynced before its rename."""
    keys = ota_keys
    old, new = app_image(tag=b"old"), app_image(tag=b"new")
    case = Case(tmp_path, keys, old, new)
    case.signed = sign(keys, new)
    rid = release_id(new)
    log = tmp_path / "order.log"
    calls = "openat,write,fsync,fdatasync,rename,renameat,renameat2,symlink,symlinkat,mkdir,sendto,sendmsg,writev"
    s = Start(case, runner=["strace", "-qq", "-y", "-e", f"trace={calls}", "-o", str(log)])
    assert s.listening()
    s.cookie = device_login(s)
    assert upload(s, case)
    s.ended(20 * SLOW)
    s.kill()
    s = Start(case, runner=["strace", "-qq", "-y", "-e", f"trace={calls}", "-o", str(tmp_path / "confirm.log")])
    first_request(s)
    s.kill()
    lines = log.read_text().splitlines() + ["--- run 1 ---"] + (tmp_path / "confirm.log").read_text().splitlines()
    root = str(case.root)

    def at(pattern, after=0):
        return next(i for i, line in enumerate(lines) if i >= after and re.search(pattern, line))
    image_sync = at(r"fsync\(\d+<" + re.escape(root) + r"/staging/\.image\.[0-9a-f]{8}\.part>\) = 0")
    into_assembly = at(r"rename\w*\(.*/staging/\.image\..*/staging/" + rid + "/device-app", image_sync)
    assembly_sync = at(r"fsync\(\d+<" + re.escape(root) + "/staging/" + rid + r">\) = 0", into_assembly)
    released = at(r"rename\w*\(.*/staging/" + rid + r"\".*/releases/" + rid + '"', assembly_sync)
    releases_sync = at(r"fsync\(\d+<" + re.escape(root) + r"/releases>\) = 0", released)
    current = at(r"rename\w*\(.*/current\.tmp\".*/current\"", releases_sync)
    root_sync = at(r"fsync\(\d+<" + re.escape(root) + r">\) = 0", current)
    answered = at(r"HTTP/1.1 200", root_sync)
    assert image_sync < into_assembly < assembly_sync < released < releases_sync < current < root_sync < answered
    run1 = lines.index("--- run 1 ---")
    marker = at(r"fsync\(\d+<" + re.escape(root) + r"/state/\." + rid + r"\.confirmed\.[0-9a-f]{8}\.part>\) = 0", run1)
    renamed = at(r"rename\w*\(.*\.confirmed\.[0-9a-f]{8}\.part\".*/state/" + rid + r"\.confirmed\"", marker)
    state_sync = at(r"fsync\(\d+<" + re.escape(root) + r"/state>\) = 0", renamed)
    assert marker < renamed < state_sync


@pytest.mark.skipif(not STRACE, reason="strace on the host")
def test_the_launcher_syncs_each_file_before_its_rename_and_the_folder_after(tmp_path, ota_keys):  # noqa: F811 (the fixture)
    """The same for the launcher's own writes (its `sync FILE` and `sync DIR`), as it
    gives a release up: the bad marker and the report fsynced before their renames,
    `current`'s folder fsynced after the swap, all before the old release starts."""
    old, new = app_image(tag=b"old"), app_image(tag=b"new")
    case = Case(tmp_path, ota_keys, old, new)
    case.installed(STARTS)
    log = tmp_path / "launcher.log"
    s = Start(case, traced=["strace", "-f", "-qq", "-y", "-e", "trace=fsync,rename,renameat,renameat2,execve",
                            "-o", str(log)])
    assert s.listening()
    s.kill()
    lines = log.read_text().splitlines()
    root, rid = str(case.root), release_id(new)

    def at(pattern, after=0):
        return next(i for i, line in enumerate(lines) if i >= after and re.search(pattern, line))
    for name in (f"{rid}.bad", "rollback"):
        synced = at(r"fsync\(\d+<" + re.escape(f"{root}/state/{name}.tmp") + r">\) = 0")
        renamed = at(r"rename\w*\(.*" + re.escape(f'{name}.tmp"') + r".*" + re.escape(f'/state/{name}"'), synced)
        at(r"fsync\(\d+<" + re.escape(f"{root}/state") + r">\) = 0", renamed)
    swapped = at(r"rename\w*\(.*/current\.tmp\".*/current\"")
    root_synced = at(r"fsync\(\d+<" + re.escape(root) + r">\) = 0", swapped)
    started = at(r"execve\(\"[^\"]*device-app\"", root_synced)
    assert swapped < root_synced < started
