"""Why a compiled ACL line exists, in its remark: the policy rule's name, or the compiler's own reason.

Kept apart from the compiler (`compile.py`) so that the renderer and the output writers can tell a policy rule
from a compiler reason without importing the compiler: verify, the lab and deploy render and read builds and
must never import it (the import-linter `forbidden` contract).
"""

from __future__ import annotations

# Lines the compiler adds itself say why in words with spaces, so that no reason reads as a policy rule name (a
# rule name is one word, `Name`; its reply lines are `<name> (replies)`): see `policy_rule_of`.
DHCP = "dhcp to the gateway"
FINAL_DENY = "default deny (policy)"
REPLIES = " (replies)"


def policy_rule_of(remark: str) -> str | None:
    """The policy rule a compiled line comes from, from its remark: `<name>` or `<name> (replies)`; None for a
    line the compiler adds itself (DHCP, link-local multicast, the final deny, ...)."""
    name = remark.removesuffix(REPLIES)
    return name if name and " " not in name else None
