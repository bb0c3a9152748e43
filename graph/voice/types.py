"""GraphQL types of the voice domain."""

import strawberry
from strawberry.scalars import JSON

from gateway.voice import VoiceInfo


@strawberry.type(name="Voice", description="A voice the provider offers for synthesis.")
class VoiceType:
    voice_id: str
    name: str | None
    category: str | None = strawberry.field(description="premade, cloned, generated, …")
    description: str | None
    labels: JSON = strawberry.field(description="The provider's labels (accent, age, …).")
    preview_url: str | None

    @classmethod
    def from_info(cls, voice: VoiceInfo) -> "VoiceType":
        return cls(
            voice_id=voice.voice_id,
            name=voice.name,
            category=voice.category,
            description=voice.description,
            labels=voice.labels,
            preview_url=voice.preview_url,
        )


@strawberry.type(description="Synthesized speech, inline: REST streams the same audio.")
class SpeechResult:
    audio_base64: str = strawberry.field(description="The audio bytes, base64-encoded.")
    content_type: str = strawberry.field(description="audio/mpeg")
    job_id: strawberry.ID = strawberry.field(description="The job recording this call.")
