//! The reports' chart: stacked bars per year and basis of the mandated minimum and the
//! voluntary pooling above it, an inline SVG (no script), with a round axis (`£2bn`, `£4bn`)
//! and a gap for each year without returns. The national page and each area's page draw one.

use super::escape::Html;
use crate::model::{Basis, FinancialYear, Pence};
use crate::tables::NationalRow;

/// A round step for an axis up to `max` pence in about `ticks` steps: 1, 2, 2.5 or 5 × 10ⁿ
/// pounds.
pub fn axis_step(max: i128, ticks: i128) -> i128 {
    let rough = (max / ticks.max(1)).max(100);
    let mut magnitude: i128 = 100; // £1
    while magnitude * 10 <= rough {
        magnitude *= 10;
    }
    [1, 2, 5, 10]
        .iter()
        .map(|m| m * magnitude)
        .chain([magnitude * 5 / 2])
        .filter(|s| *s >= rough)
        .min()
        .unwrap_or(rough)
}

/// `£2bn`, `£2.5bn`, `£500m`, `£250k`, `£0`: a tick label.
pub fn tick_label(p: i128) -> String {
    let pounds = p / 100;
    let (unit, suffix) = match pounds {
        x if x >= 1_000_000_000 => (1_000_000_000, "bn"),
        x if x >= 1_000_000 => (1_000_000, "m"),
        x if x >= 1_000 => (1_000, "k"),
        _ => (1, ""),
    };
    let whole = pounds / unit;
    let tenths = (pounds % unit) * 10 / unit;
    if tenths == 0 {
        format!("£{whole}{suffix}")
    } else {
        format!("£{whole}.{tenths}{suffix}")
    }
}

/// One bar: a year and basis's mandated minimum and the voluntary pooling above it.
pub struct Bar {
    pub year: FinancialYear,
    pub basis: Basis,
    pub minimum: Pence,
    pub voluntary: Pence,
    /// Voluntary pooling as a multiple of the baseline year's, labelled above the bar.
    pub ratio: Option<f64>,
}

impl Bar {
    /// The national table's rows with areas included: a period with none is a gap.
    pub fn national(rows: &[NationalRow]) -> Vec<Bar> {
        rows.iter()
            .filter(|r| r.areas_included > 0)
            .map(|r| Bar {
                year: r.financial_year,
                basis: r.basis,
                minimum: r.mandated_minimum,
                voluntary: r.voluntary_above_minimum,
                ratio: r.voluntary_vs_baseline_ratio,
            })
            .collect()
    }
}

/// A slot on the x axis: a bar, or a year between the first and last with none.
enum Slot<'a> {
    Bar(&'a Bar),
    Gap(FinancialYear),
}

fn slots(bars: &[Bar]) -> Vec<Slot<'_>> {
    let years = bars.iter().map(|b| b.year).collect();
    let mut out = Vec::new();
    for (year, has) in super::digest::years_with_gaps(&years) {
        if has {
            out.extend(bars.iter().filter(|b| b.year == year).map(Slot::Bar));
        } else {
            out.push(Slot::Gap(year));
        }
    }
    out
}

/// The chart's SVG and legend under a heading with `id`; years without returns are gaps
/// labelled so, never closed up. `baseline` names the year the ratios compare with.
pub fn chart(s: &mut String, id: &str, title: &str, bars: &[Bar], baseline: Option<&str>) {
    if bars.is_empty() {
        return;
    }
    format_line_to!(s, "<h2 id=\"{id}\">{}</h2>", Html(title));
    let (w, h, left, bottom, top) = (1000.0_f64, 340.0_f64, 70.0_f64, 46.0_f64, 24.0_f64);
    let max = bars.iter().map(|b| (b.minimum + b.voluntary).0).max().unwrap_or(0).max(1);
    let step = axis_step(max, 4);
    let ceiling = (max + step - 1) / step * step;
    let plot = h - top - bottom;
    let y_of = |p: i128| h - bottom - (p as f64 / ceiling as f64) * plot;
    format_line_to!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        Html(title)
    );
    for i in 0..=(ceiling / step) {
        let y = y_of(i * step);
        format_line_to!(s, "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#d8dde6\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#5b6473\">{}</text>", w - 10.0, left - 8.0, y + 4.0, tick_label(i * step));
    }
    let slots = slots(bars);
    let slot = (w - left - 20.0) / slots.len() as f64;
    let bar = (slot * 0.6).min(60.0);
    let base = y_of(0);
    for (i, item) in slots.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let cx = x + bar / 2.0;
        let (year, basis) = match item {
            Slot::Bar(b) => {
                draw_bar(s, b, x, bar, &y_of);
                (b.year, b.basis.as_str())
            }
            Slot::Gap(year) => {
                format_line_to!(s, "<text class=\"gap\" x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5b6473\">no returns</text>", base - 6.0);
                (*year, "")
            }
        };
        let short = year.to_string().split_off(2);
        format_line_to!(
            s,
            "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2330\">{short}</text><text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5b6473\">{basis}</text>",
            base + 16.0,
            base + 30.0,
        );
    }
    format_line_to!(s, "</svg>");
    let labels =
        baseline.map(|b| format!("<span>Labels: voluntary pooling as a multiple of {} (plan)</span>", Html(b)));
    format_line_to!(
        s,
        "<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#3b6ea8\"></i>Mandated minimum</span><span><i class=\"swatch\" style=\"background:#e08a2e\"></i>Voluntary above the minimum</span>{}<span>Years marked “no returns”: none counted</span></p>",
        labels.unwrap_or_default()
    );
}

fn draw_bar(s: &mut String, b: &Bar, x: f64, width: f64, y_of: &dyn Fn(i128) -> f64) {
    let (base, mid, end) = (y_of(0), y_of(b.minimum.0), y_of((b.minimum + b.voluntary).0));
    let label = format!("{} {}", b.year, b.basis);
    rect(s, x, mid, width, base - mid, "#3b6ea8", &format!("{label} mandated minimum {}", b.minimum.to_gbp()));
    let vol = b.voluntary.to_gbp();
    rect(s, x, end, width, mid - end, "#e08a2e", &format!("{label} voluntary above minimum {vol}"));
    if let Some(ratio) = b.ratio {
        format_line_to!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2330\">{ratio:.2}×</text>",
            x + width / 2.0,
            end - 5.0
        );
    }
}

fn rect(s: &mut String, x: f64, y: f64, width: f64, height: f64, fill: &str, title: &str) {
    format_line_to!(
        s,
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
        height.max(0.0),
        Html(title)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let bn = 100 * 1_000_000_000;
        assert_eq!(axis_step(11_675 * bn / 1000, 4), 5 * bn);
        assert_eq!(axis_step(8 * bn, 4), 2 * bn);
        assert_eq!(axis_step(9 * bn, 4), 5 * bn / 2);
        assert_eq!(axis_step(100 * 1_000_000 * 3, 4), 100 * 1_000_000);
        assert_eq!(tick_label(2 * bn), "£2bn");
        assert_eq!(tick_label(5 * bn / 2), "£2.5bn");
        assert_eq!(tick_label(100 * 500_000_000), "£500m");
        assert_eq!(tick_label(0), "£0");
    }
}
