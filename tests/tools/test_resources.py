"""`make resources` (tools/resources.py): a declaration for every model, existing ones kept.

The PostgreSQL half builds the fixture schema in `scaffold_prisma/` (owned by these tests, not
the example's), generates its models into a scratch copy of the project with tools.codegen,
then runs the scaffolder there as `make resources` does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Integer, Text
from sqlalchemy.orm import DeclarativeBase

from app.resource import plural_of
from tests.pg import require_pg_server
from tools import codegen
from tools.codegen import postprocess
from tools.migrate import apply_migrations, create_scratch_database, drop_database
from tools.resources import (
    Model,
    ScaffoldError,
    declare,
    fresh_source,
    kebab,
    looks_secret,
    place,
    read_existing,
    report,
    scaffold,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "scaffold_prisma"

# ------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "passwordHash",
        "hashed_password",
        "twoFactorSecret",
        "twoFactorBackupCodes",
        "recoveryCodes",
        "refresh_token",
        "sessionToken",
        "apiKey",
        "api_key",
        "APIKey",
        "privateKey",
        "clientSecret",
        "salt",
        "otp",
        "credentials",
        "serviceTokenCiphertext",
        "password_digest",
    ],
)
def test_names_that_say_secret_are_secret(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "hashtag",
        "tokenizer",
        "passwordless",
        "passwordChangedAt",
        "tokenExpiresAt",
        "token_type",
        "apiKeyId",
        "otpEnabled",
        "hasPassword",
        "publicKey",
        "credentialPublicKey",
        "inputTokens",
        "email",
        "keyType",
        "saltwater",
        "credentialBackedUp",
        "tokenCount",
    ],
)
def test_names_about_a_secret_or_merely_containing_one_are_not(name: str) -> None:
    assert not looks_secret(name)


@pytest.mark.parametrize(
    ("model", "segment"),
    [
        ("Page", "pages"),
        ("PageRevision", "page-revisions"),
        ("Category", "categories"),
        ("Address", "addresses"),
        ("TeamUser", "team-users"),
    ],
)
def test_segments_are_kebab_case_plurals(model: str, segment: str) -> None:
    assert kebab(plural_of(model)) == segment


# ------------------------------------------------------------------------------ hidden fields


class _Base(DeclarativeBase):
    pass


class Member(_Base):
    """A model whose names say secret (not an SQLModel: it stays out of SQLModel.metadata)."""

    __tablename__ = "Member"
    id = Column(Integer, primary_key=True, autoincrement=True)
    email = Column(Text, nullable=False, unique=True)
    passwordHash = Column(Text, nullable=False)  # noqa: N815
    passwordChangedAt = Column(DateTime)  # noqa: N815
    apiKey = Column(Text)  # noqa: N815


def test_secret_looking_fields_are_write_only_with_a_review_comment() -> None:
    # Hidden and writable: a create can still set the required passwordHash, no read returns it.
    declaration = declare(Model(Member, "app.models", None), {"Member"})
    place([declaration])
    text = postprocess(fresh_source([declaration], []), project_root=ROOT, filename="app/x.py")
    assert (
        'MEMBERS = Resource(\n    model=Member,\n    segment="members",\n'
        '    writable=("email", "passwordHash", "passwordChangedAt", "apiKey"),\n'
        '    orderings=("id", "email"),\n'
        '    filters={"email": equals()},\n'
        "    # review: hidden, yet writable (write-only): the names look secret\n"
        '    hidden=("passwordHash", "apiKey"),\n'
        ")\n"
    ) in text


def test_serve_secrets_writes_secret_looking_fields_like_any_other() -> None:
    # `make resources SECRETS=serve`: rows exactly as Prisma Client returns them.
    declaration = declare(Model(Member, "app.models", None), {"Member"}, hide_secrets=False)
    place([declaration])
    text = postprocess(fresh_source([declaration], []), project_root=ROOT, filename="app/x.py")
    assert "hidden=" not in text
    assert '    writable=("email", "passwordHash", "passwordChangedAt", "apiKey"),\n' in text
    assert declaration.exposed == ("passwordHash", "apiKey")


class Field_(_Base):  # noqa: N801
    """The generator's name for a Prisma model `Field` (it would shadow sqlmodel's Field)."""

    __tablename__ = "Field"
    id = Column(Text, primary_key=True)


def test_a_renamed_class_is_declared_under_its_prisma_name() -> None:
    declaration = declare(Model(Field_, "app.models", None), {"Field_"})
    place([declaration])
    assert (declaration.name, declaration.ref, declaration.segment) == (
        "FIELDS",
        "Field_",
        "fields",
    )


class Invite(_Base):
    __tablename__ = "Invite"
    token = Column(Text, primary_key=True)
    email = Column(Text, nullable=False)


def test_a_key_field_is_served_whatever_its_name() -> None:
    declaration = declare(Model(Invite, "app.models", None), {"Invite"})
    assert declaration.secret == ()
    assert declaration.writable == ("token", "email")


def test_model_names_that_clash_with_the_file_are_imported_under_an_alias() -> None:
    clashing = [
        Model(
            type(name, (_Base,), {"__tablename__": name, "id": Column(Text, primary_key=True)}),
            "app.models",
            None,
        )
        for name in ("Resource", "Link")
    ]
    source = scaffold(None, clashing, fresh=True).source
    assert "from app.models import Resource as ResourceModel, Link as LinkModel" in source
    assert "RESOURCES = Resource(\n    model=ResourceModel," in source
    assert "LINKS_RESOURCE = Resource(\n    model=LinkModel," in source
    compile(source, "app/resources.py", "exec")


def test_declarations_are_found_however_they_are_written() -> None:
    source = (
        "from app import models\n"
        "from app.models import Page as P\n"
        "from app.resource import Resource, register\n\n"
        'PAGES = Resource(model=P, segment="pages")\n'
        'V1 = register(PAGES, Resource(model=models.Tag, segment="tags"))\n'
    )
    existing = read_existing(source)
    assert existing.declared == {"Page", "Tag"}
    assert existing.segments == {"pages", "tags"}
    assert existing.register is not None


def test_a_declaration_whose_model_is_gone_is_kept_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = (
        "from app.models import Gone\n"
        "from app.resource import Resource, register\n\n"
        'GONES = Resource(model=Gone, segment="gones")\n\n'
        "V1 = register(GONES)\n"
    )
    result = scaffold(source, [], fresh=False)
    assert result.source == source
    report(Path("app/resources.py"), result)
    out = capsys.readouterr().out
    assert out.startswith("app/resources.py: 0 declarations written, 0 kept\n")
    assert "app.models has no Gone any more: fix or delete its declaration" in out


def test_a_file_without_v1_register_is_refused_with_what_to_do() -> None:
    with pytest.raises(ScaffoldError, match="FRESH=1"):
        scaffold("V1 = ()\n", [], fresh=False)


# ------------------------------------------------------------------------------ on PostgreSQL


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the project whose generated models are the fixture schema's."""
    server = require_pg_server()
    root = tmp_path_factory.mktemp("scaffold")
    shutil.copytree(ROOT / "app", root / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tools", root / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / ".venv").symlink_to(ROOT / ".venv")
    url = create_scratch_database(server, "scaffold_test")
    try:
        apply_migrations(url, FIXTURE / "migrations")
        targets: list[codegen.Target] = ["models", "views"]
        codegen.write_outputs(
            url, targets, prisma_dir=FIXTURE, out_dir=root / "app", project_root=root
        )
    finally:
        drop_database(url)
    return root


def run_scaffold(project: Path, *, fresh: bool = False) -> str:
    """`make resources [FRESH=1] PRISMA_DIR=<fixture>` in the copy; its output."""
    args = [sys.executable, "-m", "tools.resources", "--prisma-dir", str(FIXTURE)]
    result = subprocess.run(
        [*args, "--fresh"] if fresh else args,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def resources_file(project: Path) -> str:
    return (project / "app" / "resources.py").read_text()


ACCOUNTS = """ACCOUNTS = Resource(
    model=Account,
    segment="accounts",
    writable=("email", "plan", "createdAt"),
    orderings=("id", "email"),
    filters={"email": equals(), "plan": equals()},
    includes=("projects", "profile"),
)
"""


@pytest.mark.postgres
def test_fresh_declares_every_model_and_view(project: Path) -> None:
    output = run_scaffold(project, fresh=True)
    assert "6 declarations written, 0 kept" in output
    text = resources_file(project)
    # Autoincrement ids and @updatedAt are not writable; @default(now()) and cuid() ids are.
    assert ACCOUNTS in text
    assert (
        '    model=Profile,\n    segment="profiles",\n    writable=("id", "bio", "accountId"),'
        in (text)
    )
    assert 'filters={"accountId": equals()},' in text  # a foreign key (`@map`ped column)
    assert 'includes=("owner", "categories", "tasks"),' in text  # schema order
    assert (
        'TASKS = Resource(\n    model=Task,\n    segment="tasks",\n    writable=("title", "projectId"),'
        in text
    )
    # A view: read-only (no writable), ordered by its @unique.
    assert (
        'PROJECT_SUMMARIES = Resource(\n    model=ProjectSummary,\n    segment="project-summaries",\n'
        '    orderings=("id",),\n)\n'
    ) in text
    assert "ACCOUNTS, PROFILES, PROJECTS, TASKS, CATEGORIES, PROJECT_SUMMARIES" in text
    assert 'Link(owner=PROJECTS, relation="categories", segment="categories")' in text
    assert "hidden=" not in text


@pytest.mark.postgres
def test_a_second_run_changes_nothing(project: Path) -> None:
    run_scaffold(project, fresh=True)
    before = resources_file(project)
    output = run_scaffold(project)
    assert "0 declarations written, 6 kept" in output
    assert resources_file(project) == before


@pytest.mark.postgres
def test_existing_declarations_are_kept_and_missing_ones_appended(project: Path) -> None:
    handwritten = '''"""Our resources."""

from app.models import Account
from app.resource import Link, Resource, register

# Accounts are read-only here, on purpose.
ACCOUNTS = Resource(model=Account, segment="members", orderings=("email",))

V1: tuple[Resource, ...] = register(ACCOUNTS)
LINKS: tuple[Link, ...] = ()
'''
    (project / "app" / "resources.py").write_text(handwritten)
    output = run_scaffold(project)
    assert "5 declarations written, 1 kept" in output
    text = resources_file(project)
    assert (
        '# Accounts are read-only here, on purpose.\nACCOUNTS = Resource(model=Account, segment="members", orderings=("email",))\n'
    ) in text
    assert text.count("model=Account") == 1
    assert "PROFILES = Resource(" in text
    assert "PROJECT_SUMMARIES = Resource(" in text
    assert (
        "register(\n    ACCOUNTS, PROFILES, PROJECTS, TASKS, CATEGORIES, PROJECT_SUMMARIES\n)"
    ) in text
    assert 'Link(owner=PROJECTS, relation="categories", segment="categories")' in text
    assert run_scaffold(project).startswith("app/resources.py: 0 declarations written, 6 kept")
    # FRESH=1 starts over: the hand-written declaration goes.
    run_scaffold(project, fresh=True)
    assert ACCOUNTS in resources_file(project)
    assert 'segment="members"' not in resources_file(project)


@pytest.mark.postgres
def test_output_passes_ruff_pyright_strict_and_imports(project: Path) -> None:
    run_scaffold(project, fresh=True)
    target = "app/resources.py"
    ruff = [sys.executable, "-m", "ruff"]
    for check in (["check", target], ["format", "--check", target]):
        result = subprocess.run([*ruff, *check], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    pyright = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pyright"), target],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "0 errors" in pyright.stdout, pyright.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import app.resources as r; print(len(r.V1), len(r.LINKS))"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["6", "1"]
