"""The web survey under load: 100 respondents at once, each an HTTP client keeping its
cookies, complete the survey against ``cchc-bot run`` serving the web channel alone (no
Telegram token) on a temporary SQLite file; then the same clients against a bare aiohttp
process that only renders the same page (Jinja2, the same template) for every request.

    python -m bench.web                    # 100 respondents at once, 3 rounds of each
    python -m bench.web --respondents 200  # more

A survey is seven requests (each form posted whole, as a browser does: the survey state the
page holds with it): the page from the poster's link, four ratings, "no feedback
given", the comment sent. One unmeasured round warms both servers up first.
Printed per server: surveys per second, p50 and p95 per request, the server's CPU seconds
and peak resident memory; and the ratios bot / bare (the figure to watch: what the bot's
survey, database and counting cost over rendering a page). The goal: p95 at most 150 ms per
request with 100 at once on a 2-core machine, and every survey counted once (checked in the
database at the end). The per-address limit is raised for the run, since every client
comes from 127.0.0.1; it is not what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # python bench/web.py: the project's root, not bench/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from bench.children import stop
from bench.load import cpu_seconds, peak_memory_mib

ROOT = Path(__file__).resolve().parents[1]
POINT = "dkdd-huyen"  # four SIPAS ratings, "no feedback given", a comment
ANSWERS = ("4", "5", "3", "4", "khong")


@dataclass
class Run:
    seconds: float
    latencies: list[float]
    surveys: int

    @property
    def rate(self) -> float:
        return self.surveys / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bare_server(port: int) -> None:
    """A page and nothing else: the survey template rendered for every GET and POST."""
    import jinja2
    from aiohttp import web

    from bot.channels.web.pages import HERE
    from surveys import i18n
    from surveys import texts as T

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    env.globals.update(t=i18n.translate, T=T)
    template = env.get_template("survey.html")
    # the five levels and the yes/no of the feedback question: every tap the bot's pages offer
    buttons = [(f"{n} — mức {n}", f"c:tok:0.{n}") for n in range(1, 6)]
    buttons += [("Có", "c:tok:0.co"), ("Không", "c:tok:0.khong")]

    async def page(request: web.Request) -> web.Response:
        if request.method == "POST":
            await request.post()
        html = template.render(
            lang="vi", title="Khảo sát", refresh=None, notice=None, switch=[],
            lines=["Câu 1/4.", "Ông/bà hài lòng thế nào?"], buttons=buttons, free_text=False,
            action=request.path, csrf="0" * 32,
        )  # fmt: skip
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/s/{point}", page)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def bot_config(folder: Path, port: int) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{folder / "bench.sqlite3"}"\n'
        '[survey]\nsecret = "a-benchmark-secret-of-enough-length"\n'
        f'[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\nrequests_per_minute = 100000\n',
        encoding="utf-8",
    )
    return path


def held(html: str) -> dict[str, str]:
    """The survey state the page holds (a hidden field), posted back as a browser does."""
    found = re.search(r'name="s" value="([^"]+)"', html)
    return {"s": found.group(1)} if found else {}


async def respondent(base: str, latencies: list[float], bare: bool) -> None:
    """One citizen: open the link, tap four ratings and "no", send a comment (seven
    requests)."""
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

        async def request(method: str, data: dict[str, str] | None = None) -> str:
            began = time.perf_counter()
            async with http.request(method, f"/s/{POINT}", data=data) as got:
                html = await got.text()
            latencies.append(time.perf_counter() - began)
            if got.status != 200:
                raise SystemExit(f"bench/web: HTTP {got.status}: {html[:200]}")
            return html

        html = await request("GET")
        for answer in ANSWERS:
            csrf = re.search(r'name="csrf" value="([^"]+)"', html)
            tap = re.search(rf'name="a" value="(c:[^"]+:\d+\.{answer})"', html)
            if csrf is None or tap is None:
                raise SystemExit(f"bench/web: no button {answer} on the page: {html[:300]}")
            html = await request("POST", {**held(html), "csrf": csrf.group(1), "a": tap.group(1)})
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf is not None
        done = await request("POST", {**held(html), "csrf": csrf.group(1), "text": "Bench"})
        if not bare and "Cảm ơn" not in done:
            raise SystemExit(f"bench/web: the survey did not finish: {done[:300]}")


async def load(base: str, respondents: int, bare: bool) -> Run:
    latencies: list[float] = []
    began = time.perf_counter()
    await asyncio.gather(*(respondent(base, latencies, bare) for _ in range(respondents)))
    return Run(time.perf_counter() - began, latencies, respondents)


async def until_up(base: str, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise SystemExit(f"bench/web: the server exited:\n{log.read_text()[-2000:]}")
            try:
                async with http.get(f"{base}/s/{POINT}") as got:
                    if got.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise SystemExit("bench/web: the server did not answer within 60 s")


def measure(argv: list[str], port: int, respondents: int, rounds: int, bare: bool, log: Path,
            ) -> tuple[Run, float, float]:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCHC_")}
    with log.open("ab") as out:
        child = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(until_up(base, child, log))
        # one unmeasured round first, on both sides: what is timed is the steady state, not
        # the first requests filling SQLAlchemy's statement cache and Jinja2's templates
        asyncio.run(load(base, respondents, bare))
        cpu_before = cpu_seconds(child.pid)
        runs = [asyncio.run(load(base, respondents, bare)) for _ in range(rounds)]
        cpu = cpu_seconds(child.pid) - cpu_before
        peak = peak_memory_mib(child.pid)
    finally:
        stop([child], grace=30)
    merged = Run(
        sum(r.seconds for r in runs),
        [x for r in runs for x in r.latencies],
        sum(r.surveys for r in runs),
    )
    return merged, cpu, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=100, help="at once (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of them (default 3)")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_server:
        bare_server(args.bare_server)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        folder = Path(tmp)
        log = folder / "server.log"
        port = free_port()
        bot_argv = [sys.executable, "-m", "bot.app.cli", "--config", str(bot_config(folder, port)),
                    "run"]  # fmt: skip
        bot, bot_cpu, bot_peak = measure(
            bot_argv, port, args.respondents, args.rounds, False, log
        )
        with sqlite3.connect(folder / "bench.sqlite3") as db:
            counted, people = db.execute(
                "SELECT count(*), count(DISTINCT respondent) FROM survey_responses"
                " WHERE status = 'counted'"
            ).fetchone()
        port = free_port()
        bare_argv = [sys.executable, "-m", "bench.web", "--bare-server", str(port)]
        bare, bare_cpu, bare_peak = measure(
            bare_argv, port, args.respondents, args.rounds, True, log
        )
    print(f"bench/web: {args.respondents} respondents at once x {args.rounds} rounds, "
          f"{len(bot.latencies)} requests each side; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'':14}{'surveys/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'CPU s':>8}{'peak MiB':>10}")
    for name, run, cpu, peak in (("cchc-bot web", bot, bot_cpu, bot_peak),
                                 ("bare aiohttp", bare, bare_cpu, bare_peak)):  # fmt: skip
        print(f"{name:14}{run.rate:10.1f}{run.percentile(50):9.1f}{run.percentile(95):9.1f}"
              f"{cpu:8.2f}{peak:10.1f}")  # fmt: skip
    print(f"ratio bot/bare: surveys/s {bot.rate / bare.rate:.2f}, "
          f"p95 {bot.percentile(95) / bare.percentile(95):.2f}, CPU {bot_cpu / bare_cpu:.2f}")
    expected = args.respondents * (args.rounds + 1)  # the warm-up round is counted too
    print(f"counted once: {counted} of {expected} surveys, {people} distinct respondents")
    goal = bot.percentile(95) <= 150 and counted == people == expected
    print(f"goal (p95 <= 150 ms, all counted once): {'met' if goal else 'NOT met'}")
    return 0 if counted == people == expected else 1


if __name__ == "__main__":
    sys.exit(main())
