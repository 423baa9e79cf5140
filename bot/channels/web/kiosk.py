"""The counter tablet: ``/k/POINT``, a waiting screen with the counter's name and five large
labelled buttons, the reasons after a rating of 1–3, thanks, and back to the waiting screen
by itself (``surveys.kiosk_machine`` holds the rules).

The tablet opens ``/k/POINT?key=KEY`` once (the link ``cchc-bot kiosk POINT`` prints): the
key moves into an HttpOnly cookie scoped to ``/k/`` and the page reloads without it, so the
key is not left in the address bar or in later request lines. Each request checks the key's
hash against the live devices; a wrong or revoked key gets 403.

Between taps nothing is stored: the answer so far travels in the form, signed (HMAC with
``[survey] secret``) with the visit's random nonce and the time of the last tap. A form
idle for more than a minute is refused and the answer discarded; a finished one is counted
once (the nonce makes a replayed form the same visit). Without JavaScript the screens go
back by themselves with ``<meta http-equiv="refresh">``.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from bot.usecases import kiosk
from surveys import i18n, kiosk_machine, survey_machine
from surveys import texts as T
from surveys.catalogue import Question, Questionnaire, ServicePoint
from surveys.scoring import RATING_LABELS

from .pages import KIOSK_REFUSED, Pages
from .survey import language_name

COOKIE = "cchc_kiosk"
SEALED = "kiosk"  # the purpose its signed state is sealed for


class KioskPages:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    # ----------------------------------------------------------------- the device

    async def _device(
        self, request: web.Request
    ) -> tuple[kiosk.Device, ServicePoint, Questionnaire, str] | web.Response:
        point = self.pages.ctx.catalogue.point(request.match_info["point"])
        if point is None:
            return self.pages.error(404)
        key = request.cookies.get(COOKIE, "")
        async with self.pages.ctx.sessions() as session:
            device = await kiosk.device_for_key(session, key, point.code)
        if device is None:
            return self.pages.error(403, KIOSK_REFUSED)
        questionnaire = self.pages.ctx.catalogue.questionnaires[point.kiosk or point.questionnaire]
        return device, point, questionnaire, key

    # ----------------------------------------------------------------- the screens

    def _screen(
        self,
        request: web.Request,
        point: ServicePoint,
        questionnaire: Questionnaire,
        key: str,
        state: dict[str, Any],
        notice: str | None = None,
        status: int = 200,
    ) -> web.Response:
        lang: str = state["l"]
        screen = kiosk_machine.next_screen(questionnaire, state["a"], bool(state["f"]))
        waiting = not state["a"]
        return self.pages.render(
            "kiosk.html",
            status,
            lang=lang,
            title=point.name_in(lang),
            point_name=point.name_in(lang),
            waiting=waiting,
            rating=screen.rating and self._rating(screen.rating, screen.index, lang),
            follow_ups=[self._follow_up(q, lang) for q in screen.follow_ups],
            state=self.pages.seal(SEALED, state),
            csrf=self.pages.csrf("kiosk", key),
            action=request.path,
            notice=notice,
            switch=[
                (language_name(other), other)
                for other in survey_machine.languages(questionnaire)
                if other != lang
            ] if waiting else [],
            # an unfinished answer goes back to the waiting screen after a minute idle
            refresh=None if waiting else self.pages.ctx.config.web.kiosk_idle_seconds,
        )

    @staticmethod
    def _rating(question: Question, index: int, lang: str) -> dict[str, Any]:
        return {
            "text": question.text(lang),
            "buttons": [
                (f"{index}.{o.value}", o.value, i18n.translate(lang, RATING_LABELS[int(o.value)]))
                for o in question.options
            ],
        }

    @staticmethod
    def _follow_up(question: Question, lang: str) -> dict[str, Any]:
        return {
            "id": question.id,
            "kind": question.kind,
            "text": question.text(lang),
            "options": [(o.value, o.label(lang)) for o in question.options],
            "max": kiosk_machine.COMMENT_MAX,
        }

    def _fresh(self, lang: str) -> dict[str, Any]:
        now = int(self.pages.ctx.now().timestamp())
        return {"n": secrets.token_urlsafe(12), "t": now, "a": {}, "f": False, "l": lang}

    # ----------------------------------------------------------------- the routes

    async def open(self, request: web.Request) -> web.StreamResponse:
        """GET /k/POINT: the waiting screen; with ``?key=`` first, the key is kept in the
        cookie and the page reloads without it."""
        key = request.query.get("key")
        if key is not None:
            point = self.pages.ctx.catalogue.point(request.match_info["point"])
            if point is None:
                return self.pages.error(404)
            async with self.pages.ctx.sessions() as session:
                device = await kiosk.device_for_key(session, key, point.code)
            if device is None:
                return self.pages.error(403, KIOSK_REFUSED)
            response = web.Response(status=303, headers={"Location": request.path})
            self.pages.set_cookie(response, request, COOKIE, key, path="/k/")
            return response
        found = await self._device(request)
        if isinstance(found, web.Response):
            return found
        _, point, questionnaire, key = found
        lang = i18n.supported(request.query.get("lang")) or i18n.SOURCE
        if lang not in survey_machine.languages(questionnaire):
            lang = i18n.SOURCE
        return self._screen(request, point, questionnaire, key, self._fresh(lang))

    async def answer(self, request: web.Request) -> web.StreamResponse:
        """POST /k/POINT: a rating tapped (``r`` = ``index.value``) or the reasons sent."""
        found = await self._device(request)
        if isinstance(found, web.Response):
            return found
        device, point, questionnaire, key = found
        form = await request.post()
        if not self.pages.csrf_ok("kiosk", key, str(form.get("csrf", ""))):
            return self.pages.error(403)
        state = self.pages.unseal(SEALED, str(form.get("s", "")))
        if state is None:
            return self.pages.error(400)
        now = int(self.pages.ctx.now().timestamp())
        lang = i18n.supported(str(state.get("l"))) or i18n.SOURCE
        # the waiting screen may wait for hours: the idle minute runs from the first tap
        idle = now - int(state.get("t", 0))
        if state["a"] and idle > self.pages.ctx.config.web.kiosk_idle_seconds:
            notice = i18n.translate(lang, T.KIOSK_IDLE)
            return self._screen(request, point, questionnaire, key, self._fresh(lang), notice)
        tapped = str(form.get("r", ""))
        if tapped:
            index, _, value = tapped.partition(".")
            given: dict[str, Any] | str = (
                kiosk_machine.rate(questionnaire, state["a"], int(index), value)
                if index.isdigit()
                else T.KIOSK_OLD_SCREEN
            )
        else:
            fields = {
                q.id: [str(v) for v in form.getall(q.id, [])]
                for q in kiosk_machine.follow_ups(questionnaire)
            }
            given = kiosk_machine.follow_up(questionnaire, state["a"], fields)
            state["f"] = True
        if isinstance(given, str):
            notice = i18n.translate(lang, given).format(limit=kiosk_machine.COMMENT_MAX)
            return self._screen(request, point, questionnaire, key, self._fresh(lang), notice, 400)
        state.update(a=given, t=now)
        if not kiosk_machine.next_screen(questionnaire, given, bool(state["f"])).complete:
            return self._screen(request, point, questionnaire, key, state)
        async with self.pages.ctx.sessions.begin() as session:
            await kiosk.record_visit(
                self.pages.ctx, session, device, point, questionnaire, given, str(state["n"]), lang
            )
        thanks = (
            questionnaire.thanks(lang)
            if questionnaire.thanks is not None
            else i18n.translate(lang, T.SURVEY_THANKS)
        )
        return self.pages.render(
            "kiosk_thanks.html",
            lang=lang,
            title=point.name_in(lang),
            lines=[thanks, i18n.translate(lang, T.KIOSK_BACK_SOON)],
            refresh=self.pages.ctx.config.web.kiosk_thanks_seconds,
            back=request.path,
        )
