"""Exchange pages: catalog and entry (`catalog`), the sharing workflow and granted data (`sharing`), a
provider's registration, editing and uploads (`provider`). Every route hangs on one router."""

from govgrid.exchange.pages import catalog, provider, sharing
from govgrid.exchange.pages.common import router

__all__ = ["catalog", "provider", "router", "sharing"]
