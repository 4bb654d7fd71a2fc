# The compiled twin has the signatures of the pure one.
from ._messages_py import MessageAssembler as MessageAssembler
from ._shared import Message as Message

__all__ = ["Message", "MessageAssembler"]
