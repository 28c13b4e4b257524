"""govgrid core: divisions, departments, identity, authorisation, audit, database."""
