"""Text contrast of the stylesheet (WCAG 2.x): every rule that sets both a text colour
and a background, and the text colours used on the page backgrounds, reach 4.5:1 (the
ratio for normal text, asked at every size the pages use)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parent.parent / "api" / "web" / "static" / "isoflow.css"
MINIMUM = 4.5
NAMED = {"#fff": "#ffffff", "white": "#ffffff", "#000": "#000000", "black": "#000000"}
# text colours that sit on the page's own backgrounds (body, cards, table rows)
TEXT_ON_PAGE = ("--ink", "--muted", "--link", "--overdue", "--accent", "--paused", "--brand-2", "--ok", "--today")
PAGE_BACKGROUNDS = ("--bg", "--card", "#f8fafc", "#fff7f6", "#fafbfc")


def luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    channels = [int(hex_digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def stylesheet() -> tuple[dict[str, str], list[tuple[str, dict[str, str]]]]:
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"@media print\s*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", text)  # paper is black on white
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        declarations = {}
        for part in body.split(";"):
            if ":" in part:
                name, value = part.split(":", 1)
                declarations[name.strip()] = value.strip()
        rules.append((selector.strip(), declarations))
    variables = {k: v for selector, d in rules if selector == ":root" for k, v in d.items() if k.startswith("--")}
    return variables, rules


def resolve(value: str, variables: dict[str, str]) -> str | None:
    value = value.replace("!important", "").strip()
    found = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if found:
        value = variables.get(found.group(1), "")
    value = NAMED.get(value.lower(), value.lower())
    return value if re.fullmatch(r"#[0-9a-f]{3}([0-9a-f]{3})?", value) else None


def test_the_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-failing grey


def test_every_coloured_rule_reaches_4_5_to_1():
    variables, rules = stylesheet()
    checked, failing = 0, []
    for selector, declarations in rules:
        colour = resolve(declarations.get("color", ""), variables)
        background = resolve(declarations.get("background", declarations.get("background-color", "")), variables)
        if colour and background:
            checked += 1
            ratio = contrast(colour, background)
            if ratio < MINIMUM:
                failing.append(f"{selector}: {colour} on {background} = {ratio:.2f}")
    assert checked > 20 and failing == []


def test_text_colours_on_the_page_backgrounds():
    variables, _ = stylesheet()
    failing = [f"{fg} on {bg}: {contrast(resolve(f'var({fg})', variables), resolve(bg if bg.startswith('#') else f'var({bg})', variables)):.2f}"
               for fg in TEXT_ON_PAGE for bg in PAGE_BACKGROUNDS
               if contrast(resolve(f"var({fg})", variables),
                           resolve(bg if bg.startswith("#") else f"var({bg})", variables)) < MINIMUM]
    assert failing == []
