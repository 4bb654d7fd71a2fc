# The compiled twin has the signatures of the pure one.
from ._messages_py import Message as Message, MessageAssembler as MessageAssembler
