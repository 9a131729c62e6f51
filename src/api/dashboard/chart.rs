//! Server-rendered SVG charts for the dashboard: bars (one group per x position, one bar per
//! series) and lines (one polyline per series). Pure: values in, markup out. No script and no
//! `style` attribute (colours are presentation attributes), so the page's CSP holds; every text
//! goes through `html::escape`, and each mark carries a `<title>` with its exact number.

use super::html::escape;
use std::fmt::Write;

/// The drawing area inside the SVG's view box (left margin for the y labels, bottom for x).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;
const LEGEND: f64 = 22.0;

/// Colours told apart also by colour-blind readers (Okabe–Ito).
pub const PALETTE: [&str; 8] = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"];

/// One named row of values, one per x label.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<i64>,
}

/// A chart: what it shows (its accessible title) and the label of each x position.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_labels: &'a [String],
    /// Show every n-th x label (the others stay in the marks' titles).
    pub label_every: usize,
}

/// The y scale: the axis maximum (a round number at or above the largest value, at least 1) and
/// the height in view-box units of a value.
fn scale(series: &[Series]) -> (i64, impl Fn(i64) -> f64) {
    let largest = series.iter().flat_map(|s| s.values.iter().copied()).max().unwrap_or(0).max(1);
    let top = round_up(largest);
    let plot = HEIGHT - TOP - BOTTOM;
    (top, move |value: i64| value.max(0) as f64 / top as f64 * plot)
}

/// The smallest of 1, 2, 5 × 10^n at or above `n`.
fn round_up(n: i64) -> i64 {
    let mut magnitude = 1;
    loop {
        for step in [1, 2, 5] {
            if step * magnitude >= n {
                return step * magnitude;
            }
        }
        magnitude *= 10;
    }
}

fn open(chart: &Chart<'_>, series: &[Series], top: i64) -> String {
    let total_height = HEIGHT + LEGEND;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {total_height}\" role=\"img\" aria-label=\"{title}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{title}</title>",
        title = escape(chart.title)
    );
    let base = HEIGHT - BOTTOM;
    // Axis, the top gridline and their labels.
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"#8c959f\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{right}\" y2=\"{TOP}\" stroke=\"#d0d7de\" stroke-dasharray=\"3 3\"/>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"13\" fill=\"#57606a\">{top}</text>\
         <text x=\"{lx}\" y=\"{base}\" text-anchor=\"end\" font-size=\"13\" fill=\"#57606a\">0</text>",
        right = WIDTH - RIGHT,
        lx = LEFT - 4.0,
        ty = TOP + 4.0,
    );
    let slot = slot_width(chart.x_labels.len());
    for (i, label) in chart.x_labels.iter().enumerate() {
        if chart.label_every > 0 && i % chart.label_every == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#57606a\">{}</text>",
                LEFT + slot * (i as f64 + 0.5),
                HEIGHT - 8.0,
                escape(label)
            );
        }
    }
    // The legend, under the plot.
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" fill=\"#1f2328\">{}</text>",
            HEIGHT + 4.0,
            s.colour,
            x + 14.0,
            HEIGHT + 13.0,
            escape(&s.name)
        );
        x += 24.0 + 8.0 * s.name.chars().count() as f64;
    }
    out
}

fn slot_width(positions: usize) -> f64 {
    (WIDTH - LEFT - RIGHT) / positions.max(1) as f64
}

/// Grouped bars: at each x position, one bar per series, side by side.
pub fn bars(chart: &Chart<'_>, series: &[Series]) -> String {
    let (top, height) = scale(series);
    let mut out = open(chart, series, top);
    let slot = slot_width(chart.x_labels.len());
    let bar = (slot * 0.8) / series.len().max(1) as f64;
    let base = HEIGHT - BOTTOM;
    for (i, label) in chart.x_labels.iter().enumerate() {
        for (k, s) in series.iter().enumerate() {
            let value = s.values.get(i).copied().unwrap_or(0);
            let h = height(value);
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                LEFT + slot * i as f64 + slot * 0.1 + bar * k as f64,
                base - h,
                bar,
                h,
                s.colour,
                escape(label),
                value,
                escape(&s.name)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Lines: one polyline per series through its values, a point per x position.
pub fn lines(chart: &Chart<'_>, series: &[Series]) -> String {
    let (top, height) = scale(series);
    let mut out = open(chart, series, top);
    let slot = slot_width(chart.x_labels.len());
    let base = HEIGHT - BOTTOM;
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", LEFT + slot * (i as f64 + 0.5), base - height(*v)))
            .collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"><title>{}</title></polyline>",
            points.join(" "),
            s.colour,
            escape(&s.name)
        );
        if let (Some(last), Some(label)) = (s.values.last(), chart.x_labels.last()) {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{}: {} {}</title></circle>",
                LEFT + slot * (s.values.len() as f64 - 0.5),
                base - height(*last),
                s.colour,
                escape(label),
                last,
                escape(&s.name)
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("d{i}")).collect()
    }

    /// The `(attribute, value)` numbers of every `<rect ... fill="colour">` of the marks.
    fn bar_heights(svg: &str, colour: &str) -> Vec<f64> {
        svg.split("<rect ")
            .filter(|r| r.contains(&format!("fill=\"{colour}\"><title>")))
            .map(|r| {
                let h = r.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn the_axis_top_is_a_round_number_at_or_above_the_largest_value() {
        assert_eq!(round_up(1), 1);
        assert_eq!(round_up(3), 5);
        assert_eq!(round_up(7), 10);
        assert_eq!(round_up(10), 10);
        assert_eq!(round_up(11), 20);
        assert_eq!(round_up(130), 200);
        assert_eq!(round_up(501), 1000);
    }

    #[test]
    fn bars_are_proportional_to_their_values_with_the_exact_number_in_their_title() {
        let x = labels(3);
        let chart = Chart { title: "Requests per day", x_labels: &x, label_every: 1 };
        let received = Series { name: "received".into(), colour: PALETTE[0], values: vec![0, 5, 10] };
        let settled = Series { name: "settled".into(), colour: PALETTE[1], values: vec![2, 0, 1] };
        let svg = bars(&chart, &[received, settled]);
        let plot = HEIGHT - TOP - BOTTOM;
        assert_eq!(bar_heights(&svg, PALETTE[0]), [0.0, (plot / 2.0 * 10.0).round() / 10.0, plot]);
        assert_eq!(
            bar_heights(&svg, PALETTE[1]),
            [(plot / 5.0 * 10.0).round() / 10.0, 0.0, (plot / 10.0 * 10.0).round() / 10.0]
        );
        assert!(svg.contains("<title>d1: 5 received</title>"), "{svg}");
        assert!(svg.contains("<title>d0: 2 settled</title>"), "{svg}");
        assert!(svg.contains(">10</text>"), "the axis top: {svg}");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(!svg.contains("style=") && !svg.contains("<script"), "nothing the CSP refuses");
    }

    #[test]
    fn nothing_to_show_draws_flat_bars_without_dividing_by_zero() {
        let x = labels(2);
        let chart = Chart { title: "t", x_labels: &x, label_every: 1 };
        let svg = bars(&chart, &[Series { name: "a".into(), colour: PALETTE[0], values: vec![0, 0] }]);
        assert_eq!(bar_heights(&svg, PALETTE[0]), [0.0, 0.0]);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let empty = lines(&Chart { title: "t", x_labels: &[], label_every: 1 }, &[]);
        assert!(empty.ends_with("</svg>") && !empty.contains("NaN"));
    }

    #[test]
    fn a_line_has_one_point_per_value_from_the_baseline_up() {
        let x = labels(4);
        let chart = Chart { title: "Open tasks", x_labels: &x, label_every: 2 };
        let svg = lines(&chart, &[Series { name: "zendesk".into(), colour: PALETTE[2], values: vec![0, 2, 4, 1] }]);
        let points = svg.split("points=\"").nth(1).unwrap();
        let points: Vec<(f64, f64)> = points[..points.find('"').unwrap()]
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(points.len(), 4);
        let base = HEIGHT - BOTTOM;
        let plot = HEIGHT - TOP - BOTTOM;
        // The axis top is 5: 4 reaches 4/5 of the plot.
        assert_eq!(points[0].1, base);
        assert!((points[2].1 - (base - plot * 0.8)).abs() < 0.06, "{points:?}");
        assert!(points.windows(2).all(|w| w[1].0 > w[0].0), "left to right: {points:?}");
        assert!(svg.contains("<title>d3: 1 zendesk</title>"), "the last value is marked: {svg}");
        assert!(svg.contains(">d0</text>") && svg.contains(">d2</text>") && !svg.contains(">d1</text>"));
    }

    #[test]
    fn names_and_labels_are_escaped() {
        let x = vec!["<b>".to_string()];
        let chart = Chart { title: "a \"title\"", x_labels: &x, label_every: 1 };
        let svg = bars(&chart, &[Series { name: "<script>".into(), colour: PALETTE[0], values: vec![1] }]);
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;") && svg.contains("a &quot;title&quot;"));
    }
}
