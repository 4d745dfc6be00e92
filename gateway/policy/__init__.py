"""Policies: what admins edit (schema, loading, reload) and how a message is judged."""
