"""Failure e-mail: SMTP settings from the environment, the message, and sending it.

No Dagster here: the run-failure sensor (assets/sensors.py) gathers the facts and calls
:func:`send_failure_mail`. Settings come from environment variables only, so the SMTP password
never sits in a config file or in the Dagster UI.
"""

from __future__ import annotations

import os
import smtplib
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage

TIMEOUT_SECONDS = 10.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class MailConfigError(ValueError):
    """An SMTP environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """The CREDITCTL_SMTP_* settings; None when CREDITCTL_SMTP_HOST is unset (mail is off)."""
        env = os.environ if env is None else env
        host = env.get("CREDITCTL_SMTP_HOST", "").strip()
        if not host:
            return None
        port_text = env.get("CREDITCTL_SMTP_PORT", "").strip() or "25"
        if not port_text.isdigit():
            raise MailConfigError(f"CREDITCTL_SMTP_PORT={port_text!r}: use a port number such as 25 or 587")
        starttls = env.get("CREDITCTL_SMTP_STARTTLS", "").strip().lower()
        if starttls not in _TRUE | _FALSE:
            raise MailConfigError(f"CREDITCTL_SMTP_STARTTLS={starttls!r}: use true or false")
        recipients = tuple(r.strip() for r in env.get("CREDITCTL_SMTP_TO", "").split(",") if r.strip())
        if not recipients:
            raise MailConfigError("CREDITCTL_SMTP_TO is not set: list the recipients, comma-separated")
        return cls(
            host=host, port=int(port_text), recipients=recipients,
            sender=env.get("CREDITCTL_SMTP_FROM", "").strip() or f"creditctl@{socket.getfqdn()}",
            user=env.get("CREDITCTL_SMTP_USER") or None, password=env.get("CREDITCTL_SMTP_PASSWORD") or None,
            starttls=starttls in _TRUE,
        )


@dataclass(frozen=True)
class RunFailure:
    """What an operator needs to act on a failed run."""

    run_id: str
    job: str
    step: str
    error: str  # one line
    folder: str  # the run's artifacts (data/runs/<run id>)
    url: str | None = None  # the run in the Dagster UI, when DAGSTER_WEBSERVER_URL is known

    def line(self) -> str:
        return f"creditctl: run {self.run_id} of {self.job} failed at step {self.step}: {self.error}"


def run_url(run_id: str, env: Mapping[str, str] | None = None) -> str | None:
    """The run's page in the Dagster UI, from DAGSTER_WEBSERVER_URL (unset: None)."""
    base = (os.environ if env is None else env).get("DAGSTER_WEBSERVER_URL", "").strip()
    return f"{base.rstrip('/')}/runs/{run_id}" if base else None


def failure_message(failure: RunFailure, settings: SmtpSettings) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"creditctl: {failure.job} failed (run {failure.run_id})"
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    lines = [
        f"The creditctl run {failure.run_id} of {failure.job} failed.",
        "",
        f"Error: {failure.error}",
        f"Step:  {failure.step}",
        f"Run folder: {failure.folder}",
    ]
    if failure.url:
        lines.append(f"Dagster: {failure.url}")
    lines += ["", "Nothing is written to the ERP after a failed step; fix the cause and run again."]
    message.set_content("\n".join(lines) + "\n")
    return message


def send(message: EmailMessage, settings: SmtpSettings, timeout: float = TIMEOUT_SECONDS) -> None:
    """Deliver through the configured SMTP server; raises smtplib.SMTPException / OSError on failure."""
    with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:  # no user: an open relay inside the network
            smtp.login(settings.user, settings.password or "")
        smtp.send_message(message, from_addr=settings.sender, to_addrs=list(settings.recipients))


def send_failure_mail(failure: RunFailure, env: Mapping[str, str] | None = None) -> str | None:
    """Mail the failure when SMTP is configured. Returns the recipients line, or None when mail is off.

    Raises MailConfigError, smtplib.SMTPException or OSError: the caller decides how loud to be.
    """
    settings = SmtpSettings.from_env(env)
    if settings is None:
        return None
    send(failure_message(failure, settings), settings)
    return ", ".join(settings.recipients)
