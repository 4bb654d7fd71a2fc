# The compiled twin has the signatures of the pure one.
from ._utf8_py import Utf8Validator as Utf8Validator, decode_utf8 as decode_utf8, validate_utf8 as validate_utf8

KERNEL: str

__all__ = ["validate_utf8", "Utf8Validator", "decode_utf8", "KERNEL"]
