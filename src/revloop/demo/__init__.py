"""A deterministic generator of a believable MSP, both sides (HaloPSA and Xero), with the problems an
MSP really has planted on purpose and listed in a manifest. See README.md in this folder."""

from .generator import generate
from .model import SIZES, DemoMsp

__all__ = ["SIZES", "DemoMsp", "generate"]
