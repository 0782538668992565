"""TensorFlow's dtype names as ``te.float32``, ``te.string``, ...: torch dtypes for numbers and
booleans, ``"string"`` for text; every argument that takes a dtype accepts them."""

from __future__ import annotations

import torch

__all__ = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "string"]

float16 = torch.float16
float32 = torch.float32
float64 = torch.float64
int8 = torch.int8
int16 = torch.int16
int32 = torch.int32
int64 = torch.int64
uint8 = torch.uint8
bool = torch.bool  # noqa: A001 (TensorFlow's name)
string = "string"
