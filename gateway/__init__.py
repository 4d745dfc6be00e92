"""helpdesk-gateway: an SMTP gateway that keeps support replies answerable, polite and on time."""

__version__ = "0.1.0"
