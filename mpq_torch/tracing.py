"""Which module is running, and the activation-by-activation matmuls it computes.

Forward pre-hooks and hooks on every module keep a stack of qualified module names; a
``TorchFunctionMode`` sees each call of the matmul family while it is active. A call counts as an
*attention matmul* when it is one of ``torch.matmul`` / ``bmm`` / ``baddbmm`` / the ``@`` operator
or ``scaled_dot_product_attention`` and no operand is an ``nn.Parameter`` (a product with a
weight is not attention). It belongs to the innermost module running at the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

SDPA = "scaled_dot_product_attention"
_MATMULS = {"matmul", "__matmul__", "__rmatmul__", "bmm", "baddbmm"}


@dataclass(frozen=True)
class MatmulCall:
    """One attention matmul: its enclosing module, MACs, first operand and output shapes."""

    module: str
    macs: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


# (module name, function name, operands) -> operands to use instead
OperandHook = Callable[[str, str, tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]


class ModuleStack:
    """The names of the modules whose forward is running, innermost last."""

    def __init__(self) -> None:
        self.names: list[str] = []

    @property
    def current(self) -> str:
        return self.names[-1] if self.names else ""


@contextmanager
def module_stack(model: nn.Module) -> Iterator[ModuleStack]:
    """Track the running module of ``model`` for the duration of the block."""
    stack = ModuleStack()
    handles = []

    def push(name: str):
        def hook(module, args):
            stack.names.append(name)

        return hook

    def pop(module, args, output):
        stack.names.pop()

    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(push(name)))
        handles.append(module.register_forward_hook(pop))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


class _MatmulMode(TorchFunctionMode):
    def __init__(
        self,
        stack: ModuleStack,
        on_call: Callable[[MatmulCall], None] | None,
        on_operands: OperandHook | None,
    ):
        super().__init__()
        self.stack = stack
        self.on_call = on_call
        self.on_operands = on_operands

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        if name not in _MATMULS and name != SDPA:
            return func(*args, **kwargs)
        args, operands = _operands(name, list(args), kwargs)
        if any(isinstance(t, nn.Parameter) for t in operands):
            return func(*args, **kwargs)
        module = self.stack.current
        if self.on_operands is not None:
            new = self.on_operands(module, name, operands)
            if new is not operands:
                args = _replace_operands(name, args, kwargs, new)
                operands = new
        output = func(*args, **kwargs)
        if self.on_call is not None:
            self.on_call(
                MatmulCall(
                    module=module,
                    macs=_macs(name, operands, output),
                    input_shape=tuple(operands[0].shape),
                    output_shape=tuple(output.shape),
                )
            )
        return output


@contextmanager
def watch_matmuls(
    model: nn.Module,
    *,
    on_call: Callable[[MatmulCall], None] | None = None,
    on_operands: OperandHook | None = None,
) -> Iterator[ModuleStack]:
    """Report (``on_call``) and optionally replace the operands (``on_operands``) of every
    attention matmul that ``model`` computes inside the block."""
    with ExitStack() as stack:
        modules = stack.enter_context(module_stack(model))
        stack.enter_context(_MatmulMode(modules, on_call, on_operands))
        yield modules


def _operands(name: str, args: list, kwargs: dict) -> tuple[list, tuple[torch.Tensor, ...]]:
    """The tensors multiplied together, in the order they are multiplied."""
    if name == SDPA:
        for key in ("query", "key", "value")[len(args) :]:
            args.append(kwargs.pop(key))  # keyword operands move to their positions
        return args, tuple(args[:3])
    if name == "baddbmm":
        batch1 = args[1] if len(args) > 1 else kwargs.pop("batch1")
        batch2 = args[2] if len(args) > 2 else kwargs.pop("batch2")
        args = [args[0], batch1, batch2, *args[3:]]
        return args, (batch1, batch2)
    if len(args) < 2:
        other_key = "mat2" if name == "bmm" else "other"
        args = [args[0], kwargs.pop(other_key)]
    if name == "__rmatmul__":
        return args, (args[1], args[0])
    return args, (args[0], args[1])


def _replace_operands(name: str, args: list, kwargs: dict, new: tuple) -> list:
    if name == SDPA:
        return [*new, *args[3:]]
    if name == "baddbmm":
        return [args[0], *new, *args[3:]]
    if name == "__rmatmul__":
        return [new[1], new[0], *args[2:]]
    return [*new, *args[2:]]


def _macs(name: str, operands: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
    """Multiply-accumulates of one call (bias and softmax not counted)."""
    if name == SDPA:
        query, key, value = operands
        batch = output.numel() // (output.shape[-2] * output.shape[-1])
        q_len, k_len = query.shape[-2], key.shape[-2]
        # QK^T then AV
        return batch * q_len * k_len * (query.shape[-1] + value.shape[-1])
    inner = operands[0].shape[-1]
    return output.numel() * inner
