"""Draw the SpaceByte study's home-page thumbnail (notebooks/thumbnails/spacebyte.png) from a real
patching: one colour per patch, a red marker where the global blocks run."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from deletionlab.spacebyte.patching import patch

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "thumbnails" / "spacebyte.png"
TEXT = "Think harder after spaces: def f(x): return x"
PALETTE = ["#ffe0b3", "#c8e6c9", "#bbdefb", "#f8bbd0", "#d1c4e9", "#fff59d"]


def main() -> None:
    p = patch(TEXT)
    img = Image.new("RGB", (600, 180), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSansMono.ttf", 28)
    except OSError:
        font = ImageFont.load_default()
    x, y = 20, 40
    for i, (a, b) in enumerate(p.segments()):
        piece = bytes(p.data[max(a, 1):b]).decode("utf-8")
        w = d.textlength(piece, font=font)
        if x + w > 585:
            x, y = 20, y + 62
        d.rectangle([x, y - 2, x + w, y + 36], fill=PALETTE[i % len(PALETTE)])
        d.polygon([(x - 6, y - 14), (x + 6, y - 14), (x, y - 4)], fill="#c0392b")  # a global block runs here
        d.text((x, y), piece, fill="black", font=font)
        x += w
    OUT.parent.mkdir(parents=True, exist_ok=True)
    img.save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
