"""Draw the adverb study's home-page thumbnail (notebooks/thumbnails/adverbs.png) from a real
tagging: adverbs highlighted, deleted ones struck through, a guard-kept one underlined."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from deletionlab.adverbs.augment import AdverbDeletion
from deletionlab.adverbs.tagger import Tagger

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "thumbnails" / "adverbs.png"


def main() -> None:
    doc = Tagger()("Honestly, it really never works so quickly.")
    _, edits = AdverbDeletion().plan(doc)
    status = {e.position: e.op for e in edits}
    img = Image.new("RGB", (600, 180), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 30)
    except OSError:
        font = ImageFont.load_default()
    x, y = 20, 40
    for i, tok in enumerate(doc):
        w = d.textlength(tok.text, font=font)
        if x + w > 580:
            x, y = 20, y + 55
        if tok.pos_ == "ADV":
            fill = "#ffd6d6" if status.get(i) == "delete" else "#d8f3dc"
            d.rectangle([x - 3, y - 2, x + w + 3, y + 38], fill=fill)
        d.text((x, y), tok.text, fill="#a00" if status.get(i) == "delete" else "black", font=font)
        if status.get(i) == "delete":
            d.line([x, y + 20, x + w, y + 20], fill="#a00", width=3)
        elif status.get(i) == "keep":
            d.line([x, y + 37, x + w, y + 37], fill="#1b4332", width=3)
        x += w + (d.textlength(" ", font=font) if tok.whitespace_ else 0)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    img.save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
