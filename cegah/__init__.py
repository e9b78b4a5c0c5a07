"""Cegah: evidence for preventing child sexual abuse and exploitation in Indonesia."""

__version__ = "0.1.0"
