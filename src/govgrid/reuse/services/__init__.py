"""The rules of the reuse module (一地创新、多地复用), one sub-module per sub-domain. Callers import a
sub-module and call its public functions; every function takes the session first and keyword-only arguments
after it, flushes and never commits, and raises `govgrid.core.errors` types.

access  who may see and do what (catalogue for staff, install by an admin over the division, review above)
packs   export a signed pack, the catalogue, preview (diff), install with undo, uninstall exactly
cases   the case library: submit or nominate, review, accept/reject, promote, rate, figures before/after
"""
