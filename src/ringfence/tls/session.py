"""TLS over memory buffers (sans-IO): ciphertext in, plaintext out, and back.

The proxy terminates TLS itself, on plain asyncio transports, so that it behaves the same
under asyncio and uvloop and can see the server name (SNI) the agent asked for. A
``TlsSession`` wraps an ``ssl.SSLObject`` over two ``ssl.MemoryBIO`` and never touches a
socket. In ringfence a server-side session faces the agent, a client-side one an upstream.

Rules this module keeps:

- ``receive(b"")`` is the transport's EOF; after it, a close without close_notify (a
  "ragged EOF") counts as the peer closing, as most HTTPS servers do it;
- after every ``receive``, the caller sends ``take_output()``: handshake records, session
  tickets and key-update replies appear there, and after a ``TlsSessionError`` the alert
  that tells the peer why;
- plaintext passed to ``send`` before the handshake completes is buffered (up to
  ``PENDING_MAX`` bytes) and encrypted the moment it completes: its ciphertext comes out of
  the ``take_output()`` that follows the ``receive`` which finished the handshake;
- a failure caused by the peer is a ``TlsSessionError`` whose ``reason`` is a sentence for
  a person (the 502 body, the audit log): whose certificate failed and why, which server
  name was refused. A caller's own mistakes (``wrap_bio`` arguments) stay ``ValueError``.
"""

from __future__ import annotations

import ssl

from ringfence.tls.errors import TlsSessionError

# Plaintext asked of OpenSSL per read. A read returns at most one record (16 KiB of plaintext,
# RFC 8446 §5.1), and SSLObject.read allocates the size asked for first: asking for more
# than a record makes every read allocate (and, above malloc's mmap threshold, map and unmap)
# a large buffer for nothing. At 16 KiB decrypting costs half the CPU it did at 256 KiB.
READ_SIZE = 16 * 1024
PENDING_MAX = 1024 * 1024  # plaintext held while the handshake is still running
SNI_NOTE = "_ringfence_sni"  # the attribute ``note_server_name`` sets on a connection

# Alerts with which a client rejects our certificate (RFC 8446 §6.2): on the agent's side they
# almost always mean that the agent does not trust the ringfence CA.
_DISTRUST = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN")


def note_server_name(connection: ssl.SSLObject | ssl.SSLSocket, name: str, refusal: str | None) -> None:
    """For an ``sni_callback``: remember on ``connection`` the server name the client asked
    for and, if the callback refuses it, why; a ``TlsSession`` reads it back."""
    setattr(connection, SNI_NOTE, (name, refusal))


class TlsSession:
    """One TLS connection, driven by the bytes its caller moves (see the module's rules)."""

    def __init__(self, context: ssl.SSLContext, *, server_side: bool, server_hostname: str | None = None) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._conn = context.wrap_bio(self._incoming, self._outgoing, server_side=server_side,
                                      server_hostname=server_hostname)
        self._server_side = server_side
        self._peer = server_hostname or "the server"
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._closed = False
        self.handshake_done = False
        self.peer_closed = False  # close_notify (or EOF after the handshake) came in: treat as EOF
        self.server_name: str | None = None  # server side: the SNI the client sent, if any
        self.alpn: str | None = None  # the protocol both sides agreed on by ALPN, if any

    def start(self) -> bytes:
        """Client side: the ClientHello to send. Server side: ``b""`` (the client speaks first)."""
        if not self._server_side:
            self._advance()
        return self._outgoing.read()

    def receive(self, data: bytes) -> bytes:
        """Feed ciphertext from the peer (``b""``: the transport's EOF); returns the plaintext
        it completes, possibly ``b""``. Raises ``TlsSessionError`` when the peer fails."""
        if self._incoming.eof:
            if data:
                raise ValueError("TlsSession.receive: data after the transport's EOF")
        elif data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
        if not self.handshake_done and not self._advance():
            return b""
        return self._read()

    def take_output(self) -> bytes:
        """Ciphertext waiting to be sent to the peer."""
        return self._outgoing.read()

    def send(self, data: bytes) -> bytes:
        """Encrypt ``data``; returns the ciphertext to send (``b""`` while the handshake runs:
        ``data`` is then buffered, see the module's rules)."""
        if not self.handshake_done:
            if self._pending_size + len(data) > PENDING_MAX:
                raise TlsSessionError(
                    f"more than {PENDING_MAX} bytes to send before the TLS handshake with {self._who()} completed")
            self._pending.append(data)
            self._pending_size += len(data)
            return b""
        self._write(data)
        return self._outgoing.read()

    def close(self) -> bytes:
        """The close_notify to send, after any output still waiting (before the handshake
        completes there is no close_notify, and plaintext still buffered is dropped)."""
        if not self._closed and self.handshake_done:
            self._closed = True
            try:
                self._conn.unwrap()
            except ssl.SSLError:
                pass  # the peer's close_notify has not come (SSLWantReadError) or never will: we are done either way
        return self._outgoing.read()

    # ---- the handshake ----
    def _advance(self) -> bool:
        """One step of the handshake; True once it is complete."""
        try:
            self._conn.do_handshake()
        except ssl.SSLWantReadError:
            self._take_note()
            if self._incoming.eof:
                raise TlsSessionError(self._closed_early()) from None
            return False
        except ssl.SSLError as exc:
            self._take_note()
            raise TlsSessionError(self._handshake_failure(exc)) from exc
        self._take_note()
        self.handshake_done = True
        self.alpn = self._conn.selected_alpn_protocol()
        if self._pending:
            pending, self._pending, self._pending_size = b"".join(self._pending), [], 0
            self._write(pending)
        return True

    def _take_note(self) -> None:
        note: tuple[str, str | None] | None = getattr(self._conn, SNI_NOTE, None)
        if note is not None:
            self.server_name = note[0]

    def _handshake_failure(self, exc: ssl.SSLError) -> str:
        note: tuple[str, str | None] | None = getattr(self._conn, SNI_NOTE, None)
        if note is not None and note[1] is not None:
            return note[1]
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"the certificate of {self._peer} could not be verified: {exc.verify_message}"
        if isinstance(exc, ssl.SSLEOFError) or self._incoming.eof:
            return self._closed_early()
        what = _describe(exc)
        if not self._server_side:
            return f"the TLS handshake with {self._peer} failed: {what}"
        if any(alert in (exc.reason or "") for alert in _DISTRUST):
            what += " (the agent does not trust the ringfence CA: see `ringfence ca show`)"
        return f"the agent's TLS handshake failed: {what}"

    def _closed_early(self) -> str:
        return f"{self._who()} closed the connection during the TLS handshake"

    def _who(self) -> str:
        return "the agent" if self._server_side else self._peer

    # ---- records ----
    def _read(self) -> bytes:
        chunks = []
        read = self._conn.read
        while True:
            try:
                chunk = read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                # close_notify after our own, or the transport's EOF without one (ragged EOF)
                self.peer_closed = True
                break
            except ssl.SSLError as exc:
                raise TlsSessionError(f"the TLS connection with {self._who()} failed: {_describe(exc)}") from exc
            if not chunk:  # close_notify: the ssl module reports it as an empty read
                self.peer_closed = True
                break
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:  # SSL_write(3) writes everything into a memory BIO; the loop is a guard
                view = view[self._conn.write(view):]
        except ssl.SSLError as exc:
            raise TlsSessionError(f"cannot send to {self._who()} over TLS: {_describe(exc)}") from exc


def _describe(exc: ssl.SSLError) -> str:
    """OpenSSL's reason in words: ``TLSV1_ALERT_UNKNOWN_CA`` -> ``tlsv1 alert unknown ca``."""
    if exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    return str(exc.strerror or exc)
