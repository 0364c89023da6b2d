"""Every error code the wallet answers besides the kernel's (`tixtrace.kernel.errors.KernelCode`).

A public contract: a member's value never changes once released. Raise sites name a member, never a
literal (tests/test_error_codes.py); the wallet's OpenAPI document lists these values as the ``enum``
of the error code, so a code added here is documented by the same change.
"""

from __future__ import annotations

from enum import StrEnum


class WalletCode(StrEnum):
    # credentials and sessions
    CREDENTIALS_REQUIRED = "CREDENTIALS_REQUIRED"
    BAD_CREDENTIALS = "BAD_CREDENTIALS"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    CSRF_FAILED = "CSRF_FAILED"
    SANDBOX_ONLY = "SANDBOX_ONLY"
    # organizers and their settings
    ORGANIZER_EXISTS = "ORGANIZER_EXISTS"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_SETTING = "INVALID_SETTING"
    INVALID_BATCH_SIZE = "INVALID_BATCH_SIZE"
    # tickets
    TICKET_NOT_FOUND = "TICKET_NOT_FOUND"
    AMBIGUOUS_TICKET_ID = "AMBIGUOUS_TICKET_ID"
    TICKET_CONTROLLED = "TICKET_CONTROLLED"
    TICKET_DELETED = "TICKET_DELETED"
    NOT_TICKET_OWNER = "NOT_TICKET_OWNER"
    PROFILE_INCOMPLETE = "PROFILE_INCOMPLETE"
    # transfers
    TRANSFER_NOT_FOUND = "TRANSFER_NOT_FOUND"
    TRANSFER_ALREADY_PENDING = "TRANSFER_ALREADY_PENDING"
    TRANSFER_NOT_PENDING = "TRANSFER_NOT_PENDING"
    MAX_TRANSFERS_REACHED = "MAX_TRANSFERS_REACHED"
    RECIPIENT_IS_SENDER = "RECIPIENT_IS_SENDER"
    NOT_TRANSFER_RECIPIENT = "NOT_TRANSFER_RECIPIENT"
    NOT_TRANSFER_SENDER = "NOT_TRANSFER_SENDER"
