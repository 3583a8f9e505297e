"""Demo rows for the embedded database, so /docs shows real data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Page, PageStatus, Role, User
from app.prisma_defaults import utcnow

_PAGES = (
    ("Welcome to app-api", "welcome", PageStatus.PUBLISHED, ["intro", "docs"]),
    ("Calling app-api from Next.js", "calling-from-nextjs", PageStatus.PUBLISHED, ["nextjs"]),
    ("Keyset pagination explained", "keyset-pagination", PageStatus.REVIEW, ["api"]),
    ("ETags and If-Match", "etags-and-if-match", PageStatus.DRAFT, ["api", "http"]),
    ("Regenerating the models", "regenerating-models", PageStatus.SCHEDULED, ["prisma"]),
)


async def seed(session: AsyncSession) -> int:
    """Add two users and five pages to an empty database; return the rows added."""
    if (await session.scalar(select(func.count()).select_from(Page))) or 0:
        return 0
    author = User(email="ada@example.com", name="Ada", role=Role.EDITOR)
    session.add_all([author, User(email="grace@example.com", name="Grace", role=Role.USER)])
    await session.flush()
    now = utcnow()
    for index, (title, slug, status, tags) in enumerate(_PAGES):
        created = now - timedelta(days=len(_PAGES) - index)
        published = status is PageStatus.PUBLISHED
        session.add(
            Page(
                title=title,
                slug=slug,
                summary=f"A demo page: {title.lower()}.",
                body=f"# {title}\n\nThis row was added by the embedded SQLite default.",
                status=status,
                published=published,
                tags=tags,
                views=10 * index,
                metadata_={"demo": True},
                createdAt=created,
                publishedAt=created if published else None,
                authorId=author.id,
            )
        )
    await session.flush()
    return 2 + len(_PAGES)
