"""Write tests/fixtures/timm_keys.json: the state-dict key names and shapes of timm's networks
that cnnzoo converts (timm's own model code, built on the meta device: no weights, no
download), so that the default test suite checks the conversion without timm installed.

    pip install timm && python scripts/make_timm_keys.py

tests/test_weights_layouts.py checks the file against the installed timm when there is one.
"""

from __future__ import annotations

import json
from pathlib import Path

import timm
import torch

#: the timm networks tests/test_weights_layouts.py converts (its TIMM_NAMES)
NAMES = ["resnet18", "densenet121", "vgg11_bn", "regnetx_002", "regnety_002", "regnetx_004_tv",
         "regnety_008_tv"]  # fmt: skip
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "timm_keys.json"


def main() -> None:
    lines = []
    for name in NAMES:
        with torch.device("meta"):
            model = timm.create_model(name)
        shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
        lines.append(f"{json.dumps(name)}: {json.dumps(shapes, separators=(',', ':'))}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {OUT} (timm {timm.__version__})")


if __name__ == "__main__":
    main()
