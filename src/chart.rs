//! The weekly airing's chart: a team's last weeks (closed tasks, services,
//! visits) as a PNG, drawn with plotters into a buffer and encoded with png.
//!
//! The chart's words are a fixed set ([`TITLE`], [`SERIES`]) drawn with a
//! bundled subset of Noto Sans CJK SC (assets/fonts, SIL OFL 1.1) that holds
//! only those characters and ASCII; team names stay in the markdown.
//!
//! The image is served at `/charts/{team}/{week}.png?sig=…`; the signature
//! (HMAC-SHA256 under `chart_key`, or the admin token when none is set)
//! keeps the URLs from being enumerated.

use std::sync::OnceLock;

use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use plotters::prelude::*;
use sha2::Sha256;

use crate::config::Settings;
use crate::domain::week::IsoWeek;

pub const WIDTH: u32 = 720;
pub const HEIGHT: u32 = 400;
/// Height of the band at the top that holds the title.
pub const TITLE_BAND: u32 = 44;

/// The chart's words live with every other sentence of the bot.
pub use crate::reply::duties::{CHART_SERIES as SERIES, CHART_TITLE as TITLE};

const FONT: &[u8] = include_bytes!("../assets/fonts/NotoSansSC-chart-subset.otf");
const FAMILY: &str = "liancun-cjk";

/// One week of the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartWeek {
    /// `W49`.
    pub label: String,
    pub closed: i64,
    pub services: i64,
    pub visits: i64,
}

/// The key that signs chart URLs, if any.
fn key(settings: &Settings) -> Option<&str> {
    settings
        .chart_key
        .as_ref()
        .or(settings.admin_token.as_ref())
        .map(|s| s.expose())
        .filter(|k| !k.is_empty())
}

/// The base URL charts are served under, without a trailing `/`.
fn base(settings: &Settings) -> Option<&str> {
    settings
        .public_base_url
        .as_deref()
        .map(|u| u.trim_end_matches('/'))
        .filter(|u| !u.is_empty())
}

/// Whether this service serves charts: a public address and a signing key.
pub fn enabled(settings: &Settings) -> bool {
    base(settings).is_some() && key(settings).is_some()
}

fn mac(key: &str, team_id: i64, week: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(format!("chart\n{team_id}\n{week}").as_bytes());
    m
}

/// The URL signature: the first 16 bytes of the HMAC, in hex.
fn signature(key: &str, team_id: i64, week: &str) -> String {
    mac(key, team_id, week).finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The chart's URL for a team's week, when charts are served.
pub fn url(settings: &Settings, team_id: i64, week: IsoWeek) -> Option<String> {
    let (base, key) = (base(settings)?, key(settings)?);
    let week = week.to_string();
    Some(format!(
        "{base}/charts/{team_id}/{week}.png?sig={}",
        signature(key, team_id, &week)
    ))
}

/// Whether `sig` is the signature of the team's week (and charts are served).
pub fn verify(settings: &Settings, team_id: i64, week: &str, sig: &str) -> bool {
    if !enabled(settings) {
        return false;
    }
    let Some(key) = key(settings) else {
        return false;
    };
    let want = signature(key, team_id, week);
    subtle::ConstantTimeEq::ct_eq(want.as_bytes(), sig.as_bytes()).into()
}

fn font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    anyhow::ensure!(ok, "the bundled chart font does not load");
    Ok(())
}

/// Draws the chart of `weeks` (oldest first) as a PNG of [`WIDTH`] × [`HEIGHT`].
pub fn render(weeks: &[ChartWeek]) -> anyhow::Result<Vec<u8>> {
    font()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(&mut rgb, weeks).map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().context("writing the PNG header")?;
    w.write_image_data(&rgb).context("writing the PNG")?;
    w.finish().context("finishing the PNG")?;
    Ok(out)
}

fn draw(rgb: &mut [u8], weeks: &[ChartWeek]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(TITLE_BAND);
    title.draw(&Text::new(
        TITLE,
        (16, 8),
        (FAMILY, 26).into_font().color(&BLACK),
    ))?;
    let n = weeks.len().max(1);
    let top = weeks
        .iter()
        .map(|w| w.closed.max(w.services).max(w.visits))
        .max()
        .unwrap_or(0)
        .max(4);
    let labels: Vec<String> = weeks.iter().map(|w| w.label.clone()).collect();
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(36)
        .build_cartesian_2d(0..(n as i32 - 1).max(1), 0..(top + top / 5 + 1))?;
    chart
        .configure_mesh()
        .x_labels(n)
        .y_labels(6)
        .x_label_formatter(&|i| {
            usize::try_from(*i)
                .ok()
                .and_then(|i| labels.get(i))
                .cloned()
                .unwrap_or_default()
        })
        .label_style((FAMILY, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let colors = [
        RGBColor(220, 38, 38),
        RGBColor(37, 99, 235),
        RGBColor(22, 163, 74),
    ];
    for (s, (name, color)) in SERIES.iter().zip(colors).enumerate() {
        let points: Vec<(i32, i64)> = weeks
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let v = match s {
                    0 => w.closed,
                    1 => w.services,
                    _ => w.visits,
                };
                (i as i32, v)
            })
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(move |p| Circle::new(p, 4, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Settings {
        Settings::from_toml_overrides(extra).expect("valid settings")
    }

    #[test]
    fn every_chart_character_is_in_the_font_subset() {
        let face = ab_glyph::FontRef::try_from_slice(FONT).expect("the subset loads");
        use ab_glyph::Font;
        for c in TITLE
            .chars()
            .chain(SERIES.concat().chars())
            .chain('!'..='~')
        {
            assert_ne!(
                face.glyph_id(c).0,
                0,
                "{c:?} is missing from the font subset"
            );
        }
    }

    #[test]
    fn urls_are_signed_and_only_with_a_public_address() {
        let w = IsoWeek::parse("2026-W49").unwrap();
        assert_eq!(url(&settings(""), 7, w), None);
        assert_eq!(
            url(&settings("chart_key = \"k1\""), 7, w),
            None,
            "no public address, no chart"
        );
        let s = settings("public_base_url = \"https://lc.example.cn/\"\nchart_key = \"k1\"");
        let u = url(&s, 7, w).expect("a chart URL");
        let sig = u
            .strip_prefix("https://lc.example.cn/charts/7/2026-W49.png?sig=")
            .expect("the URL's shape");
        assert_eq!(sig.len(), 32);
        assert!(verify(&s, 7, "2026-W49", sig));
        assert!(!verify(&s, 8, "2026-W49", sig), "another team");
        assert!(!verify(&s, 7, "2026-W48", sig), "another week");
        assert!(!verify(&s, 7, "2026-W49", "00"), "a guess");
        let other = settings("public_base_url = \"https://lc.example.cn/\"\nchart_key = \"k2\"");
        assert!(!verify(&other, 7, "2026-W49", sig), "another key");
        let by_admin = settings("public_base_url = \"https://x.cn\"\nadmin_token = \"t\"");
        assert!(
            url(&by_admin, 7, w).is_some(),
            "the admin token signs when no chart_key"
        );
    }

    #[test]
    fn the_chart_is_a_png_of_the_expected_size_with_a_title() {
        let weeks: Vec<ChartWeek> = (42..=49)
            .map(|i| ChartWeek {
                label: format!("W{i}"),
                closed: i64::from(i % 5),
                services: i64::from(i % 7),
                visits: 2,
            })
            .collect();
        let png_bytes = render(&weeks).expect("renders");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("one frame");
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        // The title is drawn: dark pixels in the title band's left part.
        let dark = (0..TITLE_BAND)
            .flat_map(|y| (0..300).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let i = ((y * WIDTH + x) * 3) as usize;
                buf[i..i + 3].iter().all(|&c| c < 128)
            })
            .count();
        assert!(dark > 100, "the title shows ({dark} dark pixels)");
        // An empty history still draws.
        assert!(render(&[]).is_ok());
    }
}
