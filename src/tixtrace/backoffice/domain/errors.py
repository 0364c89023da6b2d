"""Every error code the back office answers besides the kernel's (`tixtrace.kernel.errors.KernelCode`).

A public contract: a member's value never changes once released. Raise sites name a member, never a
literal (tests/test_error_codes.py); the back office's OpenAPI document lists these values as the
``enum`` of the error code, so a code added here is documented by the same change. One answer is not
bounded by this list: an organizer transfer the wallet refuses with a 400, 409 or 422 relays the
wallet's own code (documented as such on that route, ``walletCode`` in the details).
"""

from __future__ import annotations

from enum import StrEnum


class BackofficeCode(StrEnum):
    # users
    USER_EXISTS = "USER_EXISTS"
    INVALID_PASSWORD = "INVALID_PASSWORD"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    RESET_NOT_FEEDBACK = "RESET_NOT_FEEDBACK"
    PASSWORD_REQUIRED = "PASSWORD_REQUIRED"
    PASSWORD_UNREADABLE = "PASSWORD_UNREADABLE"
    # contacts
    CONTACT_NOT_FOUND = "CONTACT_NOT_FOUND"
    CONTACT_REFERENCE_TAKEN = "CONTACT_REFERENCE_TAKEN"
    CONTACT_HAS_PENDING_TRANSFER = "CONTACT_HAS_PENDING_TRANSFER"
    CONTACT_IN_PARKED_RECORD = "CONTACT_IN_PARKED_RECORD"
    # events and tickets
    EVENT_NOT_FOUND = "EVENT_NOT_FOUND"
    EVENT_CODE_TAKEN = "EVENT_CODE_TAKEN"
    TICKET_NOT_FOUND = "TICKET_NOT_FOUND"
    TICKET_NUMBER_TAKEN = "TICKET_NUMBER_TAKEN"
    INVALID_TICKET_TRANSITION = "INVALID_TICKET_TRANSITION"
    TICKET_ACTION_NOT_FOUND = "TICKET_ACTION_NOT_FOUND"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    # interfaces, schedules, executions
    INTERFACE_NOT_FOUND = "INTERFACE_NOT_FOUND"
    INTERFACE_NAME_TAKEN = "INTERFACE_NAME_TAKEN"
    INVALID_CUSTOM_PARAMETERS = "INVALID_CUSTOM_PARAMETERS"
    SCHEDULE_NOT_FOUND = "SCHEDULE_NOT_FOUND"
    SCHEDULE_ALREADY_EXISTS = "SCHEDULE_ALREADY_EXISTS"
    EXECUTION_NOT_FOUND = "EXECUTION_NOT_FOUND"
    EXECUTION_ENDED = "EXECUTION_ENDED"
    RUN_ALREADY_ACTIVE = "RUN_ALREADY_ACTIVE"
    SCHEDULE_RUNNING = "SCHEDULE_RUNNING"
    UPLOAD_NOT_FEEDBACK = "UPLOAD_NOT_FEEDBACK"
    # calls to the wallet (organizer transfer, W7)
    NO_INTERFACE_FOR_TICKET = "NO_INTERFACE_FOR_TICKET"
    TICKET_NOT_TRANSFERABLE = "TICKET_NOT_TRANSFERABLE"
    TICKET_NOT_IN_WALLET = "TICKET_NOT_IN_WALLET"
    INTERFACE_REFUSED = "INTERFACE_REFUSED"
    WALLET_ERROR = "WALLET_ERROR"
    WALLET_UNAVAILABLE = "WALLET_UNAVAILABLE"
    WALLET_REFUSED = "WALLET_REFUSED"
    # screens
    INVALID_SEARCH = "INVALID_SEARCH"
    TAB_NOT_FOUND = "TAB_NOT_FOUND"
