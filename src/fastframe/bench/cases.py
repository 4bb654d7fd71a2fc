"""The kernels, at sizes from 16 B to 1 MiB: what each measures, on which input, by whom.

Every kernel has the same implementations on every size: fastframe on each
backend, each peer with a comparable call, and ``copy``, a plain copy of the
same bytes (one allocation and one ``memcpy``): the memory-bandwidth
reference, so every figure also reads as a fraction of that limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

from .inputs import MASK, OP_BINARY, OP_TEXT, decode_frame, encode_frame, random_bytes, text
from .peers import Adapter, Receiver
from .timing import ORACLE, Case, Impl

#: Payload sizes of a full run and of ``--quick``.
SIZES = (16, 256, 4096, 65536, 1 << 20)
QUICK_SIZES = (16, 1024, 65536)

#: Kernel name -> what the table says it measures.
KERNELS = {
    "apply_mask": "mask into a new buffer (RFC 6455 §5.3)",
    "mask_inplace": "mask a buffer in place, no allocation",
    "validate_utf8_ascii": "validate UTF-8: ASCII text (JSON-like)",
    "validate_utf8_mixed": "validate UTF-8: mixed scripts and emoji",
    "decode_text_ascii": "one text frame received as str: ASCII",
    "decode_text_mixed": "one text frame received as str: mixed scripts",
    "parse_header": "parse a masked frame header in memory (ns per header)",
    "build_frame": "build a masked binary frame (client side)",
    "parse_frames": "parse a buffer of masked frames (server side, per frame)",
}

#: Invalid UTF-8 every validator is also checked on: truncated, a surrogate, an overlong form.
BAD_UTF8 = (b"ok \xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"caf\xc3")


def size_label(size: int) -> str:
    """``16 B``, ``4 KiB``, ``1 MiB``."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def _broken(name: str, exc: Exception) -> Impl:
    """An implementation whose adapter failed to build: the check reports the error."""

    def fail(_arg: Any) -> Any:
        raise exc

    return Impl(name, fail, lambda: None)


def receive(name: str, receiver: Receiver, reads: Sequence[bytes], context: Optional[Callable[[], Any]] = None) -> Impl:
    """An implementation that feeds ``reads`` to a fresh ``receiver`` per call."""
    feed = receiver.feed

    def run(state: Any) -> Any:
        for chunk in reads:
            feed(state, chunk)
        return state

    return Impl(name, run, receiver.new, fresh=True, output=lambda state, _: receiver.take(state), context=context)


def _impls(adapters: Sequence[Adapter], make: Callable[[Adapter], Optional[Impl]]) -> list[Impl]:
    impls = []
    for adapter in adapters:
        try:
            impl = make(adapter)
        except Exception as exc:  # e.g. a peer's API changed: reported, not fatal
            impl = _broken(adapter.name, exc)
        if impl is not None:
            impls.append(impl)
    return impls


def _copy(data: bytes) -> Impl:
    return Impl("copy", bytearray, lambda: data, expect=data)


def kernel_case(kernel: str, size: int, adapters: Sequence[Adapter]) -> Case:
    """The case ``kernel`` at payload ``size``, with an implementation per adapter that has the call."""
    label = size_label(size)
    if kernel == "apply_mask":
        data = random_bytes(size)

        def make(a: Adapter) -> Optional[Impl]:
            f = a.apply_mask()
            return None if f is None else Impl(a.name, f, lambda: data, output=lambda _, r: bytes(r))

        impls = [*_impls(adapters, make), _copy(data)]
        return Case("kernel", kernel, label, size, size, 1, impls, KERNELS[kernel])
    if kernel == "mask_inplace":
        data = random_bytes(size)
        source = random_bytes(size, seed=7)

        def make(a: Adapter) -> Optional[Impl]:
            f = a.mask_inplace()
            # The buffer flips between masked and unmasked, call after call: no allocation.
            return None if f is None else Impl(a.name, f, lambda: bytearray(data), output=lambda b, _: bytes(b))

        def copy_into(buf: bytearray) -> None:
            # A memoryview slice assignment is a plain memcpy into the existing buffer.
            memoryview(buf)[:] = source

        copy = Impl("copy", copy_into, lambda: bytearray(data), output=lambda b, _: bytes(b), expect=source)
        return Case("kernel", kernel, label, size, size, 1, [*_impls(adapters, make), copy], KERNELS[kernel])
    if kernel.startswith("validate_utf8_"):
        data = text(kernel.rpartition("_")[2], size)

        def make(a: Adapter) -> Optional[Impl]:
            f = a.validate_utf8()
            return None if f is None else Impl(a.name, f, lambda: data, output=lambda _, r: bool(r), probes=BAD_UTF8)

        impls = [*_impls(adapters, make), _copy(data)]
        return Case("kernel", kernel, label, size, size, 1, impls, KERNELS[kernel])
    if kernel.startswith("decode_text_"):
        payload = text(kernel.rpartition("_")[2], size)
        frame = [encode_frame(OP_TEXT, payload, mask=None)]

        def make(a: Adapter) -> Optional[Impl]:
            r = a.receiver(client=True)
            return None if r is None else receive(a.name, r, frame)

        decode = Impl("bytes.decode", bytes.decode, lambda: payload, output=lambda _, r: [r])
        impls = [*_impls(adapters, make), decode, _copy(payload)]
        return Case("kernel", kernel, label, size, size, 1, impls, KERNELS[kernel])
    if kernel == "parse_header":
        # The x axis is the payload length the header announces: 2-, 4- and 10-byte lengths.
        def header(n: int) -> bytes:
            return encode_frame(OP_BINARY, bytes(n), mask=MASK)[: 6 if n < 126 else 8 if n < 65536 else 14]

        probes = [header(n) for n in (0, 125, 126, 65535, 65536)]
        data = header(size)

        def make(a: Adapter) -> Optional[Impl]:
            pair = a.parse_header()
            if pair is None:
                return None
            return Impl(a.name, pair[0], lambda: data, output=pair[1], probes=probes)

        return Case("kernel", kernel, label, size, 0, 1, _impls(adapters, make), KERNELS[kernel])
    if kernel == "build_frame":
        data = random_bytes(size)

        def make(a: Adapter) -> Optional[Impl]:
            f = a.build_frame()
            # Keys are random: the frame is compared once read back (opcode, fin, masked, payload).
            return None if f is None else Impl(a.name, f, lambda: data, output=lambda _, r: decode_frame(bytes(r)))

        impls = [*_impls(adapters, make), _copy(data)]
        return Case("kernel", kernel, label, size, size, 1, impls, KERNELS[kernel])
    if kernel == "parse_frames":
        count = max(1, min(1000, 16384 // size))
        payloads = [random_bytes(size, seed) for seed in range(count)]
        keys = [random_bytes(4, -seed) for seed in range(count)]
        data = b"".join(encode_frame(OP_BINARY, p, mask=k) for p, k in zip(payloads, keys))

        def make(a: Adapter) -> Optional[Impl]:
            r = a.receiver(client=False, frames=True)
            return None if r is None else receive(a.name, r, [data])

        impls = [*_impls(adapters, make), _copy(data)]
        return Case("kernel", kernel, f"{count} × {label}", size, size * count, count, impls, KERNELS[kernel])
    raise ValueError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")


def kernel_cases(kernels: Sequence[str], sizes: Sequence[int], adapters: Sequence[Adapter]) -> list[Case]:
    """Every kernel at every size; fastframe's pure twin is always there, as the oracle."""
    assert any(a.name == ORACLE for a in adapters), "the oracle must be among the adapters"
    return [kernel_case(kernel, size, adapters) for kernel in kernels for size in sizes]
