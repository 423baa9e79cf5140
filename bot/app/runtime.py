"""Wiring: from a Config to a running python-telegram-bot Application with the core, the
outbox dispatcher and the scheduler started in ``post_init`` and stopped in ``post_shutdown``.

On PostgreSQL several bot processes may share the database; only the one elected by
``scheduler.leader`` runs its outbox dispatcher (one pace for the bot token), the others
stand by and take over within seconds when it dies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, ApplicationBuilder

from bot.channels.telegram import CHANNEL, PerPersonUpdates, TelegramSender, add_handlers
from bot.channels.telegram_request import AiohttpRequest
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_oa import ZaloOaChannel
from bot.usecases.context import Clock, Context, system_clock
from bot.usecases.router import Core
from bot.usecases.settings import Config
from bot.usecases.tick import tick
from bot.usecases.zns import ZNS_CHANNEL, ZnsFallback
from db import repo
from db.migrate import upgrade
from db.session import is_sqlite, make_engine, make_sessionmaker
from scheduler.jobs import start_scheduler
from scheduler.leader import SHARED_POLL_SECONDS, Election, database_election
from scheduler.outbox import Dispatcher, Fallback, Limits, Sender
from surveys.catalogue import Catalogue, load_catalogue

log = logging.getLogger(__name__)

ZALO = "zalo"  # bot.channels.zalo.CHANNEL (imported lazily: it builds on this module's users)
ZALO_OA = "zalo_oa"  # bot.channels.zalo_oa.CHANNEL


def load_data(config: Config) -> Catalogue:
    org = config.org
    return load_catalogue(org.units, org.indicators, org.points, org.questionnaires)


@dataclass
class Runtime:
    """Everything that lives as long as the bot runs."""

    ctx: Context
    engine: AsyncEngine
    core: Core
    dispatcher: Dispatcher | None = None
    election: Election | None = None  # whether this process is the one that sends
    scheduler: AsyncIOScheduler | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # how to stop the channels started beside Telegram (Zalo), after the dispatcher
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    channels: dict[str, object] = field(default_factory=dict)  # the channels beside Telegram

    async def stop(self) -> None:
        await self.stop_background()
        await self.engine.dispose()

    async def stop_background(self) -> None:
        """Stop the tick and the dispatcher (sends on the wire finish and are recorded, rows
        not started are handed back); before the bot's HTTP client closes."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        closers, self.closers = self.closers, []
        for close in closers:
            await close()

    def wake_outbox(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    def start_background(
        self, senders: dict[str, Sender], only_chats: Callable[[], Sequence[str]] | None = None
    ) -> None:
        start_background(self, senders, only_chats)

    async def quiesce(self, seconds: float) -> None:
        """Stop the background work without cutting a tick short: no new tick, the dispatcher's
        own clean stop, then wait for a tick still running before the scheduler is shut down.
        (Shutting APScheduler down cancels a running job; a tick cancelled halfway through a
        SQLite call logs a traceback and can leave the process hanging at exit.)"""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.pause()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        current = asyncio.current_task()
        running = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if running:
            await asyncio.wait(running, timeout=seconds)
        if scheduler is not None:
            scheduler.shutdown(wait=False)


async def open_runtime(
    config: Config, catalogue: Catalogue, clock: Clock = system_clock
) -> Runtime:
    """Upgrade the database, mirror the organisation into it, build the core."""
    engine = make_engine(config.database_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        await repo.sync_units(session, catalogue.org.units)
    ctx = Context(
        config=config,
        catalogue=catalogue,
        sessions=sessions,
        clock=clock,
        admins={
            CHANNEL: frozenset(str(a) for a in config.admins),
            ZALO: frozenset(config.zalo.admins),
            ZALO_OA: frozenset(config.zalo_oa.admins),
        },
        bot_username=config.telegram.bot_username or "cchc_bot",
    )
    return Runtime(ctx=ctx, engine=engine, core=Core(ctx))


async def start_zalo(runtime: Runtime, webhook: bool = False) -> Sender:
    """Start the Zalo channel in the background (polling, or its webhook server, once Zalo
    answers: an outage at start-up holds up nothing else); returns its outbox sender.
    ``Runtime.stop_background`` stops it."""

    ctx = runtime.ctx
    channel = ZaloChannel(ctx.config.zalo, runtime.core, ctx.sessions, ctx.now)
    try:
        await channel.start(webhook)
    except BaseException:
        await channel.stop()
        raise
    runtime.closers.append(channel.stop)
    runtime.channels[ZALO] = channel
    return channel.sender


async def start_zalo_oa(runtime: Runtime) -> Sender:
    """Serve the Zalo Official Account's webhook; returns its outbox sender."""
    ctx = runtime.ctx
    channel = ZaloOaChannel(ctx.config.zalo_oa, runtime.core, ctx.sessions, ctx.now)
    try:
        await channel.start()
    except BaseException:
        await channel.stop()
        raise
    runtime.closers.append(channel.stop)
    runtime.channels[ZALO_OA] = channel
    return channel.sender


async def start_web(runtime: Runtime) -> None:
    """Serve the web channel on ``[web] listen`` (``Runtime.stop_background`` stops it)."""
    from aiohttp import web

    from bot.channels.web.app import build_app

    runner = web.AppRunner(build_app(runtime.ctx, runtime.core), access_log=None)
    await runner.setup()
    host, port = runtime.ctx.config.web.host_port
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    runtime.closers.append(runner.cleanup)
    log.info("web channel on http://%s:%d", host, port)


async def serve_without_telegram(
    config: Config,
    catalogue: Catalogue,
    stop: asyncio.Event,
    webhook: bool = False,
    clock: Clock = system_clock,
) -> None:
    """The bot without Telegram (no token): on Zalo and/or the web, until ``stop`` is set."""
    runtime = await open_runtime(config, catalogue, clock)
    try:
        senders: dict[str, Sender] = {}
        if config.zalo.enabled:
            senders[ZALO] = await start_zalo(runtime, webhook)
        if config.zalo_oa.enabled:
            senders[ZALO_OA] = await start_zalo_oa(runtime)
        if config.web.enabled:
            await start_web(runtime)
        start_background(runtime, senders)
        log.info("cchc-bot started without Telegram")
        await stop.wait()
    finally:
        await runtime.stop()


def start_dispatcher(
    runtime: Runtime,
    senders: dict[str, Sender],
    only_chats: Callable[[], Sequence[str]] | None = None,
) -> Dispatcher:
    """Build the outbox dispatcher and run it inside the running loop: at once on SQLite,
    and on PostgreSQL whenever this process wins the election (``scheduler.leader``).

    ``ctx.notify_outbox`` wakes it; in a process that is not the dispatcher that is a no-op,
    and the elected one finds the rows queued here at its next poll (``SHARED_POLL_SECONDS``).
    The console (``only_chats``: it shows one person's messages) is no real sender: it runs
    its own filtered dispatcher and takes no part in the election."""
    ctx = runtime.ctx
    delivery = ctx.config.delivery
    fallback: Fallback | None = None
    oa = runtime.channels.get(ZALO_OA)
    if isinstance(oa, ZaloOaChannel) and ctx.config.zalo_oa.zns.enabled:
        # -230 reminders go by ZNS through the OA's token (bot.usecases.zns)
        senders = {**senders, ZNS_CHANNEL: oa.zns_sender}
        fallback = ZnsFallback(ctx)
    dispatcher = Dispatcher(
        ctx.sessions,
        senders,
        ctx.now,
        Limits(
            per_second=delivery.messages_per_second,
            per_chat_per_second=delivery.per_chat_per_second,
            max_attempts=delivery.max_attempts,
        ),
        admin_chats=ctx.admin_accounts,
        only_chats=only_chats,
        channel_rates={
            ZALO: ctx.config.zalo.messages_per_second,
            ZALO_OA: ctx.config.zalo_oa.messages_per_second,
            ZNS_CHANNEL: ctx.config.zalo_oa.messages_per_second,
        },
        fallback=fallback,
    )
    runtime.dispatcher = dispatcher
    ctx.notify_outbox = dispatcher.wake
    if only_chats is not None:
        runtime.tasks.append(asyncio.create_task(dispatcher.run_forever()))
        return dispatcher
    url = ctx.config.database_url
    election = runtime.election = database_election(url)
    if is_sqlite(url):  # one process: every wake-up is in-process, the poll is a fallback
        lead = dispatcher.run_forever
    else:
        lead = partial(dispatcher.run_forever, poll_seconds=SHARED_POLL_SECONDS)
    runtime.tasks.append(asyncio.create_task(election.run(lead)))
    return dispatcher


def start_background(
    runtime: Runtime,
    senders: dict[str, Sender],
    only_chats: Callable[[], Sequence[str]] | None = None,
) -> None:
    """Start the outbox dispatcher (see ``start_dispatcher``) and the scheduler tick inside
    the running loop."""
    start_dispatcher(runtime, senders, only_chats)
    ctx = runtime.ctx

    async def scheduled_tick() -> None:
        try:
            await tick(ctx)
        except Exception:
            log.exception("scheduler tick failed; the next tick will catch up")
        if runtime.dispatcher is not None:
            runtime.dispatcher.wake()

    runtime.scheduler = start_scheduler(scheduled_tick, ctx.config.calendar.tick_minutes)


def build_application(
    config: Config, catalogue: Catalogue, clock: Clock = system_clock, zalo_webhook: bool = False
) -> Application:  # type: ignore[type-arg]
    """The real PTB Application, talking to ``[telegram] base_url``; with ``[zalo] enabled``
    the Zalo channel runs beside it (polling, or its own webhook with ``zalo_webhook``)."""
    token = config.require_token()

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        runtime = await open_runtime(config, catalogue, clock)
        if not config.telegram.bot_username:
            runtime.ctx.bot_username = app.bot.username
        app.bot_data["runtime"] = runtime
        app.bot_data["core"] = runtime.core
        senders: dict[str, Sender] = {CHANNEL: TelegramSender(app.bot)}
        if config.zalo.enabled:
            senders[ZALO] = await start_zalo(runtime, zalo_webhook)
        if config.zalo_oa.enabled:
            senders[ZALO_OA] = await start_zalo_oa(runtime)
        if config.web.enabled:
            await start_web(runtime)
        start_background(runtime, senders)
        log.info("cchc-bot started as @%s", runtime.ctx.bot_username)

    async def post_stop(app: Application) -> None:  # type: ignore[type-arg]
        runtime: Runtime | None = app.bot_data.get("runtime")
        if runtime is not None:
            await runtime.stop_background()

    async def post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
        runtime: Runtime | None = app.bot_data.get("runtime")
        if runtime is not None:
            await runtime.stop()

    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(config.telegram.base_url)
        .base_file_url(config.telegram.base_file_url)
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connections=1))
        .concurrent_updates(PerPersonUpdates())
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    add_handlers(app)
    return app
