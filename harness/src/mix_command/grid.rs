//! The PNG grids of `mixbench mix --grid` and `mixbench saliency --grid`: one row per image,
//! one titled column per picture, each row labelled with what a reader needs to read it (the
//! image's class and, for a mix, its partner's class and lambda), and a legend under the title
//! of every grey-scale column.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;
use tch::Tensor;

use crate::report::{charts::FONT, ensure_font};

/// One column of a grid.
pub struct Column {
    /// Title drawn above the column.
    pub title: &'static str,
    /// Legend lines under the title (what the grey levels mean), possibly none.
    pub legend: &'static [&'static str],
    /// The pictures, RGB `[B, 3, H, W]` in `[0, 1]` on the CPU.
    pub images: Tensor,
}

/// Side of a picture cell in pixels (at least; small images are scaled up by an integer).
const CELL: u32 = 96;
/// Gap between cells.
const GAP: u32 = 2;
/// Width of the row-label column.
const LABEL_WIDTH: u32 = 150;
/// Height of one line of text.
const LINE: u32 = 16;

/// Writes the grid to `path`: `row_labels[i]` (lines separated by `\n`) to the left of row `i`.
pub fn draw(path: &Path, columns: &[Column], row_labels: &[String]) -> Result<()> {
    let size = columns[0].images.size();
    let (b, h, w) = (size[0] as u32, size[2] as u32, size[3] as u32);
    let scale = (CELL / h.max(w)).max(1);
    let (cell_h, cell_w) = (h * scale, w * scale);
    let legend_lines = columns.iter().map(|c| c.legend.len()).max().unwrap_or(0) as u32;
    let header = 8 + LINE * (1 + legend_lines) + 4;
    let width = LABEL_WIDTH + columns.len() as u32 * (cell_w + GAP) + GAP;
    let height = header + b * (cell_h + GAP) + GAP;
    let mut img = image::RgbImage::from_pixel(width, height, image::Rgb([225, 225, 225]));
    for (col, column) in columns.iter().enumerate() {
        let data = Vec::<f32>::try_from(
            column
                .images
                .permute([0, 2, 3, 1])
                .contiguous()
                .flatten(0, -1),
        )?;
        for i in 0..b {
            for y in 0..cell_h {
                for x in 0..cell_w {
                    let base = (((i * h + y / scale) * w + x / scale) * 3) as usize;
                    let px = [0, 1, 2].map(|k| (data[base + k] * 255.0).round() as u8);
                    img.put_pixel(
                        LABEL_WIDTH + GAP + col as u32 * (cell_w + GAP) + x,
                        header + GAP + i * (cell_h + GAP) + y,
                        image::Rgb(px),
                    );
                }
            }
        }
    }
    ensure_font()?;
    {
        let root = BitMapBackend::with_buffer(&mut img, (width, height)).into_drawing_area();
        let title = (FONT, 15).into_font().style(FontStyle::Bold).color(&BLACK);
        let text = (FONT, 13).into_font().color(&BLACK);
        let legend = (FONT, 11).into_font().color(&RGBColor(60, 60, 60));
        let at = |x: u32, y: u32| (x as i32, y as i32);
        for (col, column) in columns.iter().enumerate() {
            let x = LABEL_WIDTH + GAP + col as u32 * (cell_w + GAP);
            root.draw_text(column.title, &title, at(x, 6))?;
            for (k, line) in column.legend.iter().enumerate() {
                root.draw_text(line, &legend, at(x, 8 + LINE * (k as u32 + 1)))?;
            }
        }
        for (i, label) in row_labels.iter().enumerate() {
            let y = header + GAP + i as u32 * (cell_h + GAP) + 6;
            for (k, line) in label.lines().enumerate() {
                root.draw_text(line, &text, at(6, y + LINE * k as u32))?;
            }
        }
        root.present()?;
    }
    img.save(path)
        .with_context(|| format!("writing {}", path.display()))
}
