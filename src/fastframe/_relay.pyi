# The compiled twin has the signatures of the pure one.
from ._relay_py import FrameRelay as FrameRelay, read_data_frames as read_data_frames

__all__ = ["FrameRelay", "read_data_frames"]
