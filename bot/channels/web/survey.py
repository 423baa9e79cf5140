"""The web survey: ``/s/POINT`` (and ``/r/TOKEN``, a record's one-time link) driving the
same router as the chat channels.

Opening the page is ``/start s-POINT`` and a tap is the button the chat would have shown,
so the survey's state machine, its limits and its counting are the chat's own
(``bot.usecases.surveying``). A visitor is a random cookie (HttpOnly, SameSite=Lax, Secure
over HTTPS); the database only ever sees the keyed hash of it (``people.citizen_key``).
Every POST carries a CSRF token, an HMAC of the cookie; the button carries the
conversation's token, so a replayed or Back-and-resubmit form is refused by the router and
counts nothing. No JavaScript: every step is a plain form.

The survey's state between taps travels in the page too, sealed (``Pages.seal``: an HMAC
bound to the visitor's cookie), so an answer that completes nothing costs no database
transaction (``Core.handle_held``): the response is opened at the first page and completed
and counted at the last, in transactions, as in the chat. A page changed or forged is
refused (400); a Back to an earlier question answers it again, and only the first
completion counts.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.usecases.router import Core
from bot.usecases.surveying import POINT_PREFIX, RECORD_PREFIX, with_language
from surveys import i18n, survey_machine
from surveys.messages import Inbound, Outbound
from surveys.scoring import RATING_LABELS

from .pages import Pages

CHANNEL = "web"
COOKIE = "cchc_id"
TEXT_MAX = 2000
SWITCH = ":L."  # a language switch button's data: c:<token>:L.<language>
SKIP_TYPED = "bỏ qua"  # one of survey_machine.SKIP_WORDS
SEALED = "survey"  # the purpose the survey's state is sealed for in its pages


def language_name(language: str) -> str:
    """A language named in itself, without the chat's flag (a page names languages, not
    countries, and a computer without an emoji font draws flags as boxes)."""
    return i18n.SWITCH_LABELS[language].split(" ", 1)[-1].replace("EN", "English")


class SurveyPages:
    """The survey pages of one running bot."""

    def __init__(self, pages: Pages, core: Core) -> None:
        self.pages, self.core = pages, core

    def show(self, request: web.Request, cookie: str, replies: list[Outbound]) -> web.Response:
        last = replies[-1]
        buttons = [(b.label, b.data) for row in last.buttons for b in row]
        answers = [(label, data) for label, data in buttons if SWITCH not in data]
        token = buttons[0][1].split(":")[1] if buttons else ""
        lang = last.language
        # The one-tap language switch on every question (the machine takes it at any step)
        switch = [
            (language_name(other), f"c:{token}{SWITCH}{other}")
            for other in self._languages(request, buttons)
            if other != lang and token
        ]
        notice = " ".join(r.text for r in replies[:-1]) or None
        # the chat's pictograms ("📋 ") are left out: a computer without an emoji font
        # would draw them as boxes
        lines = [line.removeprefix("📋 ") for line in last.text.split("\n")]
        # A rating's five levels are listed under the chat's question; on a page they are
        # the buttons' own labels ("4 — Hài lòng"), large enough to tap.
        levels = {
            label: f"{label} — {i18n.translate(lang, RATING_LABELS[int(label)])}"
            for label, _ in answers
            if label in {"1", "2", "3", "4", "5"}
        }
        if len(levels) == len(answers) == 5:
            lines = [line for line in lines if line not in levels.values()]
            answers = [(levels[label], data) for label, data in answers]
        return self.pages.render(
            "survey.html",
            400 if notice else 200,
            lang=lang,
            lines=[line for line in lines if line.strip()],
            buttons=answers,
            switch=switch,
            free_text=last.free_text,
            action=request.path,
            csrf=self.pages.csrf("survey", cookie),
            held=self.pages.seal(SEALED, last.held, cookie) if last.held is not None else None,
            notice=notice,
        )

    def _languages(self, request: web.Request, buttons: list[tuple[str, str]]) -> list[str]:
        """The survey's languages: named by the first question's switch buttons; on later
        questions, those of the point's questionnaire (none known on a record's link)."""
        named = [data.rsplit(".", 1)[1] for _, data in buttons if SWITCH in data]
        point = self.pages.ctx.catalogue.point(request.match_info.get("point", ""))
        if named or point is None:
            return named
        questionnaire = self.pages.ctx.catalogue.questionnaires[point.questionnaire]
        return list(survey_machine.languages(questionnaire))

    def inbound(self, cookie: str, request: web.Request, **what: str | None) -> Inbound:
        accept = request.headers.get("Accept-Language", "")[:2] or None
        return Inbound(CHANNEL, cookie, cookie, language_code=accept, **what)  # type: ignore[arg-type]

    async def open(self, request: web.Request) -> web.StreamResponse:
        """GET /s/POINT or /r/TOKEN (``?lang=km`` opens it in Khmer): the first question."""
        if "point" in request.match_info:
            point = self.pages.ctx.catalogue.point(request.match_info["point"])
            if point is None:
                return self.pages.error(404)
            payload = POINT_PREFIX + point.code
        else:
            token = request.match_info["token"]
            if not token.isascii() or len(token) > 64:
                return self.pages.error(404)
            payload = RECORD_PREFIX + token
        cookie = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
        lang = i18n.supported(request.query.get("lang"))
        replies = await self.core.handle(
            self.inbound(cookie, request, text=f"/start {with_language(payload, lang)}")
        )
        response = self.show(request, cookie, replies)
        self.pages.set_cookie(response, request, COOKIE, cookie)
        return response

    async def answer(self, request: web.Request) -> web.StreamResponse:
        """POST: a tap (``a``, the chat button's data) or a typed answer (``text``)."""
        if "point" in request.match_info and (
            self.pages.ctx.catalogue.point(request.match_info["point"]) is None
        ):
            return self.pages.error(404)
        form = await request.post()
        cookie = request.cookies.get(COOKIE, "")
        if not self.pages.csrf_ok("survey", cookie, str(form.get("csrf", ""))):
            return self.pages.error(403)
        button = str(form.get("a", ""))
        if button:
            if not button.startswith("c:") or len(button) > 64:
                return self.pages.error(400)
            inbound = self.inbound(cookie, request, button=button)
        else:
            # an empty comment box sent is the chat's "bỏ qua" (the machine refuses it where
            # a comment is not optional)
            text = str(form.get("text", "")).lstrip("/")[:TEXT_MAX].strip() or SKIP_TYPED
            inbound = self.inbound(cookie, request, text=text)
        sealed = str(form.get("s", ""))
        if not sealed:  # a page from before the state was held in it: the stored one
            return self.show(request, cookie, await self.core.handle(inbound))
        held = self.pages.unseal(SEALED, sealed, cookie)
        if held is None:
            return self.pages.error(400)
        return self.show(request, cookie, await self.core.handle_held(inbound, held))
