"""The outbox: messages queued in the database, sent within the platforms' limits.

Four small modules, one job each: ``pacing`` (rates), ``claims`` (which rows, leases),
``sending`` (a channel's ``Sender``, one attempt) and ``failures`` (retry, give up, tell the
admins), put together by ``dispatcher``.

**Delivery is at least once.** A row is marked sent only after the platform said ok, so a
crash repeats the messages that were *in flight*: those sent to the platform whose outcome
was not yet committed. Each of the ``in_flight`` workers holds at most one such message (it
waits for its outcome to be committed before it takes the next row), so a crash repeats at
most ``Limits.in_flight`` messages, each at most once, and nothing else. An answer lost on
the wire (a timeout after the platform accepted the message) repeats that one message.

**Claims and leases.** Rows are claimed in batches by one ``UPDATE … RETURNING`` with a
lease (``claimed_until``) that the dispatcher renews while it holds the rows; rows of a
dispatcher that died are queued again when their lease runs out (``Limits.lease_seconds``),
and a dispatcher that stops cleanly hands back at once the rows it has not started. A claim
takes at most one row per chat, and none of a chat that has a row under a live lease, so one
chat is never written to by two workers at a time. The claim walks the ``(status,
next_attempt_at)`` index and stops after a page, so its cost does not grow with the queue.
On PostgreSQL it locks with ``FOR UPDATE SKIP LOCKED``, so several processes share the queue
(two of them may then, rarely, write to one chat in the same instant: at worst a per-chat
429, retried); on SQLite the single statement is atomic by itself.

**Rates.** Overall: a token bucket with small bursts, and a sliding window in which a send
counts from its request until a second after its answer. The platform counts a message when
it receives it, somewhere in between, so no delay on the way can squeeze more than the rate
into one of its seconds and a sender at full speed does not run into 429s. Per chat: one
message per ``1 / per_chat_per_second`` seconds, counted from the previous answer. A 429
pauses every worker for ``retry_after`` (really waiting) and puts the row back for
``retry_after`` (a row gives up after ``4 × max_attempts`` of them). 5xx, timeouts and
connection errors are retried with exponential backoff and "equal jitter" (half the delay
fixed, half random); after ``max_attempts`` attempts the row is ``failed``; other refusals
(400) fail at once. A 403 (blocked, or "chat not found") makes the row ``unreachable``, marks
the member unreachable (no more reminders are queued for them) and tells the admins once per
member.

**Row states.** ``pending`` → ``sending`` (claimed) → ``sent`` | ``pending`` (retry, with
``next_attempt_at``) | ``failed`` | ``unreachable`` | ``skipped``. Every attempt counts in
``attempts``; ``last_error`` keeps the latest error (also after a later success);
``sent_at`` is the moment the platform accepted the message.

**A unit that reports while its reminders are queued.** At claim time a reminder
(``remind:…``) whose member's unit has meanwhile submitted for the round is ``skipped``
instead of sent. A unit that submits while its reminder is already in flight still gets it:
that window is one request long, and the reminder's button then shows the sent report.

**Time.** ``clock`` (injectable) stamps rows and decides what is due; the rate limits use the
event loop's monotonic time, because they are about real seconds between requests. Tests move
a fake clock to make retries due instead of sleeping.

**Failures** are logged once per failed attempt with the outbox id, round, unit, step and
chat; a failing claim or database write is logged once per streak, not on every retry.

**Several processes** (PostgreSQL): only the one elected by ``scheduler.leader`` runs its
``Dispatcher``, so the overall rate is this one limiter's and holds exactly; the others
queue rows, which the elected one claims at its next poll. The claims and leases above
still make a second dispatcher on the same table safe (the console's; two leaders for a
moment during a failover), and let a new leader take over a dead one's rows. A dispatcher
may serve several terms (``run_forever`` again after it lost the election and won it
back): each run starts from a clean slate.
"""

from scheduler.outbox.dispatcher import Dispatcher
from scheduler.outbox.failures import Fallback
from scheduler.outbox.pacing import Limits, RateLimiter
from scheduler.outbox.sending import Sender, SendError

__all__ = ["Dispatcher", "Fallback", "Limits", "RateLimiter", "SendError", "Sender"]
