"""A user behind an MCP client that can elicit: answers each question with the next scripted decision.

user = ScriptedUser(ElicitResult(action="decline"))
async with Client(server, elicitation_callback=user) as client: ...
assert user.questions == ["Delete INBOX-1? This cannot be undone."]
"""

from __future__ import annotations

from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData

DECLINE = ElicitResult(action="decline")
CANCEL = ElicitResult(action="cancel")
ACCEPT = ElicitResult(action="accept", content={"confirm": True})


class ScriptedUser:
    """An elicitation callback that answers with the next scripted decision and remembers what it was asked."""

    def __init__(self, *answers: ElicitResult) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        self.questions.append(params.message)
        if not self.answers:
            return ErrorData(code=-32603, message="The scripted user has no answer left.")
        return self.answers.pop(0)
