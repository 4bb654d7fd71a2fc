# The compiled twin has the signatures of the pure one.
from ._messages_py import FrameRelay as FrameRelay, MessageAssembler as MessageAssembler
from ._shared import Message as Message
