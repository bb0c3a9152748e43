"""GraphQL types of the monitoring domain."""

import strawberry

from graph.monitoring import ops


@strawberry.type(description="Jobs across all accounts, by status.")
class JobCounts:
    running: int
    succeeded: int
    failed: int


@strawberry.type(description="Counts across all accounts (staff only).")
class MonitoringStats:
    users: int
    sessions: int
    events: int
    predictions: int = strawberry.field(description="Predicted replies (continuations apart).")
    continuations: int
    jobs: JobCounts
    events_last_hour: int = strawberry.field(
        description="Events ingested (received) within the last hour."
    )

    @classmethod
    def from_stats(cls, stats: ops.Stats) -> "MonitoringStats":
        return cls(
            users=stats.users,
            sessions=stats.sessions,
            events=stats.events,
            predictions=stats.predictions,
            continuations=stats.continuations,
            jobs=JobCounts(
                running=stats.jobs_running,
                succeeded=stats.jobs_succeeded,
                failed=stats.jobs_failed,
            ),
            events_last_hour=stats.events_last_hour,
        )
