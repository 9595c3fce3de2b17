#!/usr/bin/env python3
"""Draws the installable app's icons (icon-192.png, icon-512.png) from the
favicon's geometry (assets/favicon.svg): a rounded square outline around a
filled square, in the accent colour on white. Standard library only; run
`python3 app/make_icons.py` after changing the design, and commit the PNGs
it writes to app/icons/ (which trunk copies to dist/icons/ as it is).

The glyph sits inside the central circle of 80% diameter, so the same files
serve as maskable icons (a launcher may crop them to a circle)."""

import os
import struct
import zlib

ACCENT = (0x2B, 0x59, 0xC3)
BACKGROUND = (0xFF, 0xFF, 0xFF)
SUPERSAMPLE = 4  # per axis: 16 samples per pixel for smooth edges


def in_rounded_rect(x, y, x0, y0, x1, y1, r):
    dx = max(x0 + r - x, 0.0, x - (x1 - r))
    dy = max(y0 + r - y, 0.0, y - (y1 - r))
    return dx * dx + dy * dy <= r * r


def in_glyph(u, v):
    """(u, v) in the favicon's 32-unit box."""
    # The outline: stroke width 3 centred on the 3..29 rect with radius 6.
    outline = in_rounded_rect(u, v, 1.5, 1.5, 30.5, 30.5, 7.5) and not in_rounded_rect(
        u, v, 4.5, 4.5, 27.5, 27.5, 4.5
    )
    return outline or in_rounded_rect(u, v, 10, 10, 22, 22, 2)


def draw(size):
    # The outline spans 29 units; its corners must stay inside the circle of
    # radius 0.4 * size, so it spans at most 0.56 * size.
    scale = 0.56 * size / 29
    offset = size / 2 - 16 * scale
    rows = []
    for py in range(size):
        row = bytearray([0])  # PNG filter type 0 (none)
        for px in range(size):
            hits = 0
            for sy in range(SUPERSAMPLE):
                v = (py + (sy + 0.5) / SUPERSAMPLE - offset) / scale
                for sx in range(SUPERSAMPLE):
                    u = (px + (sx + 0.5) / SUPERSAMPLE - offset) / scale
                    hits += in_glyph(u, v)
            a = hits / SUPERSAMPLE**2
            row += bytes(round(f * a + b * (1 - a)) for f, b in zip(ACCENT, BACKGROUND))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size, pixels):
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "icons")
    for size in (192, 512):
        path = os.path.join(folder, f"icon-{size}.png")
        with open(path, "wb") as f:
            f.write(png(size, draw(size)))
        print(path)
