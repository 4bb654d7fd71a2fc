"""atheris harness: the compiled modules must behave exactly like the pure twins.

Run by ``fuzz/run.sh`` on a sanitizer build (ASan + UBSan, PYTHONMALLOC=malloc
so that ASan sees every bytes object).  Each input drives the frame parser of
both backends over the same stream, cut into the same chunks, and compares
frames and close codes; it also compares masking, UTF-8 validation, header
parsing and close payload parsing.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from fastframe._backend import load_backend
    from fastframe.errors import ProtocolError

CY = load_backend("cython")
PY = load_backend("python")


def run_parser(backend, config: dict, chunks: list[bytes]) -> tuple[list[tuple], object]:
    parser = backend.FrameParser(**config)
    frames: list[tuple] = []
    for chunk in chunks:
        try:
            got = parser.feed(chunk)
        except ProtocolError as exc:
            frames += [(f.opcode, f.fin, f.rsv1, f.payload) for f in exc.frames]
            return frames, (int(exc.code), parser.buffered)
        frames += [(f.opcode, f.fin, f.rsv1, f.payload) for f in got]
    return frames, parser.buffered


HEADER_FIELDS = ("fin", "rsv1", "rsv2", "rsv3", "opcode", "masked", "length", "mask", "size")


def run_assembler(backend, config: dict, decode_text: bool, chunks: list[bytes]) -> tuple[list[tuple], object]:
    assembler = backend.MessageAssembler(backend.FrameParser(**config), decode_text=decode_text)
    messages: list[tuple] = []
    for chunk in chunks:
        try:
            messages += assembler.feed(chunk)
        except ProtocolError as exc:
            return messages + exc.messages, int(exc.code)
    return messages, None


def outcome(func, *args):
    try:
        result = func(*args)
        if hasattr(result, "masked"):  # a Header: each backend has its own class
            result = tuple(getattr(result, name) for name in HEADER_FIELDS)
        return ("ok", result)
    except ProtocolError as exc:
        return ("protocol", int(exc.code))
    except (TypeError, ValueError) as exc:
        return (type(exc).__name__,)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    flags = fdp.ConsumeInt(1)
    config = {
        "client": bool(flags & 1),
        "allow_rsv1": bool(flags & 2),
        "validate_utf8": not flags & 4,
        "max_frame_size": fdp.ConsumeIntInRange(0, 1 << 16) if flags & 8 else None,
        "max_message_size": fdp.ConsumeIntInRange(0, 1 << 17) if flags & 16 else 1 << 20,
    }
    mask = fdp.ConsumeBytes(4)
    offset = fdp.ConsumeIntInRange(0, 7)
    cuts = sorted(fdp.ConsumeIntInRange(0, 8192) for _ in range(fdp.ConsumeIntInRange(0, 6)))
    stream = fdp.ConsumeBytes(fdp.remaining_bytes())

    chunks = []
    last = 0
    for cut in cuts:
        cut = min(cut, len(stream))
        chunks.append(stream[last:cut])
        last = cut
    chunks.append(stream[last:])
    if run_parser(CY, config, chunks) != run_parser(PY, config, chunks):
        raise AssertionError(f"parsers differ on {config} {chunks!r}")
    decode_text = not flags & 32
    if run_assembler(CY, config, decode_text, chunks) != run_assembler(PY, config, decode_text, chunks):
        raise AssertionError(f"assemblers differ on {config} {chunks!r}")

    if outcome(CY.apply_mask, stream, mask) != outcome(PY.apply_mask, stream, mask):
        raise AssertionError("apply_mask differs")
    a, b = bytearray(stream), bytearray(stream)
    if len(mask) == 4:
        CY.mask_inplace(memoryview(a)[offset & 3 :], mask, offset)
        PY.mask_inplace(memoryview(b)[offset & 3 :], mask, offset)
        if a != b:
            raise AssertionError("mask_inplace differs")
    if CY.validate_utf8(stream) != PY.validate_utf8(stream):
        raise AssertionError("validate_utf8 differs")
    vc, vp = CY.Utf8Validator(), PY.Utf8Validator()
    for chunk in chunks:
        if vc.feed(chunk) != vp.feed(chunk) or vc.accepted != vp.accepted:
            raise AssertionError("Utf8Validator differs")
    if vc.finish() != vp.finish():
        raise AssertionError("Utf8Validator.finish differs")
    for func in ("parse_header", "parse_close"):
        c = outcome(getattr(CY, func), stream)
        p = outcome(getattr(PY, func), stream)
        if c != p:
            raise AssertionError(f"{func} differs: {c} != {p}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
