"""The engine: Tensor, primitives and rules, traces, the backward pass, pytrees."""
