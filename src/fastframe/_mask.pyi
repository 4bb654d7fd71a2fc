# The compiled twin has the signatures of the pure one.
from ._mask_py import apply_mask as apply_mask, mask_inplace as mask_inplace

KERNEL: str

__all__ = ["apply_mask", "mask_inplace", "KERNEL"]
