"""The fixture's articles API behind PgBouncer in transaction mode (`?pgbouncer=true`).

Needs the `pgbouncer` binary (Debian: `apt-get install -y pgbouncer`; CI must install it) and
TEST_DATABASE_URL. Skipped, with the reason, when either is missing.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.faults import free_port
from tests.reliability.support import (
    ACCOUNTS,
    ARTICLES,
    READY,
    WRITER,
    PgDatabase,
    PgRole,
    assert_problem,
    client_for,
    rel_settings,
    running_app,
    scratch_database,
    wait_for_port,
)


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    debian = Path("/usr/sbin/pgbouncer")
    return str(debian) if debian.is_file() else None


@pytest.fixture(scope="module")
def bouncer_db(pg_role: PgRole) -> Iterator[PgDatabase]:
    if pgbouncer_binary() is None:
        pytest.skip("pgbouncer is not installed (CI: apt-get install -y pgbouncer)")
    with scratch_database(pg_role, "app_api_bouncer") as database:
        yield database


INI = """[databases]
{db.name} = host={db.host} port={db.port} dbname={db.name}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {workdir}/userlist.txt
pool_mode = transaction
; fewer server connections than the app's pool: clients really share them
default_pool_size = 4
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,options
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""


@dataclass(frozen=True)
class Bouncer:
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path

    def log(self) -> str:
        log = self.workdir / "pgbouncer.log"
        return log.read_text(errors="replace") if log.exists() else ""


@pytest.fixture(scope="module")
def bouncer(bouncer_db: PgDatabase) -> Iterator[Bouncer]:
    """PgBouncer (transaction pooling, SCRAM) on a free loopback port, in front of the database.

    Its files live in a fresh /tmp directory rather than tmp_path: pytest's base temp folder is
    private to root, and PgBouncer (as root) must switch to the postgres user to run.
    """
    binary = pgbouncer_binary()
    assert binary is not None
    workdir = Path(tempfile.mkdtemp(prefix="app-api-pgbouncer-"))
    port = free_port()
    (workdir / "userlist.txt").write_text(f'"{bouncer_db.role}" "{bouncer_db.password}"\n')
    ini = workdir / "pgbouncer.ini"
    ini.write_text(INI.format(db=bouncer_db, port=port, workdir=workdir))
    command = [binary, str(ini)]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it switches to postgres, which must own the files.
        account = pwd.getpwnam("postgres")
        for path in (workdir, *workdir.iterdir()):
            os.chown(path, account.pw_uid, account.pw_gid)
        command = [binary, "-u", "postgres", str(ini)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield Bouncer(process=process, port=port, workdir=workdir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
async def bouncer_url(bouncer: Bouncer, bouncer_db: PgDatabase) -> str:
    try:
        await wait_for_port(bouncer.port, seconds=10)
    except TimeoutError:
        pytest.fail(
            f"pgbouncer did not listen (exit code {bouncer.process.poll()}): {bouncer.log()}"
        )
    return bouncer_db.app_url(port=bouncer.port, query="pgbouncer=true")


@pytest.fixture(scope="module")
async def client(bouncer_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = rel_settings(ENVIRONMENT="staging", DATABASE_URL=bouncer_url)
    async with running_app(settings) as application, client_for(application) as http:
        yield http


@pytest.mark.slow
async def test_articles_flow_through_pgbouncer(
    client: httpx.AsyncClient, bouncer_db: PgDatabase
) -> None:
    await bouncer_db.truncate()
    assert (await client.get(READY)).status_code == 200

    account = await client.post(ACCOUNTS, json={"email": "bounced@example.com"}, headers=WRITER)
    assert account.status_code == 201, account.text
    author_id = account.json()["id"]
    created = []
    for n in range(5):
        body = {
            "title": f"Bounced {n}",
            "tags": ["pgb", f"n{n}"],
            "metadata": {"n": n},
            "price": f"{n}.50",
            "authorId": author_id,
        }
        response = await client.post(ARTICLES, json=body, headers=WRITER)
        assert response.status_code == 201, response.text
        created.append(response.json())
    assert [row["price"] for row in created] == [f"{n}.5" for n in range(5)]  # Prisma's Decimal

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 2, "orderBy": "createdAt"}
        if cursor:
            params["cursor"] = cursor
        listed = await client.get(ARTICLES, params=params, headers=WRITER)
        assert listed.status_code == 200, listed.text
        seen += [row["id"] for row in listed.json()["data"]]
        cursor = listed.json()["nextCursor"]
        if cursor is None:
            break
    assert seen == [row["id"] for row in created]
    counted = await client.get(ARTICLES, params={"count": "true", "tag": "pgb"}, headers=WRITER)
    assert counted.json()["count"] == 5
    included = await client.get(ARTICLES, params={"include": "author"}, headers=WRITER)
    assert included.status_code == 200, included.text
    assert [row["author"]["email"] for row in included.json()["data"]] == [
        "bounced@example.com"
    ] * 5

    url = f"{ARTICLES}{created[0]['id']}"
    got = await client.get(url, headers=WRITER)
    assert got.status_code == 200
    etag = got.headers["etag"]
    assert (await client.get(url, headers={**WRITER, "If-None-Match": etag})).status_code == 304

    patched = await client.patch(
        url, json={"title": "Bounced again"}, headers={**WRITER, "If-Match": etag}
    )
    assert patched.status_code == 200, patched.text
    stale = await client.patch(url, json={"title": "stale"}, headers={**WRITER, "If-Match": etag})
    assert_problem(stale, 412)
    replaced = await client.put(
        url, json={"title": "Replaced"}, headers={**WRITER, "If-Match": patched.headers["etag"]}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["tags"] == []

    duplicate = await client.post(
        ARTICLES, json={"title": "Dup", "slug": created[1]["slug"]}, headers=WRITER
    )
    assert_problem(duplicate, 409)

    deleted = await client.delete(url, headers={**WRITER, "If-Match": replaced.headers["etag"]})
    assert deleted.status_code == 204
    assert_problem(await client.get(url, headers=WRITER), 404)
    assert await bouncer_db.count_articles() == 4


@pytest.mark.slow
async def test_20_concurrent_requests_through_pgbouncer(
    client: httpx.AsyncClient, bouncer_db: PgDatabase
) -> None:
    await bouncer_db.truncate()
    seed = await client.post(ARTICLES, json={"title": "Shared"}, headers=WRITER)
    assert seed.status_code == 201
    url = f"{ARTICLES}{seed.json()['id']}"
    requests = []
    for n in range(20):
        if n % 4 == 0:
            requests.append(client.post(ARTICLES, json={"title": f"Parallel {n}"}, headers=WRITER))
        elif n % 4 == 1:
            requests.append(
                client.get(ARTICLES, params={"limit": 5, "count": "true"}, headers=WRITER)
            )
        elif n % 4 == 2:
            requests.append(client.get(url, headers=WRITER))
        else:
            requests.append(client.patch(url, json={"views": n}, headers=WRITER))
    async with asyncio.timeout(60):
        responses = await asyncio.gather(*requests)
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 201}, [
        (r.status_code, r.text[:200]) for r in responses if r.status_code >= 300
    ]
    assert statuses[201] == 5

    # If-Match still leaves exactly one winner when server connections are shared.
    etag = (await client.get(url, headers=WRITER)).headers["etag"]
    async with asyncio.timeout(60):
        racers = await asyncio.gather(
            *(
                client.patch(
                    url, json={"title": f"Racer {n}"}, headers={**WRITER, "If-Match": etag}
                )
                for n in range(20)
            )
        )
    assert Counter(r.status_code for r in racers) == {200: 1, 412: 19}


@pytest.mark.slow
async def test_100_concurrent_reads_through_pgbouncer_all_succeed(
    client: httpx.AsyncClient, bouncer_db: PgDatabase
) -> None:
    # Four server connections shared by up to 20 client connections: a statement prepared in
    # one round trip and executed in the next must not land on another server connection.
    await bouncer_db.truncate()
    created = [
        (await client.post(ARTICLES, json={"title": f"Shared {n}"}, headers=WRITER)).json()["id"]
        for n in range(5)
    ]
    requests = [
        client.get(f"{ARTICLES}{created[n % 5]}", headers=WRITER)
        if n % 2
        else client.get(ARTICLES, params={"limit": 3, "count": "true"}, headers=WRITER)
        for n in range(100)
    ]
    async with asyncio.timeout(60):
        responses = await asyncio.gather(*requests)
    failures = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 200]
    assert failures == []
