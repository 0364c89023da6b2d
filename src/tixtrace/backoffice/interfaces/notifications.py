"""E-mail to the interface's notification addresses when an execution ends ERROR.

Sent only when an SMTP server is configured (``TIXTRACE_SMTP_HOST``, optional ``TIXTRACE_SMTP_PORT``,
default 25, and ``TIXTRACE_SMTP_FROM``); always after the execution's transaction committed. A mail
failure is logged and never changes the execution.
"""

from __future__ import annotations

import logging
import os
import smtplib
from email.message import EmailMessage

from tixtrace.backoffice.services.executions import ExecutionView
from tixtrace.backoffice.services.interfaces import InterfaceView

log = logging.getLogger(__name__)


def notify_error(interface: InterfaceView, view: ExecutionView) -> bool:
    """Send the ERROR notice; True if a message was handed to the SMTP server."""
    host = os.environ.get("TIXTRACE_SMTP_HOST")
    recipients = list(interface.notification_emails or [])
    if not host or not recipients:
        return False
    execution = view.execution
    message = EmailMessage()
    message["Subject"] = f"[tixtrace] {execution.function} on interface {interface.name} ended ERROR"
    message["From"] = os.environ.get("TIXTRACE_SMTP_FROM", "tixtrace@localhost")
    message["To"] = ", ".join(recipients)
    errors = [line.message for line in view.log if line.level == "ERROR"][:20]
    message.set_content(
        f"Execution {execution.id} of schedule {execution.schedule_id} ({execution.function}) "
        f"ended ERROR at {execution.ended_at}.\n\n" + "\n".join(f"- {text}" for text in errors)
    )
    try:
        with smtplib.SMTP(host, int(os.environ.get("TIXTRACE_SMTP_PORT", "25")), timeout=10) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        # the error's kind and SMTP code, not its text: a refusal lists the addresses (DESIGN 10)
        code = getattr(exc, "smtp_code", None) or getattr(exc, "errno", None)
        log.error("could not send the ERROR notification of execution %s: %s%s", execution.id,
                  type(exc).__name__, f" ({code})" if code else "")
        return False
    return True
