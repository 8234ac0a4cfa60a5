"""Median selection networks: the comparators of a sorting network that the median depends on.

A compare-exchange network (Batcher's odd-even merge sort) is cut down to the comparators whose
outputs reach the middle wire, and wires padded with +inf are folded away. The same network
runs as CUDA source (:func:`median_cuda`) in the fused TV-L1 kernels and on NumPy arrays
(:func:`median_numpy`), its twin.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from ...errors import FlowError

__all__ = ["median_cuda", "median_network", "median_numpy"]

# (i, j, keep_min, keep_max) over wires named by value slot; the min goes to wire i
Comparator = tuple[int, int, bool, bool]


def _batcher(n: int) -> list[tuple[int, int]]:
    """Batcher's odd-even merge sort on ``n`` wires (a power of two), ascending."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


@functools.cache
def median_network(count: int) -> tuple[tuple[Comparator, ...], int]:
    """The comparators that put the median of ``count`` values (odd) on one wire, and that wire.

    Wires ``0 .. count-1`` hold the values; the result is ``(comparators, wire)``, each
    comparator ``(i, j, keep_min, keep_max)`` replacing wire i by min(i, j) (when keep_min) and
    wire j by max(i, j) (when keep_max).

    Raises:
        FlowError: ``count`` is not a positive odd number.
    """
    if count < 1 or count % 2 == 0:
        raise FlowError(f"the median network needs an odd count, got {count}")
    size = 1 << max(0, (count - 1).bit_length())
    # fold the +inf padding: follow which physical slot each wire holds, None for +inf
    slot: list[int | None] = [i if i < count else None for i in range(size)]
    folded: list[tuple[int, int, int, int]] = []  # (wire i, wire j, slot at i, slot at j)
    for i, j in _batcher(size):
        if slot[j] is None:
            continue
        if slot[i] is None:
            slot[i], slot[j] = slot[j], None
            continue
        folded.append((i, j, slot[i], slot[j]))
    middle = count // 2
    needed = {middle}
    kept: list[Comparator] = []
    for i, j, si, sj in reversed(folded):
        keep_min, keep_max = i in needed, j in needed
        if keep_min or keep_max:
            kept.append((si, sj, keep_min, keep_max))
            needed |= {i, j}
    kept.reverse()
    return tuple(kept), slot[middle]


def median_numpy(values: Sequence[np.ndarray]) -> np.ndarray:
    """Elementwise median of ``values`` (an odd number of equal-shape arrays) through the network."""
    comparators, wire = median_network(len(values))
    v = list(values)
    for i, j, keep_min, keep_max in comparators:
        a, b = v[i], v[j]
        if keep_min:
            v[i] = np.minimum(a, b)
        if keep_max:
            v[j] = np.maximum(a, b)
    return v[wire]


def median_cuda(count: int, array: str = "v") -> str:
    """CUDA statements that return the median of ``array[0 .. count-1]`` (modified in place)."""
    comparators, wire = median_network(count)
    lines = []
    for i, j, keep_min, keep_max in comparators:
        a, b = f"{array}[{i}]", f"{array}[{j}]"
        if keep_min and keep_max:
            lines.append(f"    {{ const float t = fminf({a}, {b}); {b} = fmaxf({a}, {b}); {a} = t; }}")
        elif keep_min:
            lines.append(f"    {a} = fminf({a}, {b});")
        else:
            lines.append(f"    {b} = fmaxf({a}, {b});")
    lines.append(f"    return {array}[{wire}];")
    return "\n".join(lines)
