#!/usr/bin/env python3
"""st_maxdiff.py A.safetensors B.safetensors [ATOL [SKIP]]
The largest |a - b| over every tensor of two safetensors files (the same
names and shapes), printed as "max |d| X (TENSOR)"; exit 1 if it is over
ATOL (default 1e-5) or the files hold different tensors.  Tensors whose
name contains SKIP are left out of the maximum (and printed apart)."""
import sys

import numpy as np
from safetensors.numpy import load_file

a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
atol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
skip = sys.argv[4] if len(sys.argv) > 4 else None
if sorted(a) != sorted(b) or any(a[k].shape != b[k].shape for k in a):
    print("different tensors")
    sys.exit(1)
worst, name = 0.0, ""
skipped = 0.0
for k in a:
    d = float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) if a[k].size else 0.0
    if skip and skip in k:
        skipped = max(skipped, d)
    elif d > worst:
        worst, name = d, k
print(f"max |d| {worst:.3g} ({name})" + (f"; {skip}: {skipped:.3g}" if skip else ""))
sys.exit(0 if worst <= atol else 1)
