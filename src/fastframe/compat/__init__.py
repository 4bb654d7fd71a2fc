"""APIs of other WebSocket acceleration packages, implemented on fastframe.

- :mod:`fastframe.compat.wsaccel`: wsaccel's maskers and UTF-8 validator
  (``XorMaskerSimple``, ``createXorMasker``, ``Utf8Validator``), for code
  written against wsaccel or against autobahn's validator.
"""

from __future__ import annotations

__all__: list[str] = []
