"""Access: who is asking (:class:`Principal`) and what they may see (the one visibility rule)."""

from ria.access.principal import ANONYMOUS, OPERATOR, Principal
from ria.catalog.visibility import ACCESS_LEVELS, visible_collections

__all__ = ["ACCESS_LEVELS", "ANONYMOUS", "OPERATOR", "Principal", "visible_collections"]
