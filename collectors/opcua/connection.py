"""A new asyncua Client per session: security, credentials and bounded requests."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable

from asyncua import Client, ua
from asyncua.crypto import security_policies, uacrypto
from cryptography import x509

from vigie.config import OpcUaDevice

log = logging.getLogger(__name__)

# asyncua 2.1's connection supervisor reads ServerState every watchdog interval and
# waits at most that interval for the response. With its 1 s default, a busy server
# that answers late is taken for lost. The collector's own keep-alive watchdog and
# request timeouts decide instead, so the supervisor's interval is set far above them.
ASYNCUA_WATCHDOG_S = 60.0
APPLICATION_URI = "urn:vigie:client"
SECURITY_MODES = {
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}


class LinkLost(Exception):
    """The session to the device failed. The message names the step and the cause."""


async def request(step: str, awaitable: Awaitable, timeout_s: float):
    """Await one request to the server, bounded by ``timeout_s``. Raises LinkLost."""
    try:
        return await asyncio.wait_for(awaitable, timeout=timeout_s)
    except TimeoutError:
        raise LinkLost(f"{step} timed out after {timeout_s:g} s") from None
    except (OSError, ua.UaError) as err:
        detail = str(err) or type(err).__name__
        raise LinkLost(f"{step} failed: {detail}") from err


def password_of(device: OpcUaDevice) -> str | None:
    """Return the password from the environment variable that the config names.

    The configuration checks at load time that the variable exists; it is read again
    here so that a password rotated before a reconnect takes effect.
    """
    if not device.password_env:
        return None
    try:
        return os.environ[device.password_env]
    except KeyError:
        raise LinkLost(
            f"environment variable {device.password_env!r} (password_env) is not set"
        ) from None


async def certificate_uri(path: str) -> str | None:
    """Return the application URI in a certificate's subjectAltName, if any."""
    certificate = await uacrypto.load_certificate(path)
    try:
        names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except x509.ExtensionNotFound:
        return None
    uris = names.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


async def connect(device: OpcUaDevice) -> Client:
    """Build a new Client and open a session, all within ``connect_timeout_s``.

    A new Client every time: reconnecting a used asyncua Client after a network
    black-hole can hang inside connect(), while a fresh one does not. On timeout the
    half-open socket is closed, so no coroutine stays blocked on it.
    """
    client = Client(
        device.endpoint,
        timeout=device.timeout_s,
        watchdog_intervall=ASYNCUA_WATCHDOG_S,
    )
    client.session_timeout = device.session_timeout_s * 1000.0
    client.name = client.description = f"Vigie collector {device.name}"
    client.application_uri = APPLICATION_URI
    if device.username:
        client.set_user(device.username)
        password = password_of(device)
        if password is not None:
            client.set_password(password)

    try:
        await request(
            "connect", _secure_and_connect(client, device), device.connect_timeout_s
        )
    except BaseException:
        client.disconnect_socket()
        raise
    return client


async def _secure_and_connect(client: Client, device: OpcUaDevice) -> None:
    if device.security_policy != "None":
        uri = await certificate_uri(device.certificate_path)
        if uri:
            client.application_uri = uri
        # Without a server certificate file, set_security() reads the server's
        # endpoints over an unsecured channel to fetch it.
        await client.set_security(
            security_policies.SecurityPolicyBasic256Sha256,
            device.certificate_path,
            device.private_key_path,
            server_certificate=device.server_certificate_path or None,
            mode=SECURITY_MODES[device.security_mode],
        )
    await client.connect()


async def disconnect_quiet(client: Client | None, device: OpcUaDevice) -> None:
    """Close the session within ``timeout_s``, then the socket in any case."""
    if client is None:
        return
    try:
        await asyncio.wait_for(client.disconnect(), timeout=device.timeout_s)
    except Exception as err:
        # The session is being dropped anyway; the socket is closed below.
        log.debug("device %s: disconnect failed: %r", device.name, err)
    client.disconnect_socket()
