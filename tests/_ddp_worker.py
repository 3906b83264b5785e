"""A torchrun worker for tests/test_distributed.py: ``cnnzoo ARGS`` run in the folder that
``$DDP_CWD_RANK<rank>`` names (so that a relative ``--out`` shows what each rank writes), with
the training loss made NaN on rank ``$DDP_NAN_RANK`` at its step ``$DDP_NAN_STEP`` (when set),
and its process id written to ``$DDP_PID_DIR/rank<rank>.pid`` (torchrun starts each rank in
a session of its own: a test that kills the run kills them by id)."""

import os
import sys

import torch.nn.functional as F

from cnnzoo.cli import main

rank = os.environ["RANK"]
if "DDP_PID_DIR" in os.environ:
    with open(os.path.join(os.environ["DDP_PID_DIR"], f"rank{rank}.pid"), "w") as f:
        f.write(str(os.getpid()))
os.chdir(os.environ.get(f"DDP_CWD_RANK{rank}", "."))
if os.environ.get("DDP_NAN_RANK") == rank:
    real, calls = F.cross_entropy, [0]

    def poisoned(*args, **kwargs):
        loss = real(*args, **kwargs)
        calls[0] += 1
        return loss * float("nan") if calls[0] == int(os.environ["DDP_NAN_STEP"]) + 1 else loss

    F.cross_entropy = poisoned
sys.exit(main(sys.argv[1:]))
