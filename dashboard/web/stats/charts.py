"""Chart geometry for server-rendered SVG: bars and stacked bars with axes, labels and a legend.

Rendering on the server keeps the page script-free (the CSP forbids inline scripts) and makes the
charts work without JavaScript. The template draws what these dataclasses describe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

WIDTH, HEIGHT = 420, 210
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 26
MAX_X_LABELS = 7


@dataclass(frozen=True)
class Rect:
    """One bar or bar segment."""

    x: float
    y: float
    width: float
    height: float
    css_class: str
    label: str


@dataclass(frozen=True)
class Tick:
    """An axis label at a position."""

    position: float | Decimal  # Decimal on the value axis: a fraction of the top value
    text: str


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw one chart."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bars: list[Rect]
    y_ticks: list[Tick]
    x_ticks: list[Tick]


def nice_ceiling(value: int) -> int:
    """Return a round number at or above ``value`` for the top of an axis (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _x_ticks(days: list[date], slot: float) -> list[Tick]:
    every = max(1, -(-len(days) // MAX_X_LABELS))
    return [
        Tick(LEFT + slot * (i + 0.5), f"{day:%-d %b}")
        for i, day in enumerate(days)
        if i % every == 0
    ]


def _y_ticks(top: int, formatter: Callable[[Decimal], str]) -> list[Tick]:
    plot_height = HEIGHT - TOP - BOTTOM
    return [
        Tick(HEIGHT - BOTTOM - plot_height * fraction, formatter(top * fraction))
        for fraction in (Decimal(0), Decimal("0.5"), Decimal(1))
    ]


def bar_chart(
    series: list[tuple[date, int]],
    formatter: Callable[[Decimal | int], str],
    css_class: str = "bar",
    smallest_top: int = 1,
) -> Chart:
    """Return a bar chart of one value per day (zero days drawn as zero, not left out).

    ``smallest_top`` is the least the value axis reaches: with money in minor units, one major
    unit, so a period without volume reads £0 to £1, not £0 to £0.01 with £0 half-way.
    """
    days = [day for day, _ in series]
    top = max(nice_ceiling(max((v for _, v in series), default=0)), smallest_top)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(series))
    bars = []
    for i, (day, value) in enumerate(series):
        height = plot_height * value / top
        bars.append(
            Rect(
                x=LEFT + slot * i + slot * 0.15,
                y=HEIGHT - BOTTOM - height,
                width=slot * 0.7,
                height=height,
                css_class=css_class,
                label=f"{day:%-d %b}: {formatter(value)}",
            )
        )
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM, bars,
                 _y_ticks(top, formatter), _x_ticks(days, slot))  # fmt: skip


def stacked_chart(series: list[tuple[date, dict[str, int]]], order: list[str]) -> Chart:
    """Return a stacked bar chart of counts per day, segments in ``order`` from the bottom."""
    days = [day for day, _ in series]
    top = nice_ceiling(max(2, *(sum(parts.values()) for _, parts in series)))
    top += top % 2  # whole numbers at the half-way tick
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(series))
    bars = []
    for i, (day, parts) in enumerate(series):
        base: float = HEIGHT - BOTTOM
        for name in order:
            value = parts.get(name, 0)
            if not value:
                continue
            height = plot_height * value / top
            base -= height
            bars.append(
                Rect(
                    LEFT + slot * i + slot * 0.15,
                    base,
                    slot * 0.7,
                    height,
                    f"seg-{name}",
                    f"{day:%-d %b}: {value} {name}",
                )
            )
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM, bars,
                 _y_ticks(top, lambda v: f"{v:.0f}"), _x_ticks(days, slot))  # fmt: skip
