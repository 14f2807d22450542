"""A small GitLab for tests: REST API v4 as an httpx2 transport, in memory, stateful.

GitLab cannot run here, so this follows GitLab's own documentation of each request and response and
nothing else (gitlabhq/gitlabhq, doc/api/, as published at https://docs.gitlab.com/api/):

- rest/_index.md: the `/api/v4` prefix under the instance's URL (also under a relative URL root),
  offset pagination with `page` and `per_page` (default 20, max 100) and the `x-next-page` (empty on
  the last page), `x-page`, `x-per-page`, `x-prev-page`, `x-total`, `x-total-pages` and `Link` headers.
- rest/authentication.md: the `PRIVATE-TOKEN` header; 401 `{"message": "401 Unauthorized"}`.
- rest/troubleshooting.md: 201 for a POST that creates, 204 for a DELETE, errors as `{"message": ...}`
  (400 "title" not given, 403 Forbidden, 404 Not Found), 429 when rate limited.
- users.md: GET /user (the token's user), GET /users?username=.
- projects.md: visibility (a private project is seen by its members, an internal one by every
  signed-in user), GET /projects (membership, archived, with_issues_enabled, order_by, sort) and
  GET /projects/:id with id, name, path, path_with_namespace, description, created_at, web_url,
  open_issues_count and namespace {id, name, path, kind, full_path}.
- members.md: GET /groups/:id/members/all and /projects/:id/members/all[/:user_id], access levels
  10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner (effective, inherited included).
- labels.md: GET /projects/:id/labels (include_ancestor_groups), colors as "#rrggbb".
- issues.md: list project and group issues (state, labels, not[labels], author_id, author_username,
  assignee_id=None, assignee_username, search, created_after, updated_after, iids[], order_by
  created_at/updated_at/relative_position, sort, with_labels_details); get one; create (title,
  description, labels, assignee_ids; missing labels are created); edit (title, description,
  assignee_ids, labels, add_labels, remove_labels, state_event close/reopen; at least one needed);
  delete ("only for administrators and project owners", 204). Issues carry id, iid, project_id, title,
  description, state, labels, assignees, assignee, author, closed_by, created_at, updated_at,
  closed_at, user_notes_count, web_url and references.
- notes.md: list (sort, order_by) and create issue notes; system notes are listed with system=true.
- user/admin_area/settings/user_and_ip_rate_limits.md: a throttled request gets 429 with Retry-After
  and RateLimit-* headers and the body "Retry later".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx2

Json = dict[str, Any]
TOKEN = "glpat-fake-token-alice"
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
DEFAULT_COLOR = "#6699cc"


class Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class User:
    id: int
    username: str
    name: str


@dataclass
class Group:
    id: int
    path: str  # full path, e.g. acme or acme/platform
    name: str
    members: dict[int, int] = field(default_factory=dict[int, int])  # user id -> access level


@dataclass
class Project:
    id: int
    path: str
    name: str
    namespace: Group | User
    description: str | None = None
    members: dict[int, int] = field(default_factory=dict[int, int])
    labels: dict[str, str] = field(default_factory=dict[str, str])  # name -> color
    next_iid: int = 1
    created_at: str = "2025-06-01T08:00:00.000Z"
    visibility: str = "private"  # internal and public projects are visible to every signed-in user

    @property
    def full_path(self) -> str:
        owner = self.namespace.path if isinstance(self.namespace, Group) else self.namespace.username
        return f"{owner}/{self.path}"


class FakeGitLab:
    """GitLab at https://gitlab.example.com{prefix}; `transport()` is what the adapter's client sends through."""

    def __init__(self, prefix: str = "") -> None:
        self.host = "https://gitlab.example.com" + prefix
        self.prefix = prefix
        self.users: dict[int, User] = {}
        self.tokens: dict[str, int] = {}
        self.groups: dict[int, Group] = {}
        self.projects: dict[int, Project] = {}
        self.issues: dict[int, Json] = {}  # global id -> issue as GitLab shows it (labels as names)
        self.positions: dict[int, int] = {}  # global id -> relative_position, GitLab's manual board order
        self.notes: dict[int, list[Json]] = {}  # issue id -> notes
        self.admins: set[int] = set()
        self.now = datetime.now(UTC).replace(microsecond=0)  # GitLab's clock, near ours; each change ticks it
        self.next_id = 500
        self.requests: list[httpx2.Request] = []
        self.throttle = 0  # answer this many requests with 429
        self.drop_post_responses = 0  # apply this many POSTs, then drop the connection before answering
        self.lose_posts = 0  # drop this many POSTs before applying them
        self.current: httpx2.Request | None = None

    # The world

    def add_user(self, user_id: int, username: str, name: str, token: str | None = None) -> User:
        user = User(user_id, username, name)
        self.users[user_id] = user
        if token:
            self.tokens[token] = user_id
        return user

    def add_group(self, group_id: int, path: str, name: str, members: dict[int, int]) -> Group:
        group = Group(group_id, path, name, dict(members))
        self.groups[group_id] = group
        return group

    def add_project(
        self, project_id: int, namespace: Group | User, path: str, name: str, members: dict[int, int] | None = None
    ) -> Project:
        project = Project(project_id, path, name, namespace, members=dict(members or {}))
        self.projects[project_id] = project
        return project

    def file_issue(
        self,
        project_id: int,
        author: str,
        title: str,
        description: str,
        *,
        labels: Iterable[str] = (),
        assignee: str | None = None,
        closed: bool = False,
    ) -> Json:
        """An issue filed by someone in GitLab's own UI: the same request, as that user."""
        me = next(u for u in self.users.values() if u.username == author)
        body: Json = {"title": title, "description": description, "labels": ",".join(labels)}
        if assignee:
            body["assignee_ids"] = [next(u.id for u in self.users.values() if u.username == assignee)]
        issue = json.loads(self.create_issue(me, httpx2.QueryParams(), body, project_id).content)
        if closed:
            self.edit_issue(me, httpx2.QueryParams(), {"state_event": "close"}, project_id, issue["iid"])
        return issue

    def tick(self) -> str:
        self.now += timedelta(seconds=1, milliseconds=7)
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    # Access

    def level(self, user_id: int, project: Project) -> int:
        """The effective access level: the project's own membership or an ancestor group's, the higher."""
        levels = [project.members.get(user_id, 0)]
        if isinstance(project.namespace, Group):
            for group in self.groups.values():
                if project.namespace.path == group.path or project.namespace.path.startswith(group.path + "/"):
                    levels.append(group.members.get(user_id, 0))
        elif project.namespace.id == user_id:
            levels.append(OWNER)
        return max(levels)

    def visible(self, user_id: int, project: Project) -> bool:
        return project.visibility != "private" or user_id in self.admins or self.level(user_id, project) >= GUEST

    # Requests

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        self.current = request
        path = request.url.path
        if not path.startswith(self.prefix + "/api/v4/"):
            return httpx2.Response(
                404, text="<html><body>Not Found</body></html>", headers={"content-type": "text/html"}
            )
        if self.throttle:
            self.throttle -= 1
            return httpx2.Response(
                429, text="Retry later",
                headers={"retry-after": "1", "ratelimit-limit": "600", "ratelimit-observed": "601",
                         "ratelimit-remaining": "0", "ratelimit-reset": "1772442061",
                         "ratelimit-resettime": "Mon, 02 Mar 2026 09:01:01 GMT", "content-type": "text/plain"},
            )  # fmt: skip
        user_id = self.tokens.get(request.headers.get("private-token", ""))
        if user_id is None:
            return _json(401, {"message": "401 Unauthorized"})
        if request.method == "POST" and self.lose_posts:
            self.lose_posts -= 1
            raise httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        route = path[len(self.prefix + "/api/v4") :]
        params = request.url.params
        body: Json = json.loads(request.content) if request.content else {}
        try:
            response = self.route(request.method, route, params, body, self.users[user_id], request)
        except Reject as rejection:
            return _json(rejection.status, {"message": rejection.message})
        if request.method == "POST" and self.drop_post_responses:
            self.drop_post_responses -= 1
            raise httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return response

    def route(
        self, method: str, route: str, params: httpx2.QueryParams, body: Json, me: User, request: httpx2.Request
    ) -> httpx2.Response:
        routes: list[tuple[str, str, Callable[..., httpx2.Response]]] = [
            ("GET", r"/user", self.get_user),
            ("GET", r"/users", self.find_users),
            ("GET", r"/projects", self.list_projects),
            ("GET", r"/projects/(\d+)", self.get_project),
            ("GET", r"/projects/(\d+)/labels", self.list_labels),
            ("GET", r"/projects/(\d+)/members/all", self.project_members),
            ("GET", r"/projects/(\d+)/members/all/(\d+)", self.project_member),
            ("GET", r"/groups/(\d+)/members/all", self.group_members),
            ("GET", r"/groups/(\d+)/members/all/(\d+)", self.group_member),
            ("GET", r"/projects/(\d+)/issues", self.list_project_issues),
            ("GET", r"/groups/(\d+)/issues", self.list_group_issues),
            ("POST", r"/projects/(\d+)/issues", self.create_issue),
            ("GET", r"/projects/(\d+)/issues/(\d+)", self.get_issue),
            ("PUT", r"/projects/(\d+)/issues/(\d+)", self.edit_issue),
            ("DELETE", r"/projects/(\d+)/issues/(\d+)", self.delete_issue),
            ("GET", r"/projects/(\d+)/issues/(\d+)/notes", self.list_notes),
            ("POST", r"/projects/(\d+)/issues/(\d+)/notes", self.create_note),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, route)
            if match and verb == method:
                return handler(me, params, body, *(int(g) for g in match.groups()))
        if any(re.fullmatch(pattern, route) for _, pattern, _ in routes):
            raise Reject(405, "405 Method Not Allowed")
        raise Reject(404, "404 Not Found")

    # Users and members

    def user_json(self, user: User) -> Json:
        return {"id": user.id, "username": user.username, "name": user.name, "state": "active",
                "avatar_url": None, "web_url": f"{self.host}/{user.username}"}  # fmt: skip

    def get_user(self, me: User, params: httpx2.QueryParams, body: Json) -> httpx2.Response:
        return _json(
            200, {**self.user_json(me), "created_at": "2024-01-01T00:00:00.000Z", "bio": "", "is_admin": False}
        )

    def find_users(self, me: User, params: httpx2.QueryParams, body: Json) -> httpx2.Response:
        wanted = params.get("username", "").casefold()
        return _json(200, [self.user_json(u) for u in self.users.values() if u.username.casefold() == wanted])

    def member_json(self, user_id: int, level: int) -> Json:
        return {**self.user_json(self.users[user_id]), "access_level": level, "expires_at": None}

    def project_members(self, me: User, params: httpx2.QueryParams, body: Json, project_id: int) -> httpx2.Response:
        project = self.project(me, project_id)
        levels = {uid: self.level(uid, project) for uid in self.users}
        return self.paged(params, [self.member_json(uid, lv) for uid, lv in levels.items() if lv >= GUEST])

    def project_member(self, me: User, params: httpx2.QueryParams, body: Json, pid: int, uid: int) -> httpx2.Response:
        level = self.level(uid, self.project(me, pid)) if uid in self.users else 0
        if level < GUEST:
            raise Reject(404, "404 Not found")
        return _json(200, self.member_json(uid, level))

    def group(self, me: User, group_id: int) -> Group:
        group = self.groups.get(group_id)
        if group is None or not any(self.visible(me.id, p) for p in self.projects_of(group)):
            raise Reject(404, "404 Group Not Found")
        return group

    def projects_of(self, group: Group) -> list[Project]:
        return [p for p in self.projects.values() if isinstance(p.namespace, Group)
                and (p.namespace.path == group.path or p.namespace.path.startswith(group.path + "/"))]  # fmt: skip

    def group_members(self, me: User, params: httpx2.QueryParams, body: Json, group_id: int) -> httpx2.Response:
        group = self.group(me, group_id)
        return self.paged(params, [self.member_json(uid, level) for uid, level in group.members.items()])

    def group_member(self, me: User, params: httpx2.QueryParams, body: Json, gid: int, uid: int) -> httpx2.Response:
        level = self.group(me, gid).members.get(uid)
        if level is None:
            raise Reject(404, "404 Not found")
        return _json(200, self.member_json(uid, level))

    # Projects and labels

    def project(self, me: User, project_id: int) -> Project:
        project = self.projects.get(project_id)
        if project is None or not self.visible(me.id, project):
            raise Reject(404, "404 Project Not Found")
        return project

    def project_json(self, project: Project) -> Json:
        space = project.namespace
        if isinstance(space, Group):
            namespace = {"id": space.id, "name": space.name, "path": space.path.rsplit("/", 1)[-1], "kind": "group",
                         "full_path": space.path, "parent_id": None, "avatar_url": None,
                         "web_url": f"{self.host}/groups/{space.path}"}  # fmt: skip
        else:  # a personal namespace has an id of its own, not the user's
            namespace = {"id": 9000 + space.id, "name": space.name, "path": space.username, "kind": "user",
                         "full_path": space.username, "parent_id": None, "avatar_url": None,
                         "web_url": f"{self.host}/{space.username}"}  # fmt: skip
        opened = sum(1 for i in self.issues.values() if i["project_id"] == project.id and i["state"] == "opened")
        return {
            "id": project.id, "description": project.description, "name": project.name,
            "name_with_namespace": f"{space.name} / {project.name}", "path": project.path,
            "path_with_namespace": project.full_path, "created_at": project.created_at, "default_branch": "main",
            "web_url": f"{self.host}/{project.full_path}", "issues_enabled": True, "open_issues_count": opened,
            "archived": False, "visibility": project.visibility, "namespace": namespace,
            "last_activity_at": project.created_at,
        }  # fmt: skip

    def list_projects(self, me: User, params: httpx2.QueryParams, body: Json) -> httpx2.Response:
        projects = [p for p in self.projects.values() if self.visible(me.id, p)]
        if params.get("membership") == "true":
            projects = [p for p in projects if self.level(me.id, p) >= GUEST]
        projects.sort(key=lambda p: p.id, reverse=params.get("sort", "desc") == "desc")
        return self.paged(params, [self.project_json(p) for p in projects])

    def get_project(self, me: User, params: httpx2.QueryParams, body: Json, project_id: int) -> httpx2.Response:
        return _json(200, self.project_json(self.project(me, project_id)))

    def label_json(self, project: Project, name: str) -> Json:
        return {"id": 7000 + sorted(project.labels).index(name), "name": name, "color": project.labels[name],
                "text_color": "#FFFFFF", "description": None, "subscribed": False, "priority": None,
                "is_project_label": True}  # fmt: skip

    def list_labels(self, me: User, params: httpx2.QueryParams, body: Json, project_id: int) -> httpx2.Response:
        project = self.project(me, project_id)
        return self.paged(params, [self.label_json(project, name) for name in sorted(project.labels)])

    # Issues

    def issue_json(self, issue: Json, details: bool = False) -> Json:
        project = self.projects[issue["project_id"]]
        shown = dict(issue)
        if details:
            shown["labels"] = [self.label_json(project, name) for name in issue["labels"]]
        shown["user_notes_count"] = sum(1 for n in self.notes.get(issue["id"], []) if not n["system"])
        shown["assignee"] = issue["assignees"][0] if issue["assignees"] else None
        shown["web_url"] = f"{self.host}/{project.full_path}/-/issues/{issue['iid']}"
        shown["references"] = {"short": f"#{issue['iid']}", "relative": f"#{issue['iid']}",
                               "full": f"{project.full_path}#{issue['iid']}"}  # fmt: skip
        return shown

    def list_project_issues(self, me: User, params: httpx2.QueryParams, body: Json, pid: int) -> httpx2.Response:
        project = self.project(me, pid)
        return self.list_issues(params, [i for i in self.issues.values() if i["project_id"] == project.id])

    def list_group_issues(self, me: User, params: httpx2.QueryParams, body: Json, gid: int) -> httpx2.Response:
        ids = {p.id for p in self.projects_of(self.group(me, gid)) if self.visible(me.id, p)}
        return self.list_issues(params, [i for i in self.issues.values() if i["project_id"] in ids])

    def list_issues(self, params: httpx2.QueryParams, issues: list[Json]) -> httpx2.Response:
        state = params.get("state", "all")
        if state != "all":
            issues = [i for i in issues if i["state"] == state]
        for name in _split(params.get("labels")):
            issues = [i for i in issues if name.casefold() in {n.casefold() for n in i["labels"]}]
        for name in _split(params.get("not[labels]")):
            issues = [i for i in issues if name.casefold() not in {n.casefold() for n in i["labels"]}]
        if "author_id" in params:
            issues = [i for i in issues if i["author"]["id"] == int(params["author_id"])]
        if "author_username" in params:
            issues = [i for i in issues if i["author"]["username"] == params["author_username"]]
        if params.get("assignee_id") == "None":
            issues = [i for i in issues if not i["assignees"]]
        if "assignee_username" in params:
            wanted = params["assignee_username"]
            issues = [i for i in issues if any(a["username"] == wanted for a in i["assignees"])]
        if "search" in params:
            needle = params["search"].casefold()
            issues = [i for i in issues if needle in (i["title"] + " " + (i["description"] or "")).casefold()]
        for bound, stamp in (("created_after", "created_at"), ("updated_after", "updated_at")):
            if bound in params:
                since = datetime.fromisoformat(params[bound])
                issues = [i for i in issues if datetime.fromisoformat(i[stamp]) >= since]
        if params.get_list("iids[]"):
            iids = {int(v) for v in params.get_list("iids[]")}
            issues = [i for i in issues if i["iid"] in iids]
        order = params.get("order_by", "created_at")
        key: Callable[[Json], Any] = (
            (lambda i: self.positions[i["id"]]) if order == "relative_position" else (lambda i: (i[order], i["id"]))
        )
        issues.sort(key=key, reverse=params.get("sort", "desc") == "desc")
        details = params.get("with_labels_details") == "true"
        return self.paged(params, [self.issue_json(i, details) for i in issues])

    def issue(self, me: User, project_id: int, iid: int) -> tuple[Project, Json]:
        project = self.project(me, project_id)
        for issue in self.issues.values():
            if issue["project_id"] == project.id and issue["iid"] == iid:
                return project, issue
        raise Reject(404, "404 Issue Not Found")

    def get_issue(self, me: User, params: httpx2.QueryParams, body: Json, pid: int, iid: int) -> httpx2.Response:
        return _json(200, self.issue_json(self.issue(me, pid, iid)[1]))

    def ensure_labels(self, project: Project, names: Iterable[str]) -> list[str]:
        """Label names as the project spells them; a missing label is created (issues.md: "labels")."""
        spelled: list[str] = []
        for name in names:
            known = next((n for n in project.labels if n.casefold() == name.casefold()), None)
            if known is None:
                project.labels[name] = DEFAULT_COLOR
                known = name
            if known.casefold() not in {s.casefold() for s in spelled}:
                spelled.append(known)
        return spelled

    def assignees(self, ids: Any) -> list[Json]:
        values = [ids] if isinstance(ids, int) else list(ids or [])
        return [self.user_json(self.users[int(v)]) for v in values if int(v) != 0]

    def create_issue(self, me: User, params: httpx2.QueryParams, body: Json, pid: int) -> httpx2.Response:
        project = self.project(me, pid)
        if not body.get("title"):
            raise Reject(400, '400 (Bad request) "title" not given')
        now = self.tick()
        self.next_id += 1
        issue: Json = {
            "id": self.next_id, "iid": project.next_iid, "project_id": project.id, "title": body["title"],
            "description": body.get("description"), "state": "opened", "created_at": now, "updated_at": now,
            "closed_at": None, "closed_by": None, "labels": self.ensure_labels(project, _split(body.get("labels"))),
            "milestone": None, "assignees": self.assignees(body.get("assignee_ids")), "author": self.user_json(me),
            "type": "ISSUE", "issue_type": "issue", "upvotes": 0, "downvotes": 0, "merge_requests_count": 0,
            "due_date": None, "confidential": False, "discussion_locked": None, "time_stats": {
                "time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None,
                "human_total_time_spent": None},
        }  # fmt: skip
        project.next_iid += 1
        self.issues[issue["id"]] = issue
        self.positions[issue["id"]] = 1000 * len(self.positions)
        return _json(201, self.issue_json(issue))

    def edit_issue(self, me: User, params: httpx2.QueryParams, body: Json, pid: int, iid: int) -> httpx2.Response:
        project, issue = self.issue(me, pid, iid)
        editable = {"title", "description", "assignee_ids", "labels", "add_labels", "remove_labels", "state_event"}
        if not editable & body.keys():
            raise Reject(400, "400 (Bad request) at least one parameter must be provided")
        if self.level(me.id, project) < REPORTER and issue["author"]["id"] != me.id:
            raise Reject(403, "403 Forbidden")
        for name in ("title", "description"):
            if name in body:
                issue[name] = body[name]
        if "assignee_ids" in body:
            issue["assignees"] = self.assignees(body["assignee_ids"])
        if "labels" in body:
            issue["labels"] = self.ensure_labels(project, _split(body["labels"]))
        if "add_labels" in body:
            issue["labels"] = self.ensure_labels(project, [*issue["labels"], *_split(body["add_labels"])])
        if "remove_labels" in body:
            gone = {n.casefold() for n in _split(body["remove_labels"])}
            issue["labels"] = [n for n in issue["labels"] if n.casefold() not in gone]
        now = self.tick()
        if body.get("state_event") == "close" and issue["state"] == "opened":
            issue.update(state="closed", closed_at=now, closed_by=self.user_json(me))
            self.system_note(issue, me, "closed")
        elif body.get("state_event") == "reopen" and issue["state"] == "closed":
            issue.update(state="opened", closed_at=None, closed_by=None)
            self.system_note(issue, me, "reopened")
        issue["updated_at"] = now
        return _json(200, self.issue_json(issue))

    def delete_issue(self, me: User, params: httpx2.QueryParams, body: Json, pid: int, iid: int) -> httpx2.Response:
        project, issue = self.issue(me, pid, iid)
        if self.level(me.id, project) < OWNER and me.id not in self.admins:
            raise Reject(403, "403 Forbidden")
        del self.issues[issue["id"]]
        self.notes.pop(issue["id"], None)
        return httpx2.Response(204)

    # Notes

    def note_json(self, issue: Json, author: User, text: str, system: bool) -> Json:
        self.next_id += 1
        now = self.tick()
        return {"id": self.next_id, "type": None, "body": text, "attachment": None, "author": self.user_json(author),
                "created_at": now, "updated_at": now, "system": system, "noteable_id": issue["id"],
                "noteable_type": "Issue", "project_id": issue["project_id"], "noteable_iid": issue["iid"],
                "resolvable": False, "confidential": False, "internal": False, "imported": False,
                "imported_from": "none"}  # fmt: skip

    def system_note(self, issue: Json, author: User, text: str) -> None:
        self.notes.setdefault(issue["id"], []).append(self.note_json(issue, author, text, True))

    def list_notes(self, me: User, params: httpx2.QueryParams, body: Json, pid: int, iid: int) -> httpx2.Response:
        _, issue = self.issue(me, pid, iid)
        notes = sorted(
            self.notes.get(issue["id"], []), key=lambda n: (n[params.get("order_by", "created_at")], n["id"])
        )
        return self.paged(params, notes[::-1] if params.get("sort", "desc") == "desc" else notes)

    def create_note(self, me: User, params: httpx2.QueryParams, body: Json, pid: int, iid: int) -> httpx2.Response:
        _, issue = self.issue(me, pid, iid)
        if not body.get("body"):
            raise Reject(400, '400 (Bad request) "body" not given')
        note = self.note_json(issue, me, body["body"], False)
        self.notes.setdefault(issue["id"], []).append(note)
        issue["updated_at"] = note["created_at"]
        return _json(201, note)

    # Pagination (rest/_index.md, "Offset-based pagination")

    def paged(self, params: httpx2.QueryParams, rows: list[Json]) -> httpx2.Response:
        per_page = max(1, min(100, int(params.get("per_page", "20"))))
        page = max(1, int(params.get("page", "1")))
        pages = max(1, -(-len(rows) // per_page))
        headers = {
            "x-page": str(page), "x-per-page": str(per_page), "x-total": str(len(rows)), "x-total-pages": str(pages),
            "x-next-page": str(page + 1) if page < pages else "", "x-prev-page": str(page - 1) if page > 1 else "",
        }  # fmt: skip
        links = [("first", 1), ("last", pages)] + ([("next", page + 1)] if page < pages else [])
        url = self.current.url if self.current is not None else httpx2.URL(self.host)
        headers["link"] = ", ".join(
            f'<{url.copy_with(query=urlencode({**dict(params), "page": n}).encode())}>; rel="{rel}"' for rel, n in links
        )
        return _json(200, rows[(page - 1) * per_page : page * per_page], headers)


def _split(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, json=payload, headers=headers)


def standard_world(prefix: str = "") -> FakeGitLab:
    """alice (the token's user) develops in group acme (bob maintains it, carol reports) and owns a personal
    project; acme holds web and tickets-mcp."""
    fake = FakeGitLab(prefix)
    alice = fake.add_user(1, "alice", "Alice Liddell", token=TOKEN)
    bob = fake.add_user(2, "bob", "Bob Builder")
    carol = fake.add_user(3, "carol", "Carol Danvers")
    acme = fake.add_group(10, "acme", "Acme", {alice.id: DEVELOPER, bob.id: MAINTAINER, carol.id: REPORTER})
    fake.add_project(101, acme, "web", "Web")
    fake.add_project(102, acme, "tracker-mcp", "Tracker MCP")
    fake.add_project(103, alice, "dotfiles", "dotfiles")
    return fake
