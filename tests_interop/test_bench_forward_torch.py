"""The forward-mode benchmark case's PyTorch rows (blasad.bench.forward): here, where PyTorch is
installed, rather than in bench/, whose smoke run has no peers."""

from __future__ import annotations

import scipy  # noqa: F401  (imported before torch: see NOTES on SciPy's gesdd after torch)
import torch

from blasad.bench import forward
from blasad.bench.cli import make_config, parse_args
from blasad.bench.frameworks import Peers


def test_torch_rows_and_wrapper() -> None:
    """With PyTorch: its two forward modes beside blasad on the gemm (the same tangent), and the
    torch wrapper's overhead rows."""
    peers = Peers(False)
    peers.torch = torch
    cfg = make_config(parse_args(["--quick", "--no-peers", "--threads", "1"]))
    rows = forward.case_forward_gemm(4, 1, cfg, peers)
    assert [r.framework for r in rows] == ["blasad", "ideal", forward.TORCH_JVP, forward.TORCH_FWAD]
    assert all(r.checks["ideal"] <= forward.CHECK_LIMIT for r in rows if r.framework != "ideal")
    assert all(r.total > 0 and r.plain is not None for r in rows)
    wraps = forward.case_forward_wrap(4, 1, cfg, peers)
    assert [(r.op, r.framework) for r in wraps] == [("blasad.torch.wrap", forward.TORCH_JVP),
                                                    ("blasad.torch.wrap", forward.TORCH_FWAD)]  # fmt: skip
    assert all(r.checks["blasad"] <= forward.CHECK_LIMIT and "overhead" in r.ratios for r in wraps)
