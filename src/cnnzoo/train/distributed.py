"""Data-parallel training across processes, with PyTorch's own engine: the ranks ``torchrun``
starts (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` in the environment), their process group (gloo
on CPUs, NCCL on GPUs), ``DistributedDataParallel`` around the network, and batch-norm
statistics synchronised across the ranks on request (``nn.SyncBatchNorm`` on GPUs; on CPUs,
where PyTorch's is GPU-only, :class:`GlooSyncBatchNorm`).

Conventions (see the README's "Distributed training"): ``batch_size`` is the global batch,
split evenly among the ranks; rank 0 alone writes files and prints; every rank sees the same
step losses (all-reduced), so that they all take the same decisions (the health monitor, a
non-finite loss) and none waits forever for another.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from cnnzoo.errors import ConfigError
from cnnzoo.train.device import pick_device

__all__ = [
    "TIMEOUT",
    "DistContext",
    "GlooSyncBatchNorm",
    "SilentStore",
    "convert_sync_batchnorm",
    "per_rank_batch",
    "start_distributed",
]

#: how long a rank waits for the others in a collective (rank 0 evaluates alone while the
#: others wait; a crashed rank is stopped sooner by torchrun, which ends the whole group)
TIMEOUT = datetime.timedelta(hours=2)


@dataclass(frozen=True)
class DistContext:
    """This process's place among the ranks of a run (one rank, world size 1, when not
    started by torchrun), and the device it computes on."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this context initialised the process group (and ends it)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in ``DistributedDataParallel`` (which averages the gradients over the
        ranks during the backward pass); the model itself when there is one rank."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def step_stats(
        self, loss: torch.Tensor, correct: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A step's mean loss and number of correct predictions over all the ranks' batches
        (equal in size): the same numbers, bit for bit, on every rank."""
        both = torch.stack([loss.detach().double(), correct.double()])
        dist.all_reduce(both)
        return both[0] / self.world_size, both[1].round().long()

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first, then the others (what it writes, they read)."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()

    def share(self, obj: object) -> object:
        """Rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        """End the process group when this context started it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def _env_int(env: dict, name: str, default: int) -> int:
    try:
        return int(env.get(name, default))
    except ValueError:
        raise ConfigError(f"${name} must be a whole number (got {env[name]!r})") from None


def start_distributed(device: str = "auto", env: dict | None = None) -> DistContext:
    """This process's rank and device; with ``WORLD_SIZE`` > 1 (torchrun sets it), the process
    group is initialised from the environment (``MASTER_ADDR``/``MASTER_PORT``), with NCCL
    when the device is a GPU (each rank on ``cuda:LOCAL_RANK``) and gloo otherwise."""
    env = dict(os.environ if env is None else env)
    world = _env_int(env, "WORLD_SIZE", 1)
    rank, local = _env_int(env, "RANK", 0), _env_int(env, "LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"need 0 <= $RANK < $WORLD_SIZE, got RANK={rank}, WORLD_SIZE={world}")
    dev = pick_device(device)
    if world == 1:
        return DistContext(dev)
    if dev.type == "cuda":
        if dev.index is None:
            if local >= torch.cuda.device_count():
                raise ConfigError(
                    f"rank {rank} wants cuda:{local} but this machine has "
                    f"{torch.cuda.device_count()} GPU(s): start at most that many processes "
                    "per machine (--nproc-per-node)"
                )
            dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    owns = False
    if not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)
        owns = True
    elif dist.get_world_size() != world:
        raise ConfigError(
            f"the process group has {dist.get_world_size()} ranks but $WORLD_SIZE says {world}"
        )
    return DistContext(dev, rank, world, local, owns)


def per_rank_batch(batch_size: int, world_size: int) -> int:
    """Each rank's share of the global batch ``batch_size``."""
    if batch_size % world_size:
        raise ConfigError(
            f"the batch size ({batch_size}) is the global batch, split evenly among the "
            f"{world_size} processes: make it a multiple of {world_size} (e.g. "
            f"--batch-size {max(world_size, batch_size // world_size * world_size)})"
        )
    return batch_size // world_size


class SilentStore:
    """Stands in for the runs store on the ranks other than 0: every call does nothing."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


# --------------------------------------------------------------------------- batch norm


class _AllReduceSum(torch.autograd.Function):
    """A sum over the ranks that gradients flow through (the gradient of a sum over the ranks
    is the sum over the ranks of the gradients)."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _AllReduceSum.apply(grad.contiguous())


class GlooSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are the global batch's, across the ranks: what
    ``nn.SyncBatchNorm`` computes, for CPU tensors (PyTorch's refuses them). The mean and then
    the variance are summed over the ranks (two passes, as numerically safe as one process);
    the running statistics get the unbiased variance over the global batch, as
    ``F.batch_norm`` does. Outside training, or with one rank, it is plain batch norm."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        xf = x.float()
        count = torch.tensor([x.numel() / x.shape[1]], dtype=xf.dtype, device=x.device)
        sums = _AllReduceSum.apply(torch.cat([xf.sum(dims), count]))
        n = sums[-1].detach()
        mean = sums[:-1] / n
        centred = xf - mean.view(shape)
        var = _AllReduceSum.apply((centred * centred).sum(dims)) / n
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = (
                    1.0 / float(self.num_batches_tracked)
                    if self.momentum is None
                    else self.momentum
                )
                self.running_mean.mul_(1 - f).add_(mean.detach(), alpha=f)
                unbiased = var.detach() * (n / (n - 1).clamp_min(1))
                self.running_var.mul_(1 - f).add_(unbiased, alpha=f)
        return y.to(x.dtype)


def convert_sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Every batch-norm layer of ``model`` made to use the global batch's statistics:
    ``nn.SyncBatchNorm`` on GPUs, :class:`GlooSyncBatchNorm` elsewhere. The parameters and
    buffers are kept (the same tensors), so the state dict's keys are unchanged."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _to_gloo_sync(model)


def _to_gloo_sync(module: nn.Module) -> nn.Module:
    out = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, GlooSyncBatchNorm
    ):
        out = GlooSyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
        )  # fmt: skip
        if module.affine:
            out.weight, out.bias = module.weight, module.bias
        if module.track_running_stats:
            out.running_mean, out.running_var = module.running_mean, module.running_var
            out.num_batches_tracked = module.num_batches_tracked
        out.training = module.training
    for name, child in module.named_children():
        out.add_module(name, _to_gloo_sync(child))
    return out
