"""The gateway's engine as a Sendmail/Postfix milter (`gateway milter`)."""
