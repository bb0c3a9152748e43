"""`/api/voice/*`: SPEC §7, speech synthesis (streamed `audio/mpeg`) and the voice catalogue."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway.voice import VoiceInfo
from graph.context import RequestContext
from graph.voice import ops
from rest_compat.http import JSONResponse, endpoint, read_object

JOB_HEADER = "X-Clone-Job-Id"


def voice_json(voice: VoiceInfo) -> dict[str, Any]:
    return {
        "voice_id": voice.voice_id,
        "name": voice.name,
        "category": voice.category,
        "description": voice.description,
        "labels": voice.labels,
        "preview_url": voice.preview_url,
    }


class SpeechResponse(StreamingResponse):
    """The audio as the provider sends it; the speech is closed (upstream connection released,
    job closed) however the response ends: complete, failed mid-way, or abandoned."""

    def __init__(self, speech: ops.Speech) -> None:
        super().__init__(
            speech.chunks(),
            media_type=speech.content_type,
            headers={JOB_HEADER: str(speech.job_id), "Cache-Control": "no-store"},
        )
        self.speech = speech

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.speech.close()


@endpoint()
async def synthesize(request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_user()
    speech_request = ops.SpeechRequest.parse(await read_object(request))
    # The audio may take a while: give the request's database connection back to the pool
    # first rather than keep it idle for the whole stream (jobs use their own sessions).
    await ctx.aclose()
    speech = await ops.synthesize(ctx.services, user, speech_request)
    return SpeechResponse(speech)


@endpoint()
async def voices(_request: Request, ctx: RequestContext) -> Response:
    user = await ctx.require_user()
    await ctx.aclose()
    found = await ops.list_voices(ctx.services, user)
    return JSONResponse({"results": [voice_json(voice) for voice in found]})


routes = [
    Route("/synthesize/", synthesize, methods=["POST"]),
    Route("/voices/", voices, methods=["GET"]),
]
