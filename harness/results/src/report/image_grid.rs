//! A PNG grid of small images with column titles and row labels, so a report can show the
//! images an evaluation tested (the background evaluation's variants, a data set's samples).

use std::path::Path;

use anyhow::{ensure, Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{plot_error, FONT};
use super::plots::ensure_font;
use crate::records;

/// A grid of `u8` images, all of one shape: `rows[r][c]` is the image in row `r`, column
/// `c`, `C*H*W` bytes in CHW order (1 channel: grey, 3: RGB).
pub struct ImageGrid<'a> {
    /// `(channels, height, width)` of every image.
    pub shape: (usize, usize, usize),
    /// One title per column, drawn above it; lines after the first (separated by `\n`) are
    /// a legend in smaller grey type.
    pub columns: &'a [String],
    /// One label per row, drawn left of it (empty strings for none; `\n` separates lines).
    pub row_labels: &'a [String],
    /// The images, row by row.
    pub rows: &'a [Vec<Vec<u8>>],
}

impl ImageGrid<'_> {
    /// Draws the grid, each image scaled up to about 96 pixels, to `path` (PNG, written through
    /// a temporary file and a rename).
    pub fn write_png(&self, path: &Path) -> Result<()> {
        let (c, h, w) = self.shape;
        ensure!(
            c == 1 || c == 3,
            "image grid: {c} channels (1 or 3 supported)"
        );
        ensure!(h > 0 && w > 0, "image grid: empty images");
        let len = c * h * w;
        for row in self.rows {
            ensure!(
                row.len() == self.columns.len() && row.iter().all(|i| i.len() == len),
                "image grid: every row needs {} images of {len} bytes",
                self.columns.len()
            );
        }
        ensure_font()?;
        let scale = (96 / h.max(w)).max(1) as u32;
        let (cell_w, cell_h, gap) = (w as u32 * scale, h as u32 * scale, 4u32);
        let text = (FONT, 15).into_font().color(&BLACK);
        let legend = (FONT, 12).into_font().color(&RGBColor(70, 70, 70));
        let label_w = self
            .row_labels
            .iter()
            .flat_map(|l| l.lines())
            .map(|line| text_width(line, &text))
            .max()
            .map_or(0, |w| w + 12);
        let legend_lines = self
            .columns
            .iter()
            .map(|t| t.lines().count().saturating_sub(1))
            .max()
            .unwrap_or(0) as u32;
        let title_h = 26 + LEGEND_LINE * legend_lines;
        let size = (
            label_w + self.columns.len() as u32 * (cell_w + gap) + gap,
            title_h + self.rows.len() as u32 * (cell_h + gap) + gap,
        );
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        records::replace_png_atomic(path, |tmp| {
            let root = BitMapBackend::new(tmp, size).into_drawing_area();
            // Light grey, so that white picture areas (a mask's ones) stand out from the page.
            root.fill(&PAGE).map_err(plot_error)?;
            let centred = Pos::new(HPos::Center, VPos::Center);
            for (col, title) in self.columns.iter().enumerate() {
                let x = (label_w + gap + col as u32 * (cell_w + gap) + cell_w / 2) as i32;
                for (k, line) in title.lines().enumerate() {
                    let (style, y) = match k {
                        0 => (text.pos(centred), 13),
                        k => (legend.pos(centred), 26 + LEGEND_LINE * k as u32 - 8),
                    };
                    root.draw_text(line, &style, (x, y as i32))
                        .map_err(plot_error)?;
                }
            }
            for (r, row) in self.rows.iter().enumerate() {
                let y0 = title_h + r as u32 * (cell_h + gap);
                if let Some(label) = self.row_labels.get(r) {
                    let lines = label.lines().count() as u32;
                    let top = (y0 + cell_h / 2).saturating_sub(lines * LABEL_LINE / 2);
                    for (k, line) in label.lines().enumerate() {
                        let y = top + LABEL_LINE * k as u32 + LABEL_LINE / 2;
                        root.draw_text(
                            line,
                            &text.pos(Pos::new(HPos::Left, VPos::Center)),
                            (4, y as i32),
                        )
                        .map_err(plot_error)?;
                    }
                }
                for (col, img) in row.iter().enumerate() {
                    let x0 = label_w + gap + col as u32 * (cell_w + gap);
                    for y in 0..cell_h {
                        for x in 0..cell_w {
                            let p = (y / scale) as usize * w + (x / scale) as usize;
                            let px = if c == 1 {
                                RGBColor(img[p], img[p], img[p])
                            } else {
                                RGBColor(img[p], img[h * w + p], img[2 * h * w + p])
                            };
                            root.draw_pixel(((x0 + x) as i32, (y0 + y) as i32), &px)
                                .map_err(plot_error)?;
                        }
                    }
                }
            }
            root.present().map_err(plot_error)
        })
        .with_context(|| format!("drawing {}", path.display()))
    }
}

/// Page colour around the pictures.
const PAGE: RGBColor = RGBColor(228, 228, 228);
/// Height of a legend line under a column title.
const LEGEND_LINE: u32 = 15;
/// Height of a row-label line.
const LABEL_LINE: u32 = 18;

/// Width in pixels of `line` in `font` (a generous estimate when the font cannot say).
fn text_width(line: &str, font: &TextStyle) -> u32 {
    font.font
        .box_size(line)
        .map_or(line.chars().count() as u32 * 9, |(w, _)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_of_the_expected_size_and_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let red = [vec![255u8; 4], vec![0u8; 4], vec![0u8; 4]].concat();
        let grey = vec![128u8; 12];
        let rows = vec![vec![red.clone(), grey.clone()]];
        let columns = ["a".to_string(), "b".to_string()];
        let grid = ImageGrid {
            shape: (3, 2, 2),
            columns: &columns,
            row_labels: &[],
            rows: &rows,
        };
        grid.write_png(&path).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        // 2x2 images scaled by 48: 2 columns of 96 + gaps, a title band of 26.
        assert_eq!(img.dimensions(), (2 * 100 + 4, 26 + 100 + 4));
        assert_eq!(img.get_pixel(4 + 10, 26 + 10).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(4 + 100 + 10, 26 + 10).0, [128, 128, 128]);
        // A row of the wrong length is an error, not a panic.
        let bad = vec![vec![red]];
        let grid = ImageGrid { rows: &bad, ..grid };
        assert!(grid.write_png(&path).is_err());
    }
}
