//! The report's chart: stacked bars per year and basis of the mandated minimum and the
//! voluntary pooling above it, an inline SVG (no script), with a round axis (`£2bn`, `£4bn`).

use super::escape::Html;
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

/// The chart's SVG and legend.
pub fn chart(s: &mut String, rows: &[NationalRow]) {
    if rows.is_empty() {
        return;
    }
    format_line_to!(s, "<h2 id=\"chart\">Mandated minimum and voluntary pooling above it</h2>");
    let (w, h, left, bottom, top) = (1000.0_f64, 340.0_f64, 70.0_f64, 46.0_f64, 24.0_f64);
    let max = rows.iter().map(|r| r.total_pooled.0).max().unwrap_or(0).max(1);
    let step = axis_step(max, 4);
    let ceiling = (max + step - 1) / step * step;
    let plot = h - top - bottom;
    let y_of = |p: i128| h - bottom - (p as f64 / ceiling as f64) * plot;
    format_line_to!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Mandated minimum and voluntary pooling by year\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for i in 0..=(ceiling / step) {
        let y = y_of(i * step);
        format_line_to!(s, "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#d8dde6\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#5b6473\">{}</text>", w - 10.0, left - 8.0, y + 4.0, tick_label(i * step));
    }
    let slot = (w - left - 20.0) / rows.len() as f64;
    let bar = (slot * 0.6).min(60.0);
    for (i, r) in rows.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let (base, mid, end) = (y_of(0), y_of(r.mandated_minimum.0), y_of(r.total_pooled.0));
        let label = format!("{} {}", r.financial_year, r.basis);
        rect(
            s,
            x,
            mid,
            bar,
            base - mid,
            "#3b6ea8",
            &format!("{label} mandated minimum {}", r.mandated_minimum.to_gbp()),
        );
        let vol = r.voluntary_above_minimum.to_gbp();
        rect(s, x, end, bar, mid - end, "#e08a2e", &format!("{label} voluntary above minimum {vol}"));
        let cx = x + bar / 2.0;
        if let Some(ratio) = r.voluntary_vs_baseline_ratio {
            format_line_to!(s, "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2330\">{ratio:.2}×</text>", end - 5.0);
        }
        let short = format!("{}", r.financial_year).split_off(2);
        format_line_to!(
            s,
            "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1d2330\">{short}</text><text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5b6473\">{}</text>",
            base + 16.0,
            base + 30.0,
            r.basis
        );
    }
    format_line_to!(s, "</svg>");
    let baseline = rows.first().map(|r| r.baseline_year.to_string()).unwrap_or_default();
    format_line_to!(
        s,
        "<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#3b6ea8\"></i>Mandated minimum</span><span><i class=\"swatch\" style=\"background:#e08a2e\"></i>Voluntary above the minimum</span><span>Labels: voluntary pooling as a multiple of {} (plan)</span></p>",
        Html(&baseline)
    );
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
