"""Voice in GraphQL: thin resolvers over `graph.voice.ops`."""

import base64

import strawberry

from graph.info import Info
from graph.voice import ops
from graph.voice.types import SpeechResult, VoiceType


@strawberry.type
class VoiceQuery:
    @strawberry.field(description="The voices available for synthesis (each listing is a job).")
    async def voices(self, info: Info) -> list[VoiceType]:
        ctx = info.context
        found = await ops.list_voices(ctx.services, await ctx.require_user())
        return [VoiceType.from_info(voice) for voice in found]


@strawberry.type
class VoiceMutation:
    @strawberry.mutation(
        description="Speak `text` (1 to 5000 characters); the audio comes back base64-encoded."
    )
    async def synthesize_speech(
        self,
        info: Info,
        text: str,
        voice_id: str | None = None,
        model_id: str | None = None,
    ) -> SpeechResult:
        ctx = info.context
        user = await ctx.require_user()
        request = ops.SpeechRequest.parse(
            {"text": text, "voice_id": voice_id, "model_id": model_id}
        )
        speech = await ops.synthesize(ctx.services, user, request)
        audio = await speech.read_all()
        return SpeechResult(
            audio_base64=base64.b64encode(audio).decode("ascii"),
            content_type=speech.content_type,
            job_id=strawberry.ID(str(speech.job_id)),
        )
