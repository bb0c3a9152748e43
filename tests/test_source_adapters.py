"""Per-provider adapters: pure functions from a delivery's payload and headers to raw-memory
drafts. Sample payloads follow each provider's documented webhook format, trimmed to the
fields that matter; no database is involved."""

import copy
import hashlib
from datetime import UTC, datetime

import pytest

from graph.sources import adapters
from graph.sources.adapters import common

REPO = {"full_name": "acme/web", "pushed_at": 1778000000}
SENDER = {"login": "alice", "id": 1}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def one(provider: str, payload: dict, headers: dict | None = None) -> adapters.Draft:
    drafts = adapters.adapt(provider, payload, headers or {})
    assert len(drafts) == 1, drafts
    return drafts[0]


# --- GitHub -------------------------------------------------------------------------------------

GITHUB_PUSH = {
    "ref": "refs/heads/main",
    "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
    "created": False,
    "deleted": False,
    "forced": False,
    "repository": REPO,
    "pusher": {"name": "alice", "email": "alice@example.com"},
    "sender": SENDER,
    "commits": [
        {"id": "a1", "message": "Fix login\n\nThe session cookie was not renewed."},
        {"id": "a2", "message": "Add tests"},
        {"id": "a3", "message": "Bump version"},
    ],
    "head_commit": {
        "id": "a3",
        "message": "Bump version",
        "timestamp": "2026-05-05T14:03:00+02:00",
    },
}

GITHUB_PR = {
    "action": "opened",
    "number": 42,
    "pull_request": {
        "number": 42,
        "title": "Fix login redirect",
        "body": "Fixes #7.\r\n\r\nThe redirect lost the `next` parameter.",
        "state": "open",
        "merged": False,
        "created_at": "2026-05-05T09:00:00Z",
        "updated_at": "2026-05-05T09:00:00Z",
        "closed_at": None,
        "merged_at": None,
        "head": {"ref": "fix-login"},
        "base": {"ref": "main"},
        "user": {"login": "alice"},
    },
    "repository": REPO,
    "sender": SENDER,
}


def github(event: str, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958") -> dict:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}


def test_github_push():
    draft = one("github", GITHUB_PUSH, github("push"))
    assert draft.kind == "github.push"
    assert draft.content == (
        "alice pushed 3 commits to acme/web (main): Fix login; Add tests; Bump version"
    )
    assert draft.occurred_at == at("2026-05-05T12:03:00Z")  # the offset is honoured
    assert draft.payload == GITHUB_PUSH


def test_github_push_variants():
    many = copy.deepcopy(GITHUB_PUSH)
    many["commits"] = [{"message": f"change {n}"} for n in range(7)]
    many["forced"] = True
    content = one("github", many, github("push")).content
    assert content.startswith("alice force-pushed 7 commits to acme/web (main): change 0;")
    assert content.endswith("change 4; …")

    deleted = {**GITHUB_PUSH, "ref": "refs/heads/old", "deleted": True, "commits": []}
    deleted.pop("head_commit")
    draft = one("github", deleted, github("push"))
    assert draft.content == "alice deleted branch old in acme/web"
    assert draft.occurred_at == datetime.fromtimestamp(1778000000, UTC)  # repository.pushed_at

    tag = {**GITHUB_PUSH, "ref": "refs/tags/v1.2.0", "created": True, "commits": []}
    assert one("github", tag, github("push")).content == "alice created tag v1.2.0 in acme/web"


def test_github_pull_request_opened_closed_merged():
    opened = one("github", GITHUB_PR, github("pull_request"))
    assert opened.kind == "github.pull_request"
    assert opened.content == (
        "alice opened pull request #42 in acme/web: Fix login redirect (fix-login → main)"
        "\n\nFixes #7. The redirect lost the `next` parameter."
    )
    assert opened.occurred_at == at("2026-05-05T09:00:00Z")

    merged = copy.deepcopy(GITHUB_PR)
    merged["action"] = "closed"
    merged["sender"] = {"login": "bob"}
    merged["pull_request"].update(
        merged=True, closed_at="2026-05-06T10:00:00Z", merged_at="2026-05-06T10:00:00Z"
    )
    draft = one("github", merged, github("pull_request"))
    assert draft.content == "bob merged pull request #42 in acme/web: Fix login redirect"
    assert draft.occurred_at == at("2026-05-06T10:00:00Z")

    closed = copy.deepcopy(GITHUB_PR)
    closed["action"] = "closed"
    closed["pull_request"].update(closed_at="2026-05-07T08:00:00Z")
    draft = one("github", closed, github("pull_request"))
    assert draft.content == "alice closed pull request #42 in acme/web: Fix login redirect"
    assert draft.occurred_at == at("2026-05-07T08:00:00Z")

    synced = {**GITHUB_PR, "action": "synchronize"}
    assert one("github", synced, github("pull_request")).content.startswith(
        "alice pushed to pull request #42"
    )


def test_github_issue_comment_and_issues():
    issue = {
        "number": 7,
        "title": "Login loops",
        "body": "Steps: open /login twice.",
        "state": "open",
        "created_at": "2026-05-01T08:00:00Z",
        "updated_at": "2026-05-02T08:00:00Z",
        "closed_at": "2026-05-03T08:00:00Z",
        "state_reason": "not_planned",
    }
    comment = {
        "action": "created",
        "issue": issue,
        "comment": {
            "id": 99,
            "body": "I can reproduce this\non Firefox.",
            "created_at": "2026-05-02T09:30:00Z",
            "updated_at": "2026-05-02T09:30:00Z",
            "user": {"login": "carol"},
        },
        "repository": REPO,
        "sender": {"login": "carol"},
    }
    draft = one("github", comment, github("issue_comment"))
    assert draft.kind == "github.issue_comment"
    assert draft.content == (
        "carol commented on issue #7 in acme/web (Login loops): I can reproduce this on Firefox."
    )
    assert draft.occurred_at == at("2026-05-02T09:30:00Z")

    on_pr = copy.deepcopy(comment)
    on_pr["issue"]["pull_request"] = {"url": "https://api.github.com/repos/acme/web/pulls/7"}
    assert "commented on pull request #7" in one("github", on_pr, github("issue_comment")).content

    opened = one(
        "github",
        {"action": "opened", "issue": issue, "repository": REPO, "sender": SENDER},
        github("issues"),
    )
    assert opened.kind == "github.issues"
    assert opened.content == (
        "alice opened issue #7 in acme/web: Login loops\n\nSteps: open /login twice."
    )
    assert opened.occurred_at == at("2026-05-01T08:00:00Z")
    closed = one(
        "github",
        {"action": "closed", "issue": issue, "repository": REPO, "sender": SENDER},
        github("issues"),
    )
    assert closed.content == "alice closed issue #7 in acme/web: Login loops (not planned)"
    assert closed.occurred_at == at("2026-05-03T08:00:00Z")


def test_github_without_event_header_is_inferred_and_ping_stores_nothing():
    assert one("github", GITHUB_PUSH).kind == "github.push"
    assert one("github", GITHUB_PR).kind == "github.pull_request"
    ping = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {}, "repository": REPO}
    assert adapters.adapt("github", ping, github("ping")) == []
    assert adapters.adapt("github", ping, {}) == []


def test_github_other_events_get_a_generic_sentence():
    star = {
        "action": "created",
        "starred_at": "2026-05-05T10:00:00Z",
        "repository": REPO,
        "sender": SENDER,
    }
    draft = one("github", star, github("star"))
    assert draft.kind == "github.star"
    assert draft.content == "GitHub star event (created) in acme/web by alice"
    assert draft.occurred_at is None  # the operation uses the time of receipt


def test_github_event_header_is_not_trusted_as_a_kind():
    weird = one("github", {"repository": REPO}, github("Drop Table; --" + "x" * 80))
    assert weird.kind == "github.unknown"


# --- Slack --------------------------------------------------------------------------------------

SLACK_MESSAGE = {
    "token": "XXYYZZ",
    "team_id": "T061EG9R6",
    "api_app_id": "A0PNCHHK2",
    "event": {
        "type": "message",
        "channel": "C024BE91L",
        "user": "U2147483697",
        "text": "Shipping the release at 5pm",
        "ts": "1778000000.000200",
        "event_ts": "1778000000.000200",
        "channel_type": "channel",
    },
    "type": "event_callback",
    "event_id": "Ev08MFMKH6",
    "event_time": 1778000000,
}


def test_slack_message():
    draft = one("slack", SLACK_MESSAGE)
    assert draft.kind == "slack.message"
    assert draft.content == (
        "Slack message from U2147483697 in channel C024BE91L: Shipping the release at 5pm"
    )
    assert draft.occurred_at == datetime.fromtimestamp(1778000000.0002, UTC)
    assert draft.payload == SLACK_MESSAGE
    assert adapters.delivery_id("slack", SLACK_MESSAGE, {}, b"") == "Ev08MFMKH6"


def test_slack_thread_dm_edit_and_reaction():
    thread = copy.deepcopy(SLACK_MESSAGE)
    thread["event"].update(thread_ts="1777990000.000100", text="on it")
    assert one("slack", thread).content == (
        "Slack message from U2147483697 in channel C024BE91L, in the thread 1777990000.000100: "
        "on it"
    )

    dm = copy.deepcopy(SLACK_MESSAGE)
    dm["event"].update(channel="D024BE91L", channel_type="im", text="lunch?")
    assert "in a direct message (D024BE91L): lunch?" in one("slack", dm).content

    edited = copy.deepcopy(SLACK_MESSAGE)
    edited["event"] = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C024BE91L",
        "ts": "1778000100.000300",
        "message": {"user": "U2147483697", "text": "Shipping at 6pm", "ts": "1778000000.000200"},
    }
    draft = one("slack", edited)
    assert draft.content == (
        "U2147483697 edited a Slack message in channel C024BE91L: Shipping at 6pm"
    )
    assert draft.occurred_at == datetime.fromtimestamp(1778000100.0003, UTC)

    reaction = copy.deepcopy(SLACK_MESSAGE)
    reaction["event"] = {
        "type": "reaction_added",
        "user": "U1",
        "reaction": "thumbsup",
        "item": {"type": "message", "channel": "C024BE91L", "ts": "1778000000.000200"},
        "event_ts": "1778000200.000100",
    }
    draft = one("slack", reaction)
    assert draft.kind == "slack.reaction_added"
    assert draft.content == "U1 reacted :thumbsup: to a message in channel C024BE91L"


def test_slack_url_verification_is_a_handshake():
    challenge = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    assert adapters.handshake("slack", challenge, {}) == {"challenge": challenge["challenge"]}
    assert adapters.handshake("slack", SLACK_MESSAGE, {}) is None
    assert adapters.handshake("github", challenge, {}) is None


def test_slack_other_envelopes_are_unknown():
    draft = one("slack", {"type": "block_actions", "user": {"id": "U1"}})
    assert draft.kind == "slack.unknown"
    assert draft.content.startswith('Unrecognized Slack payload: {"type":"block_actions"')


# --- Linear -------------------------------------------------------------------------------------

LINEAR_ISSUE = {
    "action": "create",
    "type": "Issue",
    "actor": {"id": "2e2c", "type": "user", "name": "Ada Lovelace"},
    "createdAt": "2026-05-05T10:00:01.000Z",
    "data": {
        "id": "9cfb482a-81e3-4154-b5b9-2c805e70a02d",
        "identifier": "ENG-123",
        "title": "Fix login loop",
        "description": "Users are sent back to /login.",
        "priority": 2,
        "priorityLabel": "High",
        "state": {"id": "s1", "name": "Todo", "type": "unstarted"},
        "team": {"id": "t1", "key": "ENG", "name": "Engineering"},
        "createdAt": "2026-05-05T10:00:00.000Z",
        "updatedAt": "2026-05-05T10:00:00.000Z",
    },
    "url": "https://linear.app/acme/issue/ENG-123/fix-login-loop",
    "organizationId": "org1",
    "webhookTimestamp": 1778061601000,
    "webhookId": "wh-0001",
}


def test_linear_issue_created_and_updated():
    draft = one("linear", LINEAR_ISSUE, {"Linear-Delivery": "d-1", "Linear-Event": "Issue"})
    assert draft.kind == "linear.issue"
    assert draft.content == (
        "Ada Lovelace created issue ENG-123: Fix login loop (Todo)"
        "\n\nUsers are sent back to /login."
    )
    assert draft.occurred_at == at("2026-05-05T10:00:00Z")

    update = copy.deepcopy(LINEAR_ISSUE)
    update["action"] = "update"
    update["data"].update(
        state={"id": "s3", "name": "Done", "type": "completed"},
        assignee={"id": "u2", "name": "Grace"},
        updatedAt="2026-05-06T15:30:00.000Z",
    )
    update["updatedFrom"] = {"stateId": "s1", "assigneeId": None, "updatedAt": "x"}
    draft = one("linear", update)
    assert draft.content == (
        "Ada Lovelace updated issue ENG-123 (Fix login loop): moved to Done; assigned to Grace"
    )
    assert draft.occurred_at == at("2026-05-06T15:30:00Z")

    removed = {**LINEAR_ISSUE, "action": "remove"}
    assert one("linear", removed).content == "Ada Lovelace deleted issue ENG-123: Fix login loop"


def test_linear_comment_and_other_entities():
    comment = {
        "action": "create",
        "type": "Comment",
        "createdAt": "2026-05-05T11:00:00.500Z",
        "data": {
            "id": "c1",
            "body": "Reproduced on staging.",
            "issueId": "9cfb",
            "issue": {"id": "9cfb", "identifier": "ENG-123", "title": "Fix login loop"},
            "user": {"id": "u3", "name": "Grace Hopper"},
            "createdAt": "2026-05-05T11:00:00.000Z",
        },
        "webhookId": "wh-0001",
        "webhookTimestamp": 1778065200500,
    }
    draft = one("linear", comment)
    assert draft.kind == "linear.comment"
    assert draft.content == (
        "Grace Hopper commented on ENG-123 (Fix login loop): Reproduced on staging."
    )
    assert draft.occurred_at == at("2026-05-05T11:00:00Z")

    project = {
        "action": "update",
        "type": "ProjectUpdate",
        "createdAt": "2026-05-05T12:00:00Z",
        "data": {"id": "p1", "name": "Q2 launch"},
    }
    draft = one("linear", project)
    assert draft.kind == "linear.project_update"
    assert draft.content == "someone updated a Linear project update: Q2 launch"
    assert draft.occurred_at == at("2026-05-05T12:00:00Z")  # the webhook's own time


def test_linear_delivery_ids():
    assert adapters.delivery_id("linear", LINEAR_ISSUE, {"Linear-Delivery": "d-1"}, b"{}") == "d-1"
    derived = adapters.delivery_id("linear", LINEAR_ISSUE, {}, b"{}")
    assert derived.startswith("wh-0001:2026-05-05T10:00:01.000Z:Issue:create:")
    assert derived != adapters.delivery_id("linear", {**LINEAR_ISSUE, "action": "update"}, {}, b"")


# --- Notion -------------------------------------------------------------------------------------

NOTION_EVENT = {
    "id": "367cba44-b6f3-4c92-81e7-6a2e9659efd4",
    "timestamp": "2026-05-05T23:55:34.285Z",
    "workspace_id": "13950b26-c203-4f3b-b97d-93ec06319565",
    "workspace_name": "Acme",
    "subscription_id": "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
    "integration_id": "0ef2e755-4912-8096-91c1-00376a88a5ca",
    "type": "page.created",
    "authors": [{"id": "c7c11cca-1d73-471d-9b6e-bdef51470190", "type": "person"}],
    "attempt_number": 1,
    "entity": {"id": "153104cd-477e-809d-8dc4-ff2d96ae3090", "type": "page"},
    "data": {"parent": {"id": "13950b26-c203-4f3b-b97d-93ec06319565", "type": "space"}},
}


def test_notion_page_events():
    draft = one("notion", NOTION_EVENT)
    assert draft.kind == "notion.page.created"
    assert draft.content == (
        "Notion page 153104cd-477e-809d-8dc4-ff2d96ae3090 created in workspace Acme, "
        "by person c7c11cca-1d73-471d-9b6e-bdef51470190"
    )
    assert draft.occurred_at == at("2026-05-05T23:55:34.285Z")
    assert adapters.delivery_id("notion", NOTION_EVENT, {}, b"") == NOTION_EVENT["id"]

    updated = copy.deepcopy(NOTION_EVENT)
    updated["type"] = "page.content_updated"
    updated["data"]["updated_blocks"] = [{"id": "b1", "type": "block"}, {"id": "b2"}]
    draft = one("notion", updated)
    assert draft.kind == "notion.page.content_updated"
    assert "content updated (2 blocks) in workspace Acme" in draft.content

    props = copy.deepcopy(NOTION_EVENT)
    props["type"] = "page.properties_updated"
    props["data"]["updated_properties"] = ["title"]
    assert "properties updated (1 property)" in one("notion", props).content


def test_notion_automation_page_and_verification():
    automation = {
        "source": {
            "type": "automation",
            "automation_id": "a1",
            "action_id": "x1",
            "event_id": "e-77",
            "attempt": 1,
        },
        "data": {
            "object": "page",
            "id": "1a2b3c4d",
            "created_time": "2026-05-01T08:00:00.000Z",
            "last_edited_time": "2026-05-05T08:15:00.000Z",
            "properties": {
                "Status": {"id": "s", "type": "status", "status": {"name": "Doing"}},
                "Name": {
                    "id": "title",
                    "type": "title",
                    "title": [{"type": "text", "plain_text": "Q2 "}, {"plain_text": "roadmap"}],
                },
            },
            "url": "https://www.notion.so/Q2-roadmap-1a2b3c4d",
        },
    }
    draft = one("notion", automation)
    assert draft.kind == "notion.page"
    assert draft.content == (
        "Notion page “Q2 roadmap” updated (sent by a database automation): "
        "https://www.notion.so/Q2-roadmap-1a2b3c4d"
    )
    assert draft.occurred_at == at("2026-05-05T08:15:00Z")
    assert adapters.delivery_id("notion", automation, {}, b"") == "e-77"

    verification = {"verification_token": "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"}
    draft = one("notion", verification)
    assert draft.kind == "notion.verification"
    assert draft.payload == verification


# --- Google Drive -------------------------------------------------------------------------------

DRIVE_HEADERS = {
    "X-Goog-Channel-ID": "01234567-89ab-cdef-0123-456789abcdef",
    "X-Goog-Channel-Token": "channel-secret",
    "X-Goog-Channel-Expiration": "Tue, 19 May 2026 01:13:52 GMT",
    "X-Goog-Resource-ID": "ret08u3rv24htgh289g",
    "X-Goog-Resource-URI": "https://www.googleapis.com/drive/v3/files/1AbCdEf?alt=json",
    "X-Goog-Resource-State": "update",
    "X-Goog-Changed": "content,properties",
    "X-Goog-Message-Number": "10",
}


def test_drive_push_notification():
    draft = one("drive", {}, DRIVE_HEADERS)
    assert draft.kind == "drive.update"
    assert draft.content == "Google Drive file 1AbCdEf was updated (content, properties changed)"
    assert draft.occurred_at is None
    assert draft.payload["body"] == {}
    assert draft.payload["headers"]["x-goog-resource-state"] == "update"
    assert "x-goog-channel-token" not in draft.payload["headers"]  # a secret is not memory
    assert adapters.delivery_id("drive", {}, DRIVE_HEADERS, b"") == (
        "01234567-89ab-cdef-0123-456789abcdef:ret08u3rv24htgh289g:10"
    )
    trashed = one("drive", {}, {**DRIVE_HEADERS, "X-Goog-Resource-State": "trash"})
    assert trashed.content.startswith("Google Drive file 1AbCdEf was moved to the trash")
    sync = {**DRIVE_HEADERS, "X-Goog-Resource-State": "sync", "X-Goog-Message-Number": "1"}
    assert adapters.adapt("drive", {}, sync) == []


def test_drive_change_resources():
    change = {
        "kind": "drive#change",
        "changeType": "file",
        "time": "2026-05-05T16:20:00.000Z",
        "removed": False,
        "fileId": "1AbCdEf",
        "file": {
            "kind": "drive#file",
            "id": "1AbCdEf",
            "name": "Budget 2026",
            "mimeType": "application/vnd.google-apps.spreadsheet",
            "modifiedTime": "2026-05-05T16:19:58.000Z",
            "lastModifyingUser": {"displayName": "Ada Lovelace"},
        },
    }
    draft = one("drive", change)
    assert draft.kind == "drive.change"
    assert draft.content == (
        "Google Drive file “Budget 2026” changed (last modified by Ada Lovelace)"
    )
    assert draft.occurred_at == at("2026-05-05T16:20:00Z")

    removed = {
        "kind": "drive#change",
        "removed": True,
        "fileId": "9Zz",
        "time": "2026-05-06T00:00:00Z",
    }
    listing = {"kind": "drive#changeList", "newStartPageToken": "42", "changes": [change, removed]}
    drafts = adapters.adapt("drive", listing, {})
    assert [d.content for d in drafts] == [
        "Google Drive file “Budget 2026” changed (last modified by Ada Lovelace)",
        "Google Drive file 9Zz was removed",
    ]
    assert drafts[1].payload == removed  # each row keeps its own change


# --- shared rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["github", "slack", "linear", "notion", "drive"])
def test_unknown_shapes_are_kept_as_they_came(provider):
    payload = {"hello": "world", "nested": {"n": 1}}
    draft = one(provider, payload)
    assert draft.kind == f"{provider}.unknown"
    assert draft.payload == payload
    assert draft.content.endswith('payload: {"hello":"world","nested":{"n":1}}')
    assert draft.occurred_at is None


def test_a_failing_adapter_degrades_to_unknown(monkeypatch):
    def broken(payload, headers):
        raise KeyError("surprise")

    monkeypatch.setattr(
        adapters,
        "ADAPTERS",
        {**adapters.ADAPTERS, "github": adapters.Adapter("GitHub", broken, lambda p, h: None)},
    )
    draft = one("github", {"a": 1})
    assert draft.kind == "github.unknown"
    assert draft.payload == {"a": 1}


def test_delivery_id_fallbacks():
    body = b'{"a": 1}'
    generic = adapters.delivery_id("notion", {"a": 1}, {"X-Clone-Delivery-Id": "mine-1"}, body)
    assert generic == "mine-1"
    hashed = adapters.delivery_id("notion", {"a": 1}, {}, body)
    assert hashed == "sha256:" + hashlib.sha256(body).hexdigest()
    assert adapters.delivery_id("notion", {"a": 1}, {}, b'{"a": 2}') != hashed
    long = adapters.delivery_id("github", {}, {"X-GitHub-Delivery": "x" * 500}, body)
    assert long.startswith("sha256:")
    assert len(long) == len("sha256:") + 64
    assert adapters.delivery_id("github", {}, github("push", "abc"), body) == "abc"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-05-05T12:00:00Z", "2026-05-05T12:00:00+00:00"),
        ("2026-05-05T14:00:00+02:00", "2026-05-05T12:00:00+00:00"),
        ("2026-05-05T12:00:00", "2026-05-05T12:00:00+00:00"),  # naive: read as UTC
        (1778000000, "2026-05-05T16:53:20+00:00"),
        (1778000000000, "2026-05-05T16:53:20+00:00"),  # milliseconds
        ("1778000000.000100", "2026-05-05T16:53:20.000100+00:00"),  # Slack's ts
        ("yesterday", None),
        (True, None),
        (None, None),
        (12, None),  # not a plausible time of an event
        ("9999-12-31T23:59:59-05:00", None),  # past the end of the calendar in UTC
    ],
)
def test_parse_time(value, expected):
    parsed = common.parse_time(value)
    assert (parsed.isoformat() if parsed else None) == expected
