"""Bar charts drawn on the server as SVG geometry (no JavaScript, no CDN).

The functions compute positions only; `templates/reports/_chart.html` draws them with a
<title> and <desc> and every chart is shown next to a table with the same numbers.
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


def _scale_top(maximum: int) -> tuple[int, int]:
    step = nice_step(maximum)
    return step, step * max(1, math.ceil(maximum / step))


def grouped_bars(
    *, key: str, title: str, desc: str, categories: list[str], series: list[tuple]
) -> Chart:
    """Vertical bars, one group per category; `series` is [(name, css class, values)]."""
    width, height = 400, 220
    left, right, top, bottom = 40, 4, 12, 24
    chart = Chart(key, title, desc, width, height)
    chart.plot_left, chart.plot_right = left, width - right
    chart.plot_top, chart.plot_bottom = top, height - bottom
    maximum = max([max(values, default=0) for _name, _css, values in series] + [0])
    step, scale_top = _scale_top(maximum)
    plot_height = chart.plot_bottom - top
    group_width = (chart.plot_right - left) / max(1, len(categories))
    bar_width = group_width * 0.8 / max(1, len(series))
    for value in range(0, scale_top + 1, step):
        chart.value_ticks.append(Tick(chart.plot_bottom - plot_height * value / scale_top, value))
    for index, category in enumerate(categories):
        group_x = left + index * group_width
        chart.category_ticks.append(Tick(group_x + group_width / 2, category))
        for number, (name, css, values) in enumerate(series):
            value = max(0, values[index])
            bar_height = plot_height * value / scale_top
            chart.bars.append(
                Bar(
                    x=round(group_x + group_width * 0.1 + number * bar_width, 1),
                    y=round(chart.plot_bottom - bar_height, 1),
                    width=round(bar_width, 1),
                    height=round(bar_height, 1),
                    css=css,
                    label=f"{category} {name}: {values[index]}",
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
    step, scale_top = _scale_top(max(values + [0]))
    plot_width = chart.plot_right - left
    for value in range(0, scale_top + 1, step):
        chart.value_ticks.append(Tick(left + plot_width * value / scale_top, value))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row
        # The tick's position is the baseline of the label; the bar sits under it.
        chart.category_ticks.append(Tick(y + 13, f"{label}: {value}"))
        chart.bars.append(
            Bar(
                x=left,
                y=y + 18,
                width=round(plot_width * max(0, value) / scale_top, 1),
                height=14,
                css=css,
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
    """Positions of a small trend line for `values` (oldest first); a flat line at the
    bottom when all are zero or below."""
    top = max([*values, 0]) or 1
    step = (width - 2 * pad) / max(1, len(values) - 1)
    coordinates = [
        (
            round(pad + index * step, 1),
            round(height - pad - (height - 2 * pad) * max(0, value) / top, 1),
        )
        for index, value in enumerate(values)
    ]
    last_x, last_y = coordinates[-1] if coordinates else (pad, height - pad)
    return Sparkline(
        width=width,
        height=height,
        label=label,
        points=" ".join(f"{x},{y}" for x, y in coordinates),
        last_x=last_x,
        last_y=last_y,
        baseline=height - pad,
    )
