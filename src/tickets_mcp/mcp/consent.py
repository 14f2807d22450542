"""The one rule for every tool that destroys something: who may confirm it.

Where the client can ask its user (form elicitation), only the user's answer confirms: the tool asks
whatever `confirm` says, so a model cannot overrule a user who declined by calling again with
confirm=true. `confirm` is for clients that cannot ask; there a deletion waits for confirm=true.

A destructive tool takes `confirmation: Annotated[Consent, Resolve(resolver)]` and `confirm: bool = False`;
its resolver returns `ask_user(ctx, confirm, question)`, and the tool deletes only if
`confirmed(confirmation)`, else answers `not_deleted(ctx, loss)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, ConfigDict, Field

from tickets_mcp.mcp.context import CallerState


class DeletionConfirmation(BaseModel):
    # Built on first use: the form is asked for only before a deletion, and a model built at import
    # costs every start about a millisecond.
    model_config = ConfigDict(defer_build=True)

    confirm: bool = Field(description="Delete it for good")


Consent = ElicitationResult[DeletionConfirmation]


def can_ask_user(ctx: Context[CallerState]) -> bool:
    """Whether the client declared form elicitation, as the SDK decides before it elicits: a bare
    `elicitation: {}` (from before modes existed) counts, URL mode alone does not."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def ask_user(
    ctx: Context[CallerState], confirm: bool, question: Callable[[], Awaitable[str | None]]
) -> DeletionConfirmation | Elicit[DeletionConfirmation]:
    """A destructive tool's resolver: the user's answer to `question()` where the client can ask, whatever
    `confirm` says; `confirm` elsewhere. `question()` returns None when the call is refused anyway (nothing
    to ask about); it may also raise the tracker's refusal (say, not found) before anyone is asked."""
    if not can_ask_user(ctx):
        return DeletionConfirmation(confirm=confirm)
    asked = await question()
    if asked is None:
        return DeletionConfirmation(confirm=False)
    return Elicit(asked, DeletionConfirmation)


def confirmed(outcome: Consent) -> bool:
    return isinstance(outcome, AcceptedElicitation) and outcome.data.confirm


def not_deleted(ctx: Context[CallerState], loss: str) -> str:
    """The reply when the deletion of `loss` was not confirmed. After the user said no it never suggests
    confirm=true: the model's next step is to leave it, not to find a way round the user."""
    if can_ask_user(ctx):
        return f"Not deleted. The user declined. This would delete {loss}. Leave it unless the user asks again."
    return (
        f"Not deleted. Not confirmed. This would delete {loss}. "
        "Ask the user; if they agree, call again with confirm=true."
    )
