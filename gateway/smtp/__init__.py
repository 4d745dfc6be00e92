"""The SMTP edges of the gateway: the listening server and the relay clients."""
