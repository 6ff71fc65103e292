"""The platform: the engine, the services over it, and the background sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from baas.core import clock, migrations
from baas.core.auth.accounts import Accounts
from baas.core.auth.passwords import Hasher
from baas.core.auth.recovery import Recovery
from baas.core.auth.tokens import SigningKeys, forget_verified
from baas.core.callers import Callers
from baas.core.data.changes import Changes
from baas.core.data.collections import CollectionDefs
from baas.core.data.documents import Documents
from baas.core.data.idempotency import Idempotency
from baas.core.data.writes import Writes
from baas.core.hooks import Hooks
from baas.core.messaging.mail import Mailer
from baas.core.messaging.projectmail import ProjectMail
from baas.core.secretbox import SecretBox
from baas.core.tenancy.admins import Admins
from baas.core.tenancy.keys import Keys
from baas.core.tenancy.projects import Projects, database_name
from baas.core.usage.counters import Counters
from baas.core.usage.limiter import Limiter
from baas.core.usage.plans import Plan, Plans
from baas.metrics import Metrics
from baas.settings import Settings
from baas.store import Engine, StoreError, create_engine

log = logging.getLogger("baas.platform")
PLATFORM_DB = "platform"


class Platform:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings)
        # Capabilities attach to project_created/project_deleted/change_committed here.
        self.hooks = Hooks()
        self.metrics = Metrics()
        self.hasher = Hasher(
            settings.argon2_time_cost, settings.argon2_memory_kib,
            settings.argon2_parallelism, settings.hash_threads,
        )
        platform_db = self.engine.database(PLATFORM_DB)
        self.admins = Admins(platform_db, self.hasher, settings.admin_token_ttl)
        self.keys = Keys(platform_db, settings.cache_seconds)
        self.projects = Projects(self.engine, platform_db, self.keys)
        self._sweeper: asyncio.Task[None] | None = None
        self._box: SecretBox | None = None
        self._signing: dict[str, SigningKeys] = {}
        self.mailer = Mailer(settings)
        self.accounts = Accounts(settings, self.hasher, self.projects.database, self.signing)
        self.recovery = Recovery(self.accounts, self.mailer, self.project_mail,
                                 self._project_name)
        self.collections = CollectionDefs(self.projects.database, settings.cache_seconds)
        self.writes = Writes(self.projects.database, self.hooks)
        self.changes = Changes(self.projects.database, settings.change_retention_seconds)
        self.documents = Documents(self.projects.database, self.collections,
                                   settings.query_timeout_ms, self._email_of,
                                   writes=self.writes, max_cascade=settings.max_cascade)
        self.idempotency = Idempotency(self.projects.database,
                                       settings.idempotency_lease_seconds)
        self.callers = Callers(self.admins, self.keys, self.accounts, self.projects)
        self.plans = Plans(platform_db, Plan.defaults(settings), settings.cache_seconds)
        self.limiter = Limiter(self.plans, Counters(platform_db), enabled=settings.rate_limits,
                               flush_seconds=settings.usage_flush_seconds)
        self.hooks.project_deleted.attach(self.plans.delete_project)
        self.hooks.project_deleted.attach(self._forget_tokens)

    async def open(self, background: bool = True) -> None:
        await self.engine.open()
        _ = self.box  # a bad or unreadable master key stops start-up with a clear message
        await self.migrate()
        if background:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="ttl-sweeper")
            self.limiter.start()

    @property
    def box(self) -> SecretBox:
        """The master-key box; loaded (and the key file created) on first use."""
        if self._box is None:
            self._box = SecretBox.from_settings(self.settings)
        return self._box

    def signing(self, project_id: str) -> SigningKeys:
        """The signing keys of one project (its access tokens and JWKS)."""
        found = self._signing.get(project_id)
        if found is None:
            issuer = f"{self.settings.base_url}/v1/projects/{project_id}"
            # Retired keys verify for longer than any access token lives.
            grace = self.settings.access_token_ttl + 60
            found = SigningKeys(self.projects.database(project_id), self.box, issuer,
                                retired_grace=grace, cache_seconds=self.settings.cache_seconds)
            self._signing[project_id] = found
        return found

    async def _forget_tokens(self, project_id: str) -> None:
        """A deleted project's verified access tokens stop counting (a re-created
        project of the same id has new keys)."""
        forget_verified(project_id)

    def project_mail(self, project_id: str) -> ProjectMail:
        """The project's mail settings: SMTP override and message templates."""
        return ProjectMail(self.projects.database(project_id), self.box, project_id,
                           timeout=self.settings.smtp_timeout)

    async def _project_name(self, project_id: str) -> str:
        return str((await self.projects.get(project_id))["name"])

    async def _email_of(self, project_id: str, user_id: str) -> str | None:
        """The user's email for ``@auth.email``, only once verified: anyone can sign up
        with, or change to, an address they do not own."""
        user = await (await self.accounts.project(project_id)).users.get(user_id)
        if user is None or not user.get("email_verified"):
            return None
        return user.get("email")

    async def migrate(self) -> None:
        """Bring the platform database, then every project's, to the latest migration
        (a read each when they are there already), so no request runs setup DDL."""
        await migrations.migrate(self.engine.database(PLATFORM_DB), migrations.PLATFORM)
        async for project_id in self.projects.ids():
            await migrations.migrate(self.projects.database(project_id), migrations.PROJECT)

    async def create_project(self, project_id: str, name: str | None
                             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Create a project: its record, its database migrated to the latest version,
        then its first keys (so no key reaches it before its indexes exist, e.g. unique
        user emails), then ``hooks.project_created``."""
        created = await self.projects.create(project_id, name)
        self.forget_project(project_id)  # this process may know a deleted one, too
        try:
            await migrations.migrate(self.projects.database(project_id), migrations.PROJECT)
        except BaseException:
            await self.projects.records.delete(project_id)  # nothing else exists yet
            raise
        keys = await self.projects.create_default_keys(project_id)
        await self.hooks.project_created.fire(project_id)
        return created, keys

    async def delete_project(self, project_id: str) -> None:
        """Delete a project, its keys and its database, forget what this process cached
        about it, then fire ``hooks.project_deleted`` (files, realtime, push clean up)."""
        await self.projects.delete(project_id)
        self.forget_project(project_id)
        await self.hooks.project_deleted.fire(project_id)

    def forget_project(self, project_id: str) -> None:
        """Drop this process's caches of a project: signing keys, auth services, parsed
        collection definitions and the API-key cache."""
        self._signing.pop(project_id, None)
        self.accounts.forget(project_id)
        self.collections.forget(project_id)
        self.keys.forget()

    async def close(self) -> None:
        await self.limiter.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.collections.drain()
        await self.recovery.drain(5)
        await self.mailer.drain(5)
        await self.engine.close()
        self.hasher.close()

    async def sweep_once(self) -> int:
        now = clock.now_iso()
        removed = await self.engine.database(PLATFORM_DB).sweep_expired(now)
        async for project_id in self.projects.ids():
            removed += await self.engine.database(database_name(project_id)).sweep_expired(now)
        return removed

    async def prune_changes(self) -> int:
        """Forget every project's change records older than the retention window."""
        pruned = 0
        async for project_id in self.projects.ids():
            pruned += await self.changes.prune(project_id)
        return pruned

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ttl_sweep_seconds)
            try:
                removed = await self.sweep_once()
                if removed:
                    log.info("ttl sweep", extra={"removed": removed})
                pruned = await self.prune_changes()
                if pruned:
                    log.info("change records pruned", extra={"removed": pruned})
            except StoreError as exc:
                log.warning("ttl sweep failed", extra={"error": str(exc)})
