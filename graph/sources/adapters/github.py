"""GitHub: repository webhooks (`X-GitHub-Event` names the payload, `X-GitHub-Delivery` ids it).

Push, pull_request, issues and issue_comment get a sentence of their own; any other event that
names a repository gets a generic one; `ping` (sent once when the hook is created) is not a
memory and stores nothing.
"""

from collections.abc import Callable
from typing import Any

from graph.sources.adapters.common import (
    Draft,
    Headers,
    dig,
    dig_str,
    excerpt,
    first_line,
    first_of,
    kind_for,
    obj,
    parse_time,
    plural,
    string,
    unknown,
)

PROVIDER = "github"
MAX_COMMIT_MESSAGES = 5
_VERBS = {
    "synchronize": "pushed to",
    "ready_for_review": "marked ready for review",
    "converted_to_draft": "converted to draft",
    "review_requested": "requested a review on",
    "review_request_removed": "withdrew a review request on",
    "auto_merge_enabled": "enabled auto-merge on",
    "auto_merge_disabled": "disabled auto-merge on",
}


def delivery_id(payload: dict[str, Any], headers: Headers) -> str | None:
    return string(headers.get("x-github-delivery"))


def adapt(payload: dict[str, Any], headers: Headers) -> list[Draft]:
    event = string(headers.get("x-github-event")) or _infer_event(payload)
    if event == "ping":
        return []
    handler = _HANDLERS.get(event or "")
    if handler is not None:
        return [handler(payload)]
    if event and (payload.get("repository") or payload.get("sender")):
        return [_generic(event, payload)]
    return unknown(PROVIDER, "GitHub", payload)


def _infer_event(payload: dict[str, Any]) -> str | None:
    """The event of a delivery relayed without its headers, from the payload's shape."""
    if "zen" in payload and "hook_id" in payload:
        return "ping"
    if "ref" in payload and isinstance(payload.get("commits"), list):
        return "push"
    if isinstance(payload.get("pull_request"), dict) and "number" in payload:
        return "pull_request"
    if isinstance(payload.get("issue"), dict) and isinstance(payload.get("comment"), dict):
        return "issue_comment"
    if isinstance(payload.get("issue"), dict) and "action" in payload:
        return "issues"
    return None


def _actor(payload: dict[str, Any]) -> str:
    return first_of(dig_str(payload, "sender", "login"), dig_str(payload, "pusher", "name")) or (
        "someone"
    )


def _repo(payload: dict[str, Any]) -> str:
    return dig_str(payload, "repository", "full_name") or "a repository"


def _verb(action: str | None) -> str:
    if not action:
        return "updated"
    return _VERBS.get(action, action.replace("_", " "))


def _push(payload: dict[str, Any]) -> Draft:
    actor = first_of(dig_str(payload, "pusher", "name"), dig_str(payload, "sender", "login"))
    actor = actor or "someone"
    ref = string(payload.get("ref")) or ""
    ref_kind, name = "branch", ref.removeprefix("refs/heads/")
    if ref.startswith("refs/tags/"):
        ref_kind, name = "tag", ref.removeprefix("refs/tags/")
    commits = [c for c in payload.get("commits") or [] if isinstance(c, dict)]
    repo = _repo(payload)
    if payload.get("deleted") is True:
        content = f"{actor} deleted {ref_kind} {name} in {repo}"
    elif not commits and payload.get("created") is True:
        content = f"{actor} created {ref_kind} {name} in {repo}"
    else:
        verb = "force-pushed" if payload.get("forced") is True else "pushed"
        content = f"{actor} {verb} {plural(len(commits), 'commit')} to {repo} ({name})"
        messages = [first_line(_text(c.get("message"))) for c in commits]
        shown = [m for m in messages[:MAX_COMMIT_MESSAGES] if m]
        if shown:
            more = "; …" if len(messages) > MAX_COMMIT_MESSAGES else ""
            content += ": " + "; ".join(shown) + more
    occurred = parse_time(dig(payload, "head_commit", "timestamp")) or parse_time(
        dig(payload, "repository", "pushed_at")
    )
    return Draft("github.push", content, payload, occurred)


def _pull_request(payload: dict[str, Any]) -> Draft:
    pr = obj(payload.get("pull_request"))
    action = string(payload.get("action"))
    if action == "closed":
        action = "merged" if pr.get("merged") is True else "closed"
    number = payload.get("number") or pr.get("number")
    title = string(pr.get("title")) or "(untitled)"
    content = f"{_actor(payload)} {_verb(action)} pull request #{number} in {_repo(payload)}: "
    content += title
    if action == "opened":
        head, base = dig_str(pr, "head", "ref"), dig_str(pr, "base", "ref")
        if head and base:
            content += f" ({head} → {base})"
        if body := excerpt(_text(pr.get("body"))):
            content += f"\n\n{body}"
    stamp = {"merged": "merged_at", "closed": "closed_at", "opened": "created_at"}
    occurred = parse_time(pr.get(stamp.get(action or "", "updated_at"))) or parse_time(
        pr.get("updated_at")
    )
    return Draft("github.pull_request", content, payload, occurred)


def _issues(payload: dict[str, Any]) -> Draft:
    issue = obj(payload.get("issue"))
    action = string(payload.get("action"))
    title = string(issue.get("title")) or "(untitled)"
    verb = _verb(action)
    if action in ("labeled", "unlabeled") and (label := dig_str(payload, "label", "name")):
        verb += f" “{label}” on"
    if action in ("assigned", "unassigned") and (who := dig_str(payload, "assignee", "login")):
        verb += f" {who} to" if action == "assigned" else f" {who} from"
    content = f"{_actor(payload)} {verb} issue #{issue.get('number')} in {_repo(payload)}: {title}"
    if action == "closed" and string(issue.get("state_reason")) == "not_planned":
        content += " (not planned)"
    if action == "opened" and (body := excerpt(_text(issue.get("body")))):
        content += f"\n\n{body}"
    stamp = {"closed": "closed_at", "opened": "created_at"}
    occurred = parse_time(issue.get(stamp.get(action or "", "updated_at"))) or parse_time(
        issue.get("updated_at")
    )
    return Draft("github.issues", content, payload, occurred)


def _issue_comment(payload: dict[str, Any]) -> Draft:
    issue, comment = obj(payload.get("issue")), obj(payload.get("comment"))
    action = string(payload.get("action")) or "created"
    what = "pull request" if issue.get("pull_request") else "issue"
    target = f"{what} #{issue.get('number')} in {_repo(payload)}"
    if title := string(issue.get("title")):
        target += f" ({title})"
    actor = _actor(payload)
    body = excerpt(_text(comment.get("body")))
    if action == "created":
        content = f"{actor} commented on {target}"
        occurred = parse_time(comment.get("created_at"))
    elif action == "edited":
        content = f"{actor} edited a comment on {target}"
        occurred = parse_time(comment.get("updated_at"))
    else:
        content, body = f"{actor} {_verb(action)} a comment on {target}", ""
        occurred = None
    if body:
        content += f": {body}"
    return Draft("github.issue_comment", content, payload, occurred)


def _generic(event: str, payload: dict[str, Any]) -> Draft:
    action = string(payload.get("action"))
    content = f"GitHub {event.replace('_', ' ')} event"
    if action:
        content += f" ({action.replace('_', ' ')})"
    content += f" in {_repo(payload)} by {_actor(payload)}"
    return Draft(kind_for(PROVIDER, event), content, payload, None)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


_HANDLERS: dict[str, Callable[[dict[str, Any]], Draft]] = {
    "push": _push,
    "pull_request": _pull_request,
    "issues": _issues,
    "issue_comment": _issue_comment,
}
