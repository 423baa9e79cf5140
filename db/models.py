"""SQLAlchemy 2 models. Times are stored as tz-aware UTC; dates are local calendar dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always tz-aware UTC in Python, whatever the database keeps.

    SQLite has no time zones and hands naive datetimes back; this type refuses naive input
    and re-attaches UTC on the way out, so a naive datetime can never leak into the code.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Unit(Base):
    """A unit of the organisation, mirrored from the organisation data file at start-up."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent_code: Mapped[str | None] = mapped_column(String(16), ForeignKey("units.code"))
    reports: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Member(Base):
    """A unit head (or deputy) registered through an invitation, on one platform."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(16), ForeignKey("units.code"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    registered_at: Mapped[datetime]
    unreachable_at: Mapped[datetime | None]
    # The member row this person registered with first (another platform's account, linked
    # with /lienket); NULL when the person has one account. See bot.usecases.people.Person.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # The person's work mobile for ZNS, "84" + 9 digits (``/sodienthoai``), kept on the row
    # they registered with first (``person_id`` NULL); see ``bot.usecases.zns``.
    phone: Mapped[str | None] = mapped_column(String(16))


class LinkCode(Base):
    """A one-time 6-digit code (/lienket) that registers a member's other account; only its
    SHA-256 is kept. ``failures`` counts wrong codes tried while it was valid."""

    __tablename__ = "link_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)


class ChatOffer(Base):
    """The buttons last shown in a chat of a platform without buttons (Zalo), as a numbered
    list: a typed digit presses the n-th one (unless the question takes free input)."""

    __tablename__ = "chat_offers"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    buttons: Mapped[list[Any]]  # [[label, data], …] in the order they are numbered
    free_text: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class Invitation(Base):
    """A single-use invitation; only the SHA-256 of its random token is kept."""

    __tablename__ = "invitations"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(16), ForeignKey("units.code"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class Round(Base):
    """A reporting round: a periodic quarter (key 2026-Q3) or an ad-hoc round (key DX-…)."""

    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # quarter | ad_hoc
    title: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)  # last day a report is on time
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    unit_codes: Mapped[list[Any] | None]  # ad hoc: the units asked; None = every reporting unit
    indicator_codes: Mapped[list[Any] | None]  # ad hoc: the indicators asked; None = catalogue


class Submission(Base):
    """One unit's report for one round (members of a unit share it)."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("round_id", "unit_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    unit_code: Mapped[str] = mapped_column(String(16), ForeignKey("units.code"))
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(String(200))  # display name, for "sent by …"
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    by_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class SubmissionValue(Base):
    """The current value of one indicator in a submission (ratio: both counts)."""

    __tablename__ = "submission_values"
    __table_args__ = (UniqueConstraint("submission_id", "indicator_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    indicator_code: Mapped[str] = mapped_column(String(8))
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)  # percent or count; ratio: the percent
    skip_reason: Mapped[str | None] = mapped_column(String(300))


class ValueRevision(Base):
    """Every change of a sent value: who, when, old and new."""

    __tablename__ = "value_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    indicator_code: Mapped[str] = mapped_column(String(8))
    old: Mapped[dict[str, Any] | None]
    new: Mapped[dict[str, Any]]
    changed_by: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    by_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime]


class SurveyResponse(Base):
    """A citizen's survey. Only the keyed hash of who answered is kept, never an id or name.

    ``status`` is open (unfinished, never counted), counted, repeat (same person, point and
    day: thanked but not counted) or expired.
    """

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index(
            "uq_survey_counted_once",
            "point_code",
            "respondent",
            "day",
            unique=True,
            sqlite_where=text("status = 'counted'"),
            postgresql_where=text("status = 'counted'"),
        ),
        Index("ix_survey_respondent_started", "respondent", "started_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_code: Mapped[str] = mapped_column(String(24))
    questionnaire: Mapped[str] = mapped_column(String(32))
    respondent: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    field: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    status: Mapped[str] = mapped_column(String(16), default="open")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record_code: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # Where it was given (CHANNELS); NULL for responses stored before channels were recorded
    channel: Mapped[str | None] = mapped_column(String(16))
    # The counter tablet it was given on (a kiosk counts visits, not people)
    kiosk_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("kiosk_devices.id"))


class SurveyDailyCount(Base):
    """Rating counts per day, point, field and target, kept up to date as answers arrive.

    /status sums these rows, so its cost grows with points and days, not with responses.
    """

    __tablename__ = "survey_daily_counts"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    point_code: Mapped[str] = mapped_column(String(24), primary_key=True)
    field: Mapped[str] = mapped_column(String(16), primary_key=True)  # "" when none
    target: Mapped[str] = mapped_column(String(8), primary_key=True)
    # The channel the answers came by; "" for rows aggregated before channels were recorded
    channel: Mapped[str] = mapped_column(String(16), primary_key=True, default="")
    level1: Mapped[int] = mapped_column(Integer, default=0)
    level2: Mapped[int] = mapped_column(Integer, default=0)
    level3: Mapped[int] = mapped_column(Integer, default=0)
    level4: Mapped[int] = mapped_column(Integer, default=0)
    level5: Mapped[int] = mapped_column(Integer, default=0)
    respondents: Mapped[int] = mapped_column(Integer, default=0)
    fully_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    # Sums over respondents i of m_i² (their answers), y_i² (their answers at 4–5) and
    # y_i·m_i: what the interval over respondents needs (surveys.scoring.cluster_rate).
    answers_sq: Mapped[float] = mapped_column(Float, default=0.0)
    satisfied_sq: Mapped[float] = mapped_column(Float, default=0.0)
    satisfied_answers: Mapped[float] = mapped_column(Float, default=0.0)


class KioskDevice(Base):
    """A counter tablet (``cchc-bot kiosk POINT``): only the hash of its key is kept; a
    revoked device's page is refused. ``last_counted_at`` spaces its counted answers."""

    __tablename__ = "kiosk_devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_code: Mapped[str] = mapped_column(String(24))
    label: Mapped[str] = mapped_column(String(100), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_counted_at: Mapped[datetime | None]


class SurveyLink(Base):
    """A one-time survey link tied to a record code (hồ sơ); only the token's hash is kept."""

    __tablename__ = "survey_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    point_code: Mapped[str] = mapped_column(String(24))
    record_code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Conversation(Base):
    """The state of one person's conversation with the bot (JSON of a pure state machine)."""

    __tablename__ = "conversations"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    nudged_at: Mapped[datetime | None]


class AdminChat(Base):
    """A group chat that an admin registered to receive /status and alerts."""

    __tablename__ = "admin_chats"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message waiting to be sent, or the record of how its sending went.

    ``dedupe_key`` is unique: for reminders it is ``remind:<round>:<channel>:<chat>:<step>``,
    so enqueuing the same reminder twice is a no-op. ``claimed_until`` is a lease: a
    dispatcher that dies leaves rows that another takes again once the lease runs out.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    step: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any] | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class OfficialSurveyFigure(Base):
    """A satisfaction rate from an official survey (SIPAS, the health ministry's survey…),
    entered by Phòng Nội vụ for one round and target (14, 14a, 15, 16).

    Reports show it beside the bot's own figure and never mix it in. Every entry is kept;
    the latest one per round and target is the one shown.
    """

    __tablename__ = "official_survey_figures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    target: Mapped[str] = mapped_column(String(8))
    value: Mapped[float] = mapped_column(Float)  # percent, 0..100
    sample: Mapped[int | None] = mapped_column(Integer)  # respondents, when known
    entered_by: Mapped[str] = mapped_column(String(200))  # display name of the admin
    entered_at: Mapped[datetime]


class SeenUpdate(Base):
    """An update a platform without offsets delivered (Zalo: ``event_name`` + ``message_id``),
    kept for a window so that a redelivered one is handled once, in whatever process gets
    it. Rows older than the window are deleted by the channel that wrote them."""

    __tablename__ = "seen_updates"
    __table_args__ = (Index("ix_seen_updates_seen_at", "seen_at"),)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(160), primary_key=True)
    seen_at: Mapped[datetime]


class ZaloOaToken(Base):
    """The Zalo Official Account's OAuth tokens (one row per app id).

    Zalo's refresh token is single use and rotates with every refresh, so the new pair is
    written here in the refresh's own transaction; processes sharing the database read it
    back instead of refreshing again (one refreshes at a time: an advisory lock on
    PostgreSQL, SQLite's single writer)."""

    __tablename__ = "zalo_oa_tokens"
    app_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    generation: Mapped[int] = mapped_column(Integer, default=0)


class ZaloOaWindow(Base):
    """When a person last wrote to the Official Account (their message id, for quoting) and
    how many replies the OA sent since: Zalo's free-reply window. ``user_key`` is the keyed
    hash of the Zalo user id, as for citizens (never the id itself)."""

    __tablename__ = "zalo_oa_windows"
    user_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_message_id: Mapped[str | None] = mapped_column(String(64))
    last_at: Mapped[datetime]
    replies: Mapped[int] = mapped_column(Integer, default=0)


class DeskLogin(Base):
    """A one-time login link to the desk pages (``/web`` in chat): only the SHA-256 of its
    token is kept, with the chat account it was asked from; used once, valid 10 minutes."""

    __tablename__ = "desk_logins"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DeskSession(Base):
    """A browser session on the desk pages, opened by a login link: only the SHA-256 of the
    cookie's value is kept. It ends at logout or after 8 hours without a request."""

    __tablename__ = "desk_sessions"
    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
class QualitativeNote(Base):
    """A unit's short text on a target's qualitative part (10, 13) for one round, typed with
    /dinhtinh. The latest per round, unit and indicator is the one shown; all are kept."""

    __tablename__ = "qualitative_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(16))
    indicator_code: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(500))
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime]


class PublishedFile(Base):
    """A chart, workbook or Word report published for a Zalo user (Zalo's ``sendPhoto``
    takes a URL, not an upload): served at ``/tep/TOKEN`` until ``expires_at`` (one hour),
    then purged. Only the SHA-256 of the random token is kept."""

    __tablename__ = "published_files"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
