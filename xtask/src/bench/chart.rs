//! The SVG chart: one horizontal bar per (ours, baseline) pair, the length the ratio
//! ours ÷ baseline on a log scale centred on 1× — bars to the left (green) are where ours
//! is faster, to the right (red) where it is slower — then, when the hit-ratio bench ran,
//! one bar per workload of ours' hit ratio ÷ the best peer's, where right of 1× (green) is
//! better. Hand-written SVG, no plotting crate.

use std::fmt::Write as _;

use super::report::{Group, format_ratio};

const WIDTH: f64 = 1000.0;
/// Right edge of the labels.
const LABEL_END: f64 = 470.0;
/// The plot area.
const PLOT_START: f64 = 490.0;
const PLOT_END: f64 = 890.0;
/// Where the ratio values are written.
const VALUE_X: f64 = 900.0;
/// Ratios are drawn between 10^-DECADES and 10^DECADES (beyond: clamped, value still shown).
const DECADES: f64 = 2.0;
const ROW: f64 = 18.0;
const GROUP_GAP: f64 = 26.0;
const TOP: f64 = 68.0;
/// Each side of a label (`ours ÷ baseline`) is cut to this many characters, so both
/// names stay readable (monospace 12 px: about 7.2 px a character).
const LABEL_CHARS: usize = 30;

/// The x coordinate of `ratio`.
fn x_of(ratio: f64) -> f64 {
    let decades = ratio.log10().clamp(-DECADES, DECADES);
    let centre = f64::midpoint(PLOT_START, PLOT_END);
    centre + decades / DECADES * (PLOT_END - PLOT_START) / 2.0
}

/// The whole SVG document for `groups` and the `(workload, hit ratio ours ÷ best peer)`
/// rows of the hit-ratio bench (a note instead of bars if there is nothing to compare).
pub(crate) fn svg(title: &str, groups: &[Group], hit_ratios: &[(String, f64)]) -> String {
    let compared: Vec<&Group> = groups.iter().filter(|g| !g.ratios().is_empty()).collect();
    let bars: usize = compared.iter().map(|g| g.ratios().len()).sum::<usize>() + hit_ratios.len();
    let sections = compared.len() + usize::from(!hit_ratios.is_empty());
    #[allow(clippy::cast_precision_loss, reason = "a few hundred bars at most")]
    let height = TOP + sections as f64 * GROUP_GAP + bars as f64 * ROW + 30.0;
    let mut body = String::new();

    // Axis: ticks at each decade, the 1× line spanning the plot.
    let mut decade = -DECADES;
    while decade <= DECADES {
        let ratio = 10f64.powf(decade);
        let x = x_of(ratio);
        let stroke = if decade == 0.0 { "#333" } else { "#ddd" };
        let _ = writeln!(
            body,
            r#"<line x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y2:.1}" stroke="{stroke}"/>"#,
            y1 = TOP - 8.0,
            y2 = height - 24.0,
        );
        let _ = writeln!(
            body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle">{label}</text>"#,
            y = TOP - 12.0,
            label = axis_label(ratio),
        );
        decade += 1.0;
    }

    let mut y = TOP;
    for group in &compared {
        y += GROUP_GAP;
        let _ = writeln!(
            body,
            r#"<text x="10" y="{:.1}" font-weight="bold">{}</text>"#,
            y - 8.0,
            escape(&group.name)
        );
        for (ours, baseline, ratio) in group.ratios() {
            let label = format!("{} ÷ {}", cut(&ours.id), cut(&baseline.id));
            let (x1, x2) = (x_of(1.0), x_of(ratio));
            let (left, width) = (x1.min(x2), (x2 - x1).abs().max(1.0));
            let fill = if ratio <= 1.0 { "#2e7d32" } else { "#c62828" };
            let _ = writeln!(
                body,
                r#"<text x="{LABEL_END:.1}" y="{ty:.1}" text-anchor="end">{label}</text>
<rect x="{left:.1}" y="{ry:.1}" width="{width:.1}" height="{h:.1}" fill="{fill}"><title>{title}</title></rect>
<text x="{VALUE_X:.1}" y="{ty:.1}">{value}</text>"#,
                ty = y + ROW - 5.0,
                ry = y + 3.0,
                h = ROW - 6.0,
                label = escape(&label),
                title = escape(&format!(
                    "{}: {} ÷ {} = {}",
                    group.name,
                    ours.id,
                    baseline.id,
                    format_ratio(ratio)
                )),
                value = format_ratio(ratio),
            );
            y += ROW;
        }
    }
    if !hit_ratios.is_empty() {
        y += GROUP_GAP;
        let _ = writeln!(
            body,
            r#"<text x="10" y="{:.1}" font-weight="bold">hit ratio: ours (tinylfu) ÷ best peer — right of 1× (green) ours answers more calls</text>"#,
            y - 8.0,
        );
        for (workload, ratio) in hit_ratios {
            let (x1, x2) = (x_of(1.0), x_of(*ratio));
            let (left, width) = (x1.min(x2), (x2 - x1).abs().max(1.0));
            let fill = if *ratio >= 1.0 { "#2e7d32" } else { "#c62828" };
            let _ = writeln!(
                body,
                r#"<text x="{LABEL_END:.1}" y="{ty:.1}" text-anchor="end">{label}</text>
<rect x="{left:.1}" y="{ry:.1}" width="{width:.1}" height="{h:.1}" fill="{fill}"><title>{label}: {value}</title></rect>
<text x="{VALUE_X:.1}" y="{ty:.1}">{value}</text>"#,
                ty = y + ROW - 5.0,
                ry = y + 3.0,
                h = ROW - 6.0,
                label = escape(&cut(workload)),
                value = format_ratio(*ratio),
            );
            y += ROW;
        }
    }
    if compared.is_empty() && hit_ratios.is_empty() {
        let _ = writeln!(
            body,
            r#"<text x="10" y="{:.1}">No group has both an ours and a baseline benchmark: see the report's tables.</text>"#,
            TOP + 20.0
        );
    }

    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0}" height="{height:.0}" viewBox="0 0 {WIDTH:.0} {height:.0}" font-family="monospace" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14" font-weight="bold">{title}</text>
<text x="10" y="36">time ours ÷ baseline, log scale: left of 1× (green) ours is faster, right (red) slower</text>
{body}</svg>
"##,
        title = escape(title),
    )
}

/// `0.01×`, `0.1×`, `1×`, `10×`, `100×`.
fn axis_label(ratio: f64) -> String {
    let text = format!("{ratio:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}×")
}

/// At most [`LABEL_CHARS`] characters, `…` marking a cut.
fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_owned()
    } else {
        let kept: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{kept}…")
    }
}

/// Text safe inside SVG elements and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::{
        group,
        tests::{engines, fixture},
    };

    #[test]
    fn the_scale_is_logarithmic_around_one() {
        let centre = f64::midpoint(PLOT_START, PLOT_END);
        assert!((x_of(1.0) - centre).abs() < 1e-9);
        assert!((x_of(100.0) - PLOT_END).abs() < 1e-9);
        assert!((x_of(0.01) - PLOT_START).abs() < 1e-9);
        assert!((x_of(1e6) - PLOT_END).abs() < 1e-9, "clamped");
        assert!(
            (x_of(10.0) - centre - (centre - x_of(0.1))).abs() < 1e-9,
            "symmetric"
        );
    }

    #[test]
    fn the_chart_has_one_bar_per_pair_with_escaped_labels() {
        let groups = group(&fixture(), &engines());
        let chart = svg("twat-cache & co", &groups, &[]);
        assert!(chart.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(chart.trim_end().ends_with("</svg>"));
        // memory/hit 1×2, hit-2-threads 1×1, file 1×2, async 1×1; core has no baseline.
        assert_eq!(chart.matches("<rect x=").count(), 6);
        assert!(chart.contains("twat-cache &amp; co"));
        assert!(chart.contains(">twat-cache-memory (KeyBuf) ÷ HashMap get + clone<"));
        assert!(chart.contains("#[cached(max_size = 10_000)]"));
        assert!(
            !chart.contains(">core<"),
            "a group without ratios gets no heading"
        );
        // ours_u64_get ÷ moka_future_get = 74.8 / 232.8: faster, green, left of 1×.
        let bar = chart
            .lines()
            .find(|line| line.contains("ours_u64_get ÷ moka_future_get = "))
            .unwrap();
        assert!(bar.contains("#2e7d32") && bar.contains("0.32×"), "{bar}");
        for tick in ["0.01×", "0.1×", ">1×<", "10×", "100×"] {
            assert!(chart.contains(tick), "{tick}");
        }
    }

    #[test]
    fn a_chart_without_pairs_says_so() {
        let groups = group(&fixture()[7..9], &engines());
        let chart = svg("core only", &groups, &[]);
        assert_eq!(chart.matches("<rect x=").count(), 0);
        assert!(chart.contains("No group has both"));
    }

    #[test]
    fn hit_ratios_get_their_own_bars_where_more_is_better() {
        let groups = group(&fixture()[7..9], &engines());
        let rows = [("loop".to_owned(), 1.25), ("scans".to_owned(), 0.96)];
        let chart = svg("hit ratio only", &groups, &rows);
        assert_eq!(chart.matches("<rect x=").count(), 2);
        assert!(!chart.contains("No group has both"));
        let bar = |name: &str| {
            chart
                .lines()
                .find(|line| {
                    line.starts_with("<rect x=") && line.contains(&format!("<title>{name}:"))
                })
                .unwrap()
                .to_owned()
        };
        assert!(bar("loop").contains("#2e7d32"), "more hits is green");
        assert!(bar("scans").contains("#c62828"), "fewer hits is red");
    }

    #[test]
    fn long_labels_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(cut(&long).chars().count(), LABEL_CHARS);
        assert!(cut(&long).ends_with('…'));
        assert_eq!(cut("short"), "short");
    }
}
