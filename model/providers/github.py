"""The GitHub twin: ``push`` and ``ping`` deliveries with GitHub's headers, signed over the body.

From ``docs/reference.md``: every delivery carries ``X-GitHub-Event``,
``X-GitHub-Delivery`` (a GUID, the same on redelivery), ``X-GitHub-Hook-ID``,
``X-GitHub-Hook-Installation-Target-Type`` and ``-ID``, and a ``User-Agent`` starting
``GitHub-Hookshot/``; receivers built on GitHub's libraries refuse or crash on a delivery
without ``X-GitHub-Event``. Only the body is signed (``X-Hub-Signature-256``), so the
delivery id a receiver deduplicates on is **not** signed. GitHub waits 10 s and never
retries by itself (deliveries can be sent again by hand for 3 days): the ``github``
preset has one attempt.

    >>> import random
    >>> message = GitHubTwin().message(random.Random(1), 1700000000, "ping")
    >>> dict(message.headers)["X-GitHub-Event"], "zen" in message.json()
    ('ping', True)
"""

from __future__ import annotations

import random
from typing import Any

from ..retry import RetryPolicy
from .facts import DedupeId, Timeout
from .ids import digits, encode_json, hex_token, rfc3339, uuid4
from .twin import Twin
from .wire import Message

__all__ = ["GITHUB_POLICY", "GitHubTwin"]

#: GitHub does not retry: the ``github`` preset.
GITHUB_POLICY = RetryPolicy(
    "github",
    max_attempts=1,
    description="GitHub: no automatic retries (manual redelivery within 3 days)",
)

_ZEN = ("Keep it logically awesome.", "Design for failure.", "Speak like a human.",
        "Non-blocking is better than blocking.", "Approachable is better than simple.")


def _repository(rng: random.Random, repo_id: int) -> dict[str, Any]:
    owner = f"octo-org-{rng.randrange(1000)}"
    name = f"hooks-{rng.randrange(1000)}"
    return {"id": repo_id, "name": name, "full_name": f"{owner}/{name}", "private": False,
            "owner": {"login": owner, "id": digits(rng, 8), "type": "Organization"},
            "html_url": f"https://github.com/{owner}/{name}", "default_branch": "main"}


def _sender(rng: random.Random) -> dict[str, Any]:
    login = f"octocat{rng.randrange(1000)}"
    return {"login": login, "id": digits(rng, 8), "type": "User"}


def _push(rng: random.Random, now: int, repository: dict[str, Any],
          sender: dict[str, Any]) -> dict[str, Any]:
    before, after = hex_token(rng, 40), hex_token(rng, 40)
    author = {"name": sender["login"], "email": f"{sender['login']}@users.noreply.github.com",
              "username": sender["login"]}
    commit = {"id": after, "tree_id": hex_token(rng, 40), "distinct": True,
              "message": "Fix the retry schedule", "timestamp": rfc3339(now),
              "url": f"{repository['html_url']}/commit/{after}", "author": author,
              "committer": author, "added": [], "removed": [], "modified": ["README.md"]}
    return {"ref": "refs/heads/main", "before": before, "after": after,
            "repository": repository, "pusher": {"name": author["name"],
                                                 "email": author["email"]},
            "sender": sender, "created": False, "deleted": False, "forced": False,
            "compare": f"{repository['html_url']}/compare/{before[:12]}...{after[:12]}",
            "commits": [commit], "head_commit": commit}


def _ping(rng: random.Random, hook_id: int, repository: dict[str, Any],
          sender: dict[str, Any]) -> dict[str, Any]:
    hook = {"type": "Repository", "id": hook_id, "name": "web", "active": True,
            "events": ["push"], "config": {"content_type": "json", "insecure_ssl": "0",
                                           "url": "https://receiver.example/webhooks"}}
    return {"zen": _ZEN[rng.randrange(len(_ZEN))], "hook_id": hook_id, "hook": hook,
            "repository": repository, "sender": sender}


class GitHubTwin(Twin):
    """GitHub repository webhooks."""

    name = "github"
    title = "GitHub"
    coverage = "full"
    scheme = "github"
    headers = (("User-Agent", "GitHub-Hookshot/044aadd"),)
    event_types = ("push", "ping")
    timeout = Timeout(10)
    policy = GITHUB_POLICY
    dedupe = DedupeId("X-GitHub-Delivery", "header", signed=False)
    sources = ("provider docs: headers, payloads, timeout, no retries, the unsigned id",)

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """A ``push`` or ``ping`` delivery of one repository hook."""
        delivery = uuid4(rng)
        hook_id, repo_id = digits(rng, 9), digits(rng, 9)
        repository, sender = _repository(rng, repo_id), _sender(rng)
        body = (_push(rng, now, repository, sender) if event_type == "push"
                else _ping(rng, hook_id, repository, sender))
        headers = (("X-GitHub-Event", event_type),
                   ("X-GitHub-Hook-ID", str(hook_id)),
                   ("X-GitHub-Hook-Installation-Target-Type", "repository"),
                   ("X-GitHub-Hook-Installation-Target-ID", str(repo_id)))
        return Message(self.name, delivery, event_type, now, encode_json(body),
                       "application/json", headers)
