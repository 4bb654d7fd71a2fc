"""fastframe under wsproto: the receive path of ``FrameProtocol`` and its masker.

wsproto (``wsproto.frame_protocol``) decodes frames in pure Python, one
``Buffer`` slice, ``NamedTuple`` and masker object at a time, and trims its
receive buffer after every frame.  The patch replaces:

- ``FrameProtocol`` (in ``wsproto.frame_protocol``, and in
  ``wsproto.connection`` and ``wsproto.extensions``, which import it by name)
  with a subclass whose ``receive_bytes`` and ``received_frames`` read the
  frames in one loop over the received bytes, unmask each payload with
  fastframe's ``apply_mask``, and decode text with one ``bytes.decode`` per
  whole message (an incremental decoder only for messages that arrive in
  pieces).  Sending is wsproto's own code.
- ``XorMaskerSimple`` with a masker over fastframe's ``mask_inplace``, with
  wsproto's interface: ``process()`` returns what the installed release's
  does (a ``bytearray`` since 1.3, ``bytes`` in 1.2) and the key rotates
  between calls.  wsproto's ``_serialize_frame`` masks with it.

Behaviour is wsproto's own (RFC 6455 §5 as wsproto reads it): the same
``Frame`` events, with the part of a data frame that has arrived handed out as
it arrives (``frame_finished=False``), so the buffer holds at most a header
or a control frame in progress; the same ``ParseFailed`` exceptions, messages
and close codes, raised at the same frame; the extensions' hooks
(``frame_inbound_header``, ``frame_inbound_payload_data``,
``frame_inbound_complete``) called as wsproto calls them, so
permessage-deflate works.  After a close frame or an error no more frames are
read, as in wsproto.
"""

from __future__ import annotations

import codecs
import importlib.metadata
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Optional

from . import _patching

__all__ = ["SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT", "patch", "unpatch", "is_patched"]


def _build(fp: ModuleType, api: Any, *, legacy: bool) -> tuple[type, type]:
    """Build the replacement ``FrameProtocol`` and ``XorMaskerSimple`` on ``api``'s functions.

    The classes subclass wsproto's own, so ``isinstance`` checks and the
    sending methods stay wsproto's.  wsproto 1.2 (``legacy``) hands out the
    payloads its masker and extensions return: ``bytes`` from a masked
    frame, the ``bytearray`` of its buffer from an unmasked or empty one;
    1.3 always ``bytes``, and its masker returns a ``bytearray``.
    """
    apply_mask = api.apply_mask
    mask_inplace = api.mask_inplace
    frame_type = fp.Frame
    new_frame = tuple.__new__
    opcode_type = fp.Opcode
    continuation = opcode_type.CONTINUATION
    text = opcode_type.TEXT
    close = opcode_type.CLOSE
    # wsproto accepts exactly the opcodes of its Opcode enum (RFC 6455 §5.2).
    members = {int(member): member for member in opcode_type}
    opcodes: tuple[Any, ...] = tuple(members.get(value) for value in range(16))
    parse_failed = fp.ParseFailed
    close_reason = fp.CloseReason
    invalid_data = close_reason.INVALID_FRAME_PAYLOAD_DATA
    rsv_bits = fp.RsvBits
    utf8_decoder = codecs.getincrementaldecoder("utf-8")

    class XorMaskerSimple(fp.XorMaskerSimple):  # type: ignore[misc,name-defined]
        """wsproto's masker (RFC 6455 §5.3) over fastframe's ``mask_inplace``."""

        def __init__(self, masking_key: bytes | bytearray) -> None:
            self._masking_key = masking_key

        def process(self, data: Any) -> Any:
            if legacy and not data:
                return data
            buffer = bytearray(data)
            if buffer:
                key = self._masking_key
                mask_inplace(buffer, key)
                # The next call continues with the next key byte, as wsproto's does.
                rotation = len(buffer) & 3
                if rotation:
                    self._masking_key = key[rotation:] + key[:rotation]
            return bytes(buffer) if legacy else buffer

    class FrameProtocol(fp.FrameProtocol):  # type: ignore[misc,name-defined]
        """wsproto's ``FrameProtocol`` reading frames in one loop (RFC 6455 §5.2–5.6)."""

        def __init__(self, client: bool, extensions: list[Any]) -> None:
            super().__init__(client, extensions)
            # wsproto's FrameDecoder keeps the list of enabled extensions made here.
            self._ff_extensions: list[Any] = self.extensions  # type: ignore[has-type]
            self._ff_data = b""  # received bytes, read from _ff_pos on
            self._ff_pos = 0
            self._ff_more: list[bytes] = []  # bytes received since, joined when read
            # The frame whose payload is arriving: (opcode, fin, length, key, received so far,
            # the opcode its next event has: its own until a part was handed out, then CONTINUATION).
            self._ff_frame: Optional[tuple[Any, bool, int, Optional[bytes], int, Any]] = None
            self._ff_message: Any = None  # the opcode of the data message in progress
            self._ff_decoder: Any = None  # its UTF-8 decoder, if it is text arriving in pieces
            self._ff_started = False
            self._ff_done = False  # a close frame or an error ended the stream

        def receive_bytes(self, data: bytes) -> None:
            if type(data) is not bytes:
                data = bytes(memoryview(data))
            if not self._ff_more and self._ff_pos >= len(self._ff_data):
                self._ff_data = data
                self._ff_pos = 0
            else:
                self._ff_more.append(data)

        def _ff_extension_header(self, opcode: Any, first: int, length: int) -> None:
            # wsproto's FrameDecoder.extension_processing, with the same messages.
            rsv = rsv_bits(bool(first & 0x40), bool(first & 0x20), bool(first & 0x10))
            used = [False, False, False]
            for extension in self._ff_extensions:
                result = extension.frame_inbound_header(self, opcode, rsv, length)
                if isinstance(result, close_reason):
                    raise parse_failed("error in extension", result)
                for bit, bit_used in enumerate(result):
                    if bit_used:
                        used[bit] = True
            for expected, found in zip(used, rsv):
                if found and not expected:
                    raise parse_failed("Reserved bit set unexpectedly")

        def _ff_extension_payload(self, payload: Any, finished: bool, fin: bool) -> Any:
            # wsproto's FrameDecoder.process_buffer, from the unmasked payload on.
            if legacy:
                for extension in self._ff_extensions:
                    payload = extension.frame_inbound_payload_data(self, payload)
                    if isinstance(payload, close_reason):
                        raise parse_failed("error in extension", payload)
                if finished:
                    end = bytearray()
                    for extension in self._ff_extensions:
                        result = extension.frame_inbound_complete(self, fin)
                        if isinstance(result, close_reason):
                            raise parse_failed("error in extension", result)
                        if result is not None:
                            end += result
                    payload += end
                return payload
            data = bytearray(payload)
            for extension in self._ff_extensions:
                result = extension.frame_inbound_payload_data(self, bytes(data))
                if isinstance(result, close_reason):
                    raise parse_failed("error in extension", result)
                data = bytearray(result)
            if finished:
                final = bytearray()
                for extension in self._ff_extensions:
                    result = extension.frame_inbound_complete(self, fin)
                    if isinstance(result, close_reason):
                        raise parse_failed("error in extension", result)
                    if result is not None:
                        final += result
                data += final
            return bytes(data)

        def received_frames(self) -> Iterator[Any]:
            if self._ff_done:
                return
            if not self._ff_started:
                self._ff_started = True
                enabled = [extension for extension in self.extensions if extension.enabled()]  # type: ignore[has-type]
                self.extensions = enabled
            client = self.client
            extensions = self._ff_extensions
            try:
                while True:
                    if self._ff_more:
                        self._ff_data = self._ff_data[self._ff_pos :] + b"".join(self._ff_more)
                        self._ff_more = []
                        self._ff_pos = 0
                    data = self._ff_data
                    pos = self._ff_pos
                    end = len(data)
                    current = self._ff_frame
                    if current is None:
                        # A new frame: its header, checked in wsproto's order.
                        if end - pos < 2:
                            break
                        first = data[pos]
                        second = data[pos + 1]
                        opcode = opcodes[first & 0x0F]
                        if opcode is None:
                            raise parse_failed(f"Invalid opcode {first & 0x0F:#x}")
                        fin = first >= 0x80
                        if first & 0x08 and not fin:
                            raise parse_failed("Invalid attempt to fragment control frame")
                        length = second & 0x7F
                        if first & 0x08 and length > 125:
                            raise parse_failed("Control frame with payload len > 125")
                        size = 2
                        if length == 126:
                            if end - pos < 4:
                                break
                            length = (data[pos + 2] << 8) | data[pos + 3]
                            if length <= 125:
                                raise parse_failed("Payload length used 2 bytes when 1 would have sufficed")
                            size = 4
                        elif length == 127:
                            if end - pos < 10:
                                break
                            length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                            if length <= 0xFFFF:
                                raise parse_failed("Payload length used 8 bytes when 2 would have sufficed")
                            if length >> 63:
                                raise parse_failed("8-byte payload length with non-zero MSB")
                            size = 10
                        if extensions:
                            self._ff_extension_header(opcode, first, length)
                        elif first & 0x70:
                            raise parse_failed("Reserved bit set unexpectedly")
                        if second >= 0x80:
                            if client:
                                raise parse_failed("client received unexpected masked frame")
                            if end - pos < size + 4:
                                break
                            key: Optional[bytes] = data[pos + size : pos + size + 4]
                            size += 4
                        else:
                            if not client:
                                raise parse_failed("server received unexpected unmasked frame")
                            key = None
                        pos += size
                        received = 0
                        effective = opcode
                        control = first & 0x08
                    else:
                        opcode, fin, length, key, received, effective = current
                        control = opcode >= 8
                    available = end - pos
                    if control:
                        # A control frame is read whole.
                        if available < length:
                            self._ff_frame = (opcode, fin, length, key, received, effective)
                            self._ff_pos = pos
                            break
                    take = length - received
                    if take > available:
                        take = available
                        if take == 0:
                            self._ff_frame = (opcode, fin, length, key, received, effective)
                            self._ff_pos = pos
                            break
                    payload: Any = data[pos : pos + take]
                    pos += take
                    self._ff_pos = pos
                    if key is not None and take:
                        phase = received & 3
                        payload = apply_mask(payload, key[phase:] + key[:phase] if phase else key)
                    elif legacy:
                        payload = bytearray(payload)
                    received += take
                    finished = received == length
                    if extensions:
                        payload = self._ff_extension_payload(payload, finished, fin)
                    self._ff_frame = None if finished else (opcode, fin, length, key, received, continuation)
                    if control:
                        frame = new_frame(frame_type, (opcode, payload, finished, fin))
                        if opcode is close:
                            frame = self._process_close(frame)
                            # Nothing is read after a close frame (RFC 6455 §5.5.1).
                            self._ff_done = True
                            yield frame
                            return
                        yield frame
                        continue
                    # wsproto's MessageDecoder: continuation rules, then text decoding.
                    message = self._ff_message
                    if message is None:
                        if effective is continuation:
                            raise parse_failed("unexpected CONTINUATION")
                        message = effective
                    elif effective is not continuation:
                        raise parse_failed(f"expected CONTINUATION, got {effective!r}")
                    done = finished and fin
                    try:
                        if effective is text:
                            if done:
                                payload = payload.decode("utf-8")
                            else:
                                self._ff_decoder = utf8_decoder()
                                payload = self._ff_decoder.decode(payload, False)
                        elif self._ff_decoder is not None:
                            payload = self._ff_decoder.decode(payload, done)
                    except UnicodeDecodeError as exc:
                        raise parse_failed(str(exc), invalid_data)  # noqa: B904  (chained as wsproto does)
                    if done:
                        self._ff_message = None
                        self._ff_decoder = None
                    else:
                        self._ff_message = message
                    yield new_frame(frame_type, (message, payload, finished, done))
                if self._ff_pos >= len(self._ff_data) and not self._ff_more:
                    # Everything was read: hold no reference to it.
                    self._ff_data = b""
                    self._ff_pos = 0
            except GeneratorExit:
                # The caller stopped iterating: the state is saved frame by frame.
                raise
            except BaseException:
                # wsproto's frame generator ends with its first exception.
                self._ff_done = True
                raise

    return FrameProtocol, XorMaskerSimple


def _apply(patches: _patching.PatchSet) -> None:
    frame_protocol, connection, extensions = _patching.import_modules(
        "wsproto.frame_protocol", "wsproto.connection", "wsproto.extensions"
    )
    version = _patching._version_tuple(importlib.metadata.version("wsproto"))
    protocol, masker = _build(frame_protocol, _patching.api(), legacy=version < (1, 3))
    patches.replace(frame_protocol, "XorMaskerSimple", masker)
    # wsproto.connection and wsproto.extensions import FrameProtocol by name.
    for module in (frame_protocol, connection, extensions):
        patches.replace(module, "FrameProtocol", protocol)


_integration = _patching.Integration("wsproto", "1.2", "1.4", _apply)

#: The wsproto releases this integration supports.
SUPPORTED_VERSIONS: str = _integration.supported_versions

#: Whether fastframe.patch() with no names patches wsproto: yes, it is faster than
#: wsproto's own frame path (bench/test_bench_integrations_wsproto.py).
PATCHED_BY_DEFAULT = True


def patch() -> bool:
    """Make wsproto's ``FrameProtocol`` read frames with fastframe (RFC 6455 §5).

    Returns:
        True if this call patched wsproto, False if it already was.

    Raises:
        IntegrationError: wsproto is not installed, or not at a supported version.
    """
    return _integration.patch()


def unpatch() -> bool:
    """Restore wsproto's own ``FrameProtocol`` and ``XorMaskerSimple``; True if it was patched."""
    return _integration.unpatch()


def is_patched() -> bool:
    """Whether wsproto is patched now."""
    return _integration.is_patched()
