"""Bar charts drawn on the server as SVG geometry (no JavaScript, no CDN).

The functions compute positions only; `templates/reports/_chart.html` draws them with a
<title> and <desc> and every chart is shown next to a table with the same numbers.

A figure below zero (a month whose voids gave back more than it redeemed) is drawn on the
other side of the zero line, which the chart then draws, and its bar is marked
`bar-negative`: before, it was drawn as an empty bar while its label kept the minus.
"""

import math
from dataclasses import dataclass, field


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str


@dataclass
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    key: str
    title: str
    desc: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    value_ticks: list[Tick] = field(default_factory=list)
    category_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    horizontal: bool = False
    # Where zero is on the values' axis, when a figure is below it (None: zero is the plot's
    # edge, the axis of every bar).
    zero: float | None = None
    plot_left: float = 0
    plot_right: float = 0
    plot_top: float = 0
    plot_bottom: float = 0

    @property
    def label_x(self) -> float:
        """Where category (horizontal) or value (vertical) labels end, left of the plot."""
        return self.plot_left - 5

    @property
    def axis_y(self) -> float:
        """The baseline of the labels under the plot."""
        return self.height - 6


def nice_step(maximum: float, steps: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about `steps` gridlines."""
    if maximum <= 0:
        return 1
    raw = maximum / steps
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return max(1, int(multiple * power))
    return max(1, int(10 * power))


@dataclass(frozen=True)
class Scale:
    """The values' axis: from `low` (zero, or below it for a negative figure) to `high`,
    in steps of `step`."""

    step: int
    low: int
    high: int

    def share(self, value: float) -> float:
        """Where `value` sits between the axis's two ends, 0 at `low` and 1 at `high`."""
        return (value - self.low) / (self.high - self.low)

    @property
    def ticks(self) -> range:
        return range(self.low, self.high + 1, self.step)


def _scale(values) -> Scale:
    """An axis with round steps from zero (or the lowest figure, below zero) to the highest."""
    high, low = max([*values, 0]), min([*values, 0])
    step = nice_step(high - low)
    return Scale(step, step * math.floor(low / step), step * max(1, math.ceil(high / step)))


def _css(css: str, value: int) -> str:
    return f"{css} bar-negative" if value < 0 else css


def grouped_bars(
    *, key: str, title: str, desc: str, categories: list[str], series: list[tuple]
) -> Chart:
    """Vertical bars, one group per category; `series` is [(name, css class, values)]."""
    width, height = 400, 220
    left, right, top, bottom = 40, 4, 12, 24
    chart = Chart(key, title, desc, width, height)
    chart.plot_left, chart.plot_right = left, width - right
    chart.plot_top, chart.plot_bottom = top, height - bottom
    scale = _scale([value for _name, _css, values in series for value in values])
    plot_height = chart.plot_bottom - top

    def y_of(value: float) -> float:
        return chart.plot_bottom - plot_height * scale.share(value)

    if scale.low < 0:
        chart.zero = round(y_of(0), 1)
    group_width = (chart.plot_right - left) / max(1, len(categories))
    bar_width = group_width * 0.8 / max(1, len(series))
    for value in scale.ticks:
        chart.value_ticks.append(Tick(y_of(value), value))
    for index, category in enumerate(categories):
        group_x = left + index * group_width
        chart.category_ticks.append(Tick(group_x + group_width / 2, category))
        for number, (name, css, values) in enumerate(series):
            value = values[index]
            # From zero up, or for a negative figure from zero down.
            upper, lower = y_of(max(value, 0)), y_of(min(value, 0))
            chart.bars.append(
                Bar(
                    x=round(group_x + group_width * 0.1 + number * bar_width, 1),
                    y=round(upper, 1),
                    width=round(bar_width, 1),
                    height=round(lower - upper, 1),
                    css=_css(css, value),
                    label=f"{category} {name}: {value}",
                )
            )
    chart.legend = [(name, css) for name, css, _values in series]
    return chart


def horizontal_bars(
    *, key: str, title: str, desc: str, labels: list[str], values: list[int], css: str = "bar-a"
) -> Chart:
    """One horizontal bar per label, the label above its bar (long names fit on a phone)."""
    row, width = 38, 400
    left, right, top = 4, 24, 4
    height = top + row * max(1, len(labels)) + 22
    chart = Chart(key, title, desc, width, height, horizontal=True)
    chart.plot_left, chart.plot_right = left, width - right
    chart.plot_top, chart.plot_bottom = top, height - 22
    scale = _scale(values)
    plot_width = chart.plot_right - left

    def x_of(value: float) -> float:
        return left + plot_width * scale.share(value)

    if scale.low < 0:
        chart.zero = round(x_of(0), 1)
    for value in scale.ticks:
        chart.value_ticks.append(Tick(x_of(value), value))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row
        # The tick's position is the baseline of the label; the bar sits under it, from
        # zero to the right, or for a negative figure from zero to the left.
        chart.category_ticks.append(Tick(y + 13, f"{label}: {value}"))
        start, end = x_of(min(value, 0)), x_of(max(value, 0))
        chart.bars.append(
            Bar(
                x=round(start, 1),
                y=y + 18,
                width=round(end - start, 1),
                height=14,
                css=_css(css, value),
                label=f"{label}: {value}",
            )
        )
    return chart


@dataclass
class Sparkline:
    """A line through a few values, scaled to its own highest: the shape, not the size."""

    width: int
    height: int
    label: str  # the figures in words, for screen readers and as a tooltip
    points: str  # the polyline's "x,y x,y ..."
    last_x: float
    last_y: float
    baseline: float


def sparkline(
    values: list[int], *, label: str, width: int = 96, height: int = 24, pad: int = 3
) -> Sparkline:
    """Positions of a small trend line for `values` (oldest first), its baseline at zero: a
    flat line on it when all are zero, a figure below zero under it."""
    top, bottom = max([*values, 0]), min([*values, 0])
    span = (top - bottom) or 1
    step = (width - 2 * pad) / max(1, len(values) - 1)

    def y_of(value: int) -> float:
        return round(height - pad - (height - 2 * pad) * (value - bottom) / span, 1)

    coordinates = [
        (round(pad + index * step, 1), y_of(value)) for index, value in enumerate(values)
    ]
    last_x, last_y = coordinates[-1] if coordinates else (pad, height - pad)
    return Sparkline(
        width=width,
        height=height,
        label=label,
        points=" ".join(f"{x},{y}" for x, y in coordinates),
        last_x=last_x,
        last_y=last_y,
        baseline=y_of(0),
    )
