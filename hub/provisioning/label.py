"""A printable label for the pole's box: a QR code of the node id and what a crew reads
from the street (id, pole number, area). SVG, so it prints sharp at any size."""

from __future__ import annotations

from html import escape

import segno

WIDTH_MM, HEIGHT_MM = 90, 40
QR_MM = 34


def label_svg(node_id: str, *, pole: str | None, area: str, district: str) -> str:
    # A full QR code, never a Micro QR (segno's choice for short texts): phones' scanners
    # often cannot read Micro QR.
    qr = segno.make_qr(node_id, error="q")
    modules = qr.symbol_size(scale=1, border=4)[0]
    scale = QR_MM / modules
    qr_svg = qr.svg_inline(scale=1, border=4, omitsize=False)
    lines = [(node_id, 6.0, "bold"), (f"Pole {pole}" if pole else "Pole —", 4.2, "normal"),
             (area, 4.2, "normal"), (f"DMC {district.title()}", 3.6, "normal")]
    text, y = [], 9.0
    for content, size, weight in lines:
        text.append(f'<text x="{QR_MM + 3}" y="{y:.1f}" font-size="{size}" '
                    f'font-weight="{weight}">{escape(content)}</text>')
        y += size + 3.2
    text.append(f'<text x="{QR_MM + 3}" y="{HEIGHT_MM - 3}" font-size="3">'
                'Roshni street-light node</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" '
            f'height="{HEIGHT_MM}mm" viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" '
            'font-family="DejaVu Sans, Arial, sans-serif">\n'
            f'<rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="#fff" stroke="#000" '
            'stroke-width="0.3"/>\n'
            f'<g transform="translate(1 {(HEIGHT_MM - QR_MM) / 2}) scale({scale:.4f})">'
            f'{qr_svg}</g>\n' + "\n".join(text) + "\n</svg>\n")
