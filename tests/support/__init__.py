"""Helpers shared by test_frames, test_parser and test_messages, one module per job.

Everything here is written independently of fastframe, so that a test never
checks fastframe against fastframe:

- ``rfc``: the protocol's numbers (opcodes, close codes, the RFC's example key);
- ``encoder``: frames written byte by byte, also frames that break the rules;
- ``decoder``: a reference header decoder, and where a stream's limits bite;
- ``utf8_oracle``: whether a prefix can still become valid UTF-8;
- ``chunking``: one stream fed in every chunking, all ways agreeing;
- ``oracles``: wsproto and websockets fed byte by byte, compared with fastframe;
- ``strategies``: hypothesis strategies for valid and mutated streams.
"""
