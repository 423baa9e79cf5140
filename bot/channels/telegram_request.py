"""python-telegram-bot's requests made with aiohttp rather than its default, httpx.

Why: under load the bot spends most of its CPU in the HTTP client, not in its own code.
httpx (with httpcore and anyio under it) costs about three times what aiohttp (whose HTTP
parser is in C) costs per request, and httpcore's pool checks every idle connection on each
request, so its cost grows with the replies sent at once (bench/load.py, README
"Performance"). ``BaseRequest`` is python-telegram-bot's documented interface for another
HTTP library; everything above it (the Bot API methods, the parsing of results, the errors
for each status code, the retries of ``Application``) is python-telegram-bot's own.

Timeouts keep python-telegram-bot's defaults and, as far as aiohttp allows, their meaning:
``read_timeout`` is the wait for each read of the answer (``sock_read``); ``pool_timeout``
(a free connection) and ``connect_timeout`` (the connection) add up to aiohttp's
``connect``, which covers both. aiohttp has no write timeout and counts the read timeout
while a request is still being sent, so for an upload (a chart, a spreadsheet) the read
timeout is lengthened by the write timeout (20 s by default for files, as in PTB).
Parameters are sent as a JSON body, which the Bot API accepts like a form; files as
multipart/form-data. A proxy named by ``HTTPS_PROXY``/``HTTP_PROXY`` (and ``NO_PROXY``) is
used, as python-telegram-bot's default client does: an office network may only reach
Telegram through one. It is looked up once per host, not per request: aiohttp's
``trust_env`` reads the environment and ``~/.netrc`` again for every request (in a worker
thread), which tripled the client's CPU per request (README, "Benchmarks").
"""

from __future__ import annotations

import aiohttp
from aiohttp.helpers import BasicAuth, get_env_proxy_for_url
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

DEFAULT_TIMEOUT = 5.0  # seconds, python-telegram-bot's default read/connect timeout
DEFAULT_POOL_TIMEOUT = 1.0  # python-telegram-bot's default wait for a free connection
MEDIA_WRITE_TIMEOUT = 20.0  # python-telegram-bot's default write timeout for files
JSON = {"Content-Type": "application/json"}


def _seconds(value: object, default: float | None) -> float | None:
    """A timeout argument: BaseRequest.DEFAULT_NONE means "this instance's default"."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    return float(value) if isinstance(value, float | int) else None if value is None else default


def _sum(first: float | None, second: float | None) -> float | None:
    """Two waits one after the other; None (no limit) when either has none."""
    return None if first is None or second is None else first + second


class AiohttpRequest(BaseRequest):
    """Bot API requests over one aiohttp session with up to ``connections`` connections."""

    __slots__ = ("_connections", "_proxies", "_read_timeout", "_session")

    def __init__(self, connections: int = 256, read_timeout: float | None = DEFAULT_TIMEOUT):
        self._connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None
        # (scheme, host, port) -> the proxy the environment names for it, if any
        self._proxies: dict[tuple[str, str, int | None], tuple[URL, BasicAuth | None] | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=False,  # the proxy is looked up once per host: _proxy_for
            )
            self._proxies.clear()  # the environment may have changed since the last session

    def _proxy_for(self, url: str) -> tuple[URL, BasicAuth | None] | None:
        """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` name for this URL's host, unless
        ``NO_PROXY`` exempts it; read from the environment once per host."""
        target = URL(url)
        key = (target.scheme, target.host or "", target.port)
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(target)
            except LookupError:  # no proxy for this host
                self._proxies[key] = None
        return self._proxies[key]

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        read = _seconds(read_timeout, self._read_timeout)
        if files:
            read = _sum(read, _seconds(write_timeout, MEDIA_WRITE_TIMEOUT))
        connect = _sum(
            _seconds(pool_timeout, DEFAULT_POOL_TIMEOUT),
            _seconds(connect_timeout, DEFAULT_TIMEOUT),
        )
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None and files:
            body = aiohttp.FormData(request_data.json_parameters)
            for field, (filename, content, mime) in request_data.multipart_data.items():
                body.add_field(field, content, filename=filename, content_type=mime)
        elif request_data is not None:
            body, headers = request_data.json_payload, JSON
        proxy, proxy_auth = self._proxy_for(url) or (None, None)
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
