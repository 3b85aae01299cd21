//! A JPEG decoder that gives the bytes `cv2.imread` gives: libjpeg-turbo with its default
//! settings (the accurate integer IDCT `jpeg_idct_islow`, "fancy" triangle upsampling of
//! subsampled chroma, the fixed-point YCbCr-to-RGB tables of `jdcolor.c`). The reference reads
//! its frost pictures with `cv2.imread`; a general decoder (the `image` crate's) rounds its
//! IDCT and colour conversion differently and is off by up to 3 levels in a few percent of
//! the values, which `frost` passes on.
//!
//! Supported: 8-bit Huffman-coded baseline (SOF0, SOF1) and progressive (SOF2) images, one
//! (grey) or three components (taken as YCbCr, as JFIF files are), chroma at full resolution
//! or halved across (`h2v1`) or across and down (`h2v2`), restart intervals. Anything else is
//! an error. Checked byte for byte against `cv2.imread` on the reference's three frost JPEGs
//! (progressive 4:4:4, baseline 4:2:0 and 4:4:4) and on the files in `tests/fixtures/jpeg`.
//! The inverse DCT, the upsampling and the colour conversion are `jpeg_common.rs`'s,
//! shared with [`super::jpeg`].

use super::jpeg_common::{h2v1_fancy_upsample, h2v2_fancy_upsample, idct_islow, YccTables};

/// `jpeg_natural_order`: the row-major position of the `k`-th coefficient in zigzag order.
const NATURAL_ORDER: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A canonical Huffman table as libjpeg decodes it: per code length, the largest code and
/// where its values start.
#[derive(Clone, Default)]
struct Huffman {
    /// `maxcode[l]`: the largest code of length `l` (-1 when none), `l = 1 ..= 16`.
    maxcode: [i32; 17],
    /// `valoffset[l]`: subtracted from a code of length `l` to index `values`.
    valoffset: [i32; 17],
    /// The symbols, in code order.
    values: Vec<u8>,
}

impl Huffman {
    /// The table of a DHT segment's 16 counts and its symbols.
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Self {
        let mut table = Huffman {
            maxcode: [-1; 17],
            valoffset: [0; 17],
            values,
        };
        let (mut code, mut k) = (0i32, 0i32);
        for l in 1..=16 {
            let n = counts[l - 1] as i32;
            if n > 0 {
                table.valoffset[l] = k - code;
                code += n;
                k += n;
                table.maxcode[l] = code - 1;
            }
            code <<= 1;
        }
        table
    }
}

/// The entropy-coded bits of a scan: bytes with `0xFF 0x00` unstuffed; at a marker, zero
/// bits (as libjpeg supplies them).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
        }
    }

    fn bit(&mut self) -> u32 {
        if self.count == 0 {
            let byte = match self.data.get(self.pos) {
                Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                    self.pos += 2;
                    0xFF
                }
                Some(&0xFF) | None => 0,
                Some(&b) => {
                    self.pos += 1;
                    b
                }
            };
            self.acc = byte as u32;
            self.count = 8;
        }
        self.count -= 1;
        (self.acc >> self.count) & 1
    }

    fn bits(&mut self, n: u32) -> i32 {
        (0..n).fold(0, |v, _| (v << 1) | self.bit() as i32)
    }

    fn decode(&mut self, table: &Huffman) -> Result<u8, String> {
        let mut code = 0i32;
        for l in 1..=16 {
            code = (code << 1) | self.bit() as i32;
            if code <= table.maxcode[l] {
                return Ok(table.values[(code + table.valoffset[l]) as usize]);
            }
        }
        Err("bad Huffman code".into())
    }

    /// `HUFF_EXTEND(GET_BITS(s), s)`: an `s`-bit magnitude category's signed value.
    fn extend(&mut self, s: u32) -> i32 {
        if s == 0 {
            return 0;
        }
        let v = self.bits(s);
        if v < 1 << (s - 1) {
            v - (1 << s) + 1
        } else {
            v
        }
    }

    /// At a restart interval's end: drop the partial byte and step over the RSTn marker.
    fn restart(&mut self) {
        self.count = 0;
        if self.data.get(self.pos) == Some(&0xFF)
            && matches!(self.data.get(self.pos + 1), Some(0xD0..=0xD7))
        {
            self.pos += 2;
        }
    }
}

/// One colour component: its sampling factors, quantisation table and coefficient blocks.
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    /// Blocks across and down, padded to whole MCUs.
    blocks_w: usize,
    blocks_h: usize,
    /// Coefficients in natural (row-major) order, quantised.
    coefs: Vec<[i32; 64]>,
    dc_table: usize,
    ac_table: usize,
    pred: i32,
}

/// The parameters of one scan (SOS).
struct Scan {
    comps: Vec<usize>,
    ss: usize,
    se: usize,
    ah: u32,
    al: u32,
}

/// The decoder's state across segments.
struct Decoder {
    width: usize,
    height: usize,
    progressive: bool,
    comps: Vec<Component>,
    quant: [[i32; 64]; 4],
    dc: [Huffman; 4],
    ac: [Huffman; 4],
    restart_interval: usize,
    eobrun: u32,
}

fn be16(data: &[u8], pos: usize) -> Result<usize, String> {
    match data.get(pos..pos + 2) {
        Some(b) => Ok(((b[0] as usize) << 8) | b[1] as usize),
        None => Err("truncated".into()),
    }
}

impl Decoder {
    fn max_h(&self) -> usize {
        self.comps.iter().map(|c| c.h).max().unwrap_or(1)
    }

    fn max_v(&self) -> usize {
        self.comps.iter().map(|c| c.v).max().unwrap_or(1)
    }

    fn frame(&mut self, seg: &[u8], progressive: bool) -> Result<(), String> {
        if seg.len() < 6 || seg[0] != 8 {
            return Err("only 8-bit JPEG images are supported".into());
        }
        self.progressive = progressive;
        self.height = be16(seg, 1)?;
        self.width = be16(seg, 3)?;
        let n = seg[5] as usize;
        if !(n == 1 || n == 3) || seg.len() < 6 + 3 * n || self.width == 0 || self.height == 0 {
            return Err(format!("unsupported frame ({n} components)"));
        }
        for k in 0..n {
            let c = &seg[6 + 3 * k..9 + 3 * k];
            let (h, v) = ((c[1] >> 4) as usize, (c[1] & 15) as usize);
            if !(1..=2).contains(&h) || !(1..=2).contains(&v) || c[2] > 3 {
                return Err("unsupported sampling factors".into());
            }
            self.comps.push(Component {
                id: c[0],
                h,
                v,
                quant: c[2] as usize,
                blocks_w: 0,
                blocks_h: 0,
                coefs: Vec::new(),
                dc_table: 0,
                ac_table: 0,
                pred: 0,
            });
        }
        let (hmax, vmax) = (self.max_h(), self.max_v());
        let (mcus_x, mcus_y) = (
            self.width.div_ceil(8 * hmax),
            self.height.div_ceil(8 * vmax),
        );
        for c in &mut self.comps {
            // Full resolution, halved across (h2v1) or across and down (h2v2): the ratios
            // with an upsampler here.
            if !matches!(
                (hmax / c.h, vmax / c.v, hmax % c.h, vmax % c.v),
                (1 | 2, 1, 0, 0) | (2, 2, 0, 0)
            ) {
                return Err("unsupported sampling factors".into());
            }
            c.blocks_w = mcus_x * c.h;
            c.blocks_h = mcus_y * c.v;
            c.coefs = vec![[0; 64]; c.blocks_w * c.blocks_h];
        }
        Ok(())
    }

    fn quant_tables(&mut self, mut seg: &[u8]) -> Result<(), String> {
        while !seg.is_empty() {
            let (precision, id) = (seg[0] >> 4, (seg[0] & 15) as usize);
            let size = if precision == 0 { 64 } else { 128 };
            if id > 3 || seg.len() < 1 + size {
                return Err("bad quantisation table".into());
            }
            for k in 0..64 {
                self.quant[id][NATURAL_ORDER[k]] = if precision == 0 {
                    seg[1 + k] as i32
                } else {
                    be16(seg, 1 + 2 * k)? as i32
                };
            }
            seg = &seg[1 + size..];
        }
        Ok(())
    }

    fn huffman_tables(&mut self, mut seg: &[u8]) -> Result<(), String> {
        while !seg.is_empty() {
            if seg.len() < 17 {
                return Err("bad Huffman table".into());
            }
            let (class, id) = (seg[0] >> 4, (seg[0] & 15) as usize);
            let counts: [u8; 16] = seg[1..17].try_into().unwrap();
            let n: usize = counts.iter().map(|&c| c as usize).sum();
            if id > 3 || class > 1 || seg.len() < 17 + n {
                return Err("bad Huffman table".into());
            }
            let table = Huffman::new(&counts, seg[17..17 + n].to_vec());
            if class == 0 {
                self.dc[id] = table;
            } else {
                self.ac[id] = table;
            }
            seg = &seg[17 + n..];
        }
        Ok(())
    }

    fn scan_header(&mut self, seg: &[u8]) -> Result<Scan, String> {
        let n = *seg.first().ok_or("bad scan header")? as usize;
        if seg.len() < 4 + 2 * n || n == 0 {
            return Err("bad scan header".into());
        }
        let mut comps = Vec::with_capacity(n);
        for k in 0..n {
            let (id, tables) = (seg[1 + 2 * k], seg[2 + 2 * k]);
            let index = self
                .comps
                .iter()
                .position(|c| c.id == id)
                .ok_or("scan of an unknown component")?;
            let c = &mut self.comps[index];
            c.dc_table = (tables >> 4) as usize & 3;
            c.ac_table = (tables & 15) as usize & 3;
            comps.push(index);
        }
        let (ss, se, a) = (
            seg[1 + 2 * n] as usize,
            seg[2 + 2 * n] as usize,
            seg[3 + 2 * n],
        );
        let scan = Scan {
            comps,
            ss,
            se: se.min(63),
            ah: (a >> 4) as u32,
            al: (a & 15) as u32,
        };
        if self.progressive && scan.ss > 0 && scan.comps.len() != 1 {
            return Err("progressive AC scan of several components".into());
        }
        Ok(scan)
    }

    /// Decodes one block of component `ci` at block index `b` under `scan`.
    fn block(&mut self, bits: &mut Bits, scan: &Scan, ci: usize, b: usize) -> Result<(), String> {
        let c = &mut self.comps[ci];
        let (dc, ac) = (&self.dc[c.dc_table], &self.ac[c.ac_table]);
        let coefs = &mut c.coefs[b];
        if !self.progressive {
            let s = bits.decode(dc)? as u32;
            c.pred += bits.extend(s);
            coefs[0] = c.pred;
            let mut k = 1;
            while k < 64 {
                let rs = bits.decode(ac)?;
                let (r, s) = ((rs >> 4) as usize, (rs & 15) as u32);
                if s != 0 {
                    k += r;
                    if k > 63 {
                        return Err("bad AC run".into());
                    }
                    coefs[NATURAL_ORDER[k]] = bits.extend(s);
                } else if r != 15 {
                    break;
                } else {
                    k += 15;
                }
                k += 1;
            }
            return Ok(());
        }
        if scan.ss == 0 {
            if scan.ah == 0 {
                let s = bits.decode(dc)? as u32;
                c.pred += bits.extend(s);
                coefs[0] = c.pred << scan.al;
            } else if bits.bit() == 1 {
                coefs[0] |= 1 << scan.al;
            }
            return Ok(());
        }
        if scan.ah == 0 {
            // AC first pass.
            if self.eobrun > 0 {
                self.eobrun -= 1;
                return Ok(());
            }
            let mut k = scan.ss;
            while k <= scan.se {
                let rs = bits.decode(ac)?;
                let (r, s) = ((rs >> 4) as usize, (rs & 15) as u32);
                if s != 0 {
                    k += r;
                    if k > 63 {
                        return Err("bad AC run".into());
                    }
                    coefs[NATURAL_ORDER[k]] = bits.extend(s) << scan.al;
                } else if r == 15 {
                    k += 15;
                } else {
                    self.eobrun = (1 << r) - 1;
                    if r > 0 {
                        self.eobrun += bits.bits(r as u32) as u32;
                    }
                    break;
                }
                k += 1;
            }
            return Ok(());
        }
        // AC refinement (jdphuff.c's decode_mcu_AC_refine).
        let (p1, m1) = (1i32 << scan.al, -1i32 << scan.al);
        let refine = |coef: &mut i32, bits: &mut Bits| {
            if bits.bit() == 1 && *coef & p1 == 0 {
                *coef += if *coef >= 0 { p1 } else { m1 };
            }
        };
        let mut k = scan.ss;
        if self.eobrun == 0 {
            while k <= scan.se {
                let rs = bits.decode(ac)?;
                let (mut r, s) = ((rs >> 4) as i32, rs & 15);
                let mut value = 0;
                if s != 0 {
                    value = if bits.bit() == 1 { p1 } else { m1 };
                } else if r != 15 {
                    self.eobrun = 1 << r;
                    if r > 0 {
                        self.eobrun += bits.bits(r as u32) as u32;
                    }
                    break;
                }
                while k <= scan.se {
                    let coef = &mut coefs[NATURAL_ORDER[k]];
                    if *coef != 0 {
                        refine(coef, bits);
                    } else {
                        r -= 1;
                        if r < 0 {
                            break;
                        }
                    }
                    k += 1;
                }
                if value != 0 {
                    if k > 63 {
                        return Err("bad AC refinement".into());
                    }
                    coefs[NATURAL_ORDER[k]] = value;
                }
                k += 1;
            }
        }
        if self.eobrun > 0 {
            while k <= scan.se {
                let coef = &mut coefs[NATURAL_ORDER[k]];
                if *coef != 0 {
                    refine(coef, bits);
                }
                k += 1;
            }
            self.eobrun -= 1;
        }
        Ok(())
    }

    /// Decodes the entropy-coded data of `scan` from `data[pos..]`; returns where it ends.
    fn scan_data(&mut self, data: &[u8], pos: usize, scan: &Scan) -> Result<usize, String> {
        let mut bits = Bits::new(data, pos);
        for &ci in &scan.comps {
            self.comps[ci].pred = 0;
        }
        self.eobrun = 0;
        let (hmax, vmax) = (self.max_h(), self.max_v());
        // Units: MCUs of an interleaved scan, blocks (of the component's own extent) of a
        // single-component one.
        let units: Vec<Vec<(usize, usize)>> = if scan.comps.len() == 1 {
            let ci = scan.comps[0];
            let c = &self.comps[ci];
            let bw = (self.width * c.h).div_ceil(hmax).div_ceil(8);
            let bh = (self.height * c.v).div_ceil(vmax).div_ceil(8);
            (0..bh)
                .flat_map(|by| (0..bw).map(move |bx| vec![(ci, by * c.blocks_w + bx)]))
                .collect()
        } else {
            let (mcus_x, mcus_y) = (
                self.width.div_ceil(8 * hmax),
                self.height.div_ceil(8 * vmax),
            );
            let mut units = Vec::with_capacity(mcus_x * mcus_y);
            for my in 0..mcus_y {
                for mx in 0..mcus_x {
                    let mut unit = Vec::new();
                    for &ci in &scan.comps {
                        let c = &self.comps[ci];
                        for v in 0..c.v {
                            for h in 0..c.h {
                                unit.push((ci, (my * c.v + v) * c.blocks_w + mx * c.h + h));
                            }
                        }
                    }
                    units.push(unit);
                }
            }
            units
        };
        for (n, unit) in units.iter().enumerate() {
            if self.restart_interval > 0 && n > 0 && n % self.restart_interval == 0 {
                bits.restart();
                for &ci in &scan.comps {
                    self.comps[ci].pred = 0;
                }
                self.eobrun = 0;
            }
            for &(ci, b) in unit {
                self.block(&mut bits, scan, ci, b)?;
            }
        }
        // The next marker (RSTn markers inside the data are stepped over).
        let mut end = bits.pos;
        while end + 1 < data.len() {
            if data[end] == 0xFF && !matches!(data[end + 1], 0x00 | 0xD0..=0xD7) {
                return Ok(end);
            }
            end += 1;
        }
        Err("scan without end".into())
    }
}

/// Decodes a JPEG file's bytes to RGB as libjpeg-turbo (and so `cv2.imread`, after its BGR
/// order is swapped back) does: `(pixels HWC, height, width)`.
pub fn decode_rgb(data: &[u8]) -> Result<(Vec<u8>, usize, usize), String> {
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err("not a JPEG file".into());
    }
    let mut dec = Decoder {
        width: 0,
        height: 0,
        progressive: false,
        comps: Vec::new(),
        quant: [[0; 64]; 4],
        dc: Default::default(),
        ac: Default::default(),
        restart_interval: 0,
        eobrun: 0,
    };
    let mut pos = 2;
    loop {
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if data.get(pos) != Some(&0xFF) {
            return Err("marker expected".into());
        }
        let marker = *data.get(pos + 1).ok_or("truncated")?;
        if marker == 0xD9 {
            break;
        }
        let len = be16(data, pos + 2)?;
        let seg = data.get(pos + 4..pos + 2 + len).ok_or("truncated")?;
        pos += 2 + len;
        match marker {
            0xC0 | 0xC1 => dec.frame(seg, false)?,
            0xC2 => dec.frame(seg, true)?,
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(
                    "lossless, hierarchical and arithmetic-coded JPEG are not supported".into(),
                )
            }
            0xC4 => dec.huffman_tables(seg)?,
            0xDB => dec.quant_tables(seg)?,
            0xDD => dec.restart_interval = be16(seg, 0)?,
            0xDA => {
                if dec.comps.is_empty() {
                    return Err("scan before the frame".into());
                }
                let scan = dec.scan_header(seg)?;
                pos = dec.scan_data(data, pos, &scan)?;
            }
            _ => {}
        }
    }
    if dec.comps.is_empty() {
        return Err("no frame".into());
    }
    let (w, h) = (dec.width, dec.height);
    let (hmax, vmax) = (dec.max_h(), dec.max_v());
    // Each component's samples at full resolution (padded width `blocks_w * 8 * hmax / h`).
    let planes: Vec<(Vec<u8>, usize)> = dec
        .comps
        .iter()
        .map(|c| {
            let stride = c.blocks_w * 8;
            let mut plane = vec![0u8; stride * c.blocks_h * 8];
            for by in 0..c.blocks_h {
                for bx in 0..c.blocks_w {
                    let out = &mut plane[by * 8 * stride + bx * 8..];
                    idct_islow(
                        &c.coefs[by * c.blocks_w + bx],
                        &dec.quant[c.quant],
                        out,
                        stride,
                    );
                }
            }
            // The component's real extent, as libjpeg's `downsampled_width/height`.
            let (cw, ch) = ((w * c.h).div_ceil(hmax), (h * c.v).div_ceil(vmax));
            match (hmax / c.h, vmax / c.v) {
                (1, 1) => (plane, stride),
                (2, 1) => {
                    let mut full = vec![0u8; 2 * cw * ch];
                    for y in 0..ch {
                        h2v1_fancy_upsample(&plane[y * stride..], cw, &mut full[y * 2 * cw..]);
                    }
                    (full, 2 * cw)
                }
                _ => {
                    let mut full = vec![0u8; 2 * cw * 2 * ch];
                    h2v2_fancy_upsample(&plane, stride, (cw, ch), &mut full, 2 * cw);
                    (full, 2 * cw)
                }
            }
        })
        .collect();
    let mut rgb = Vec::with_capacity(w * h * 3);
    if planes.len() == 1 {
        let (plane, stride) = &planes[0];
        for y in 0..h {
            for &v in &plane[y * stride..y * stride + w] {
                rgb.extend_from_slice(&[v, v, v]);
            }
        }
    } else {
        let tables = YccTables::new();
        for y in 0..h {
            for x in 0..w {
                let s = |k: usize| planes[k].0[y * planes[k].1 + x];
                rgb.extend_from_slice(&tables.rgb(s(0), s(1), s(2)));
            }
        }
    }
    Ok((rgb, h, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a (64-bit) of a byte string, to pin decoded pixels compactly.
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        })
    }

    #[test]
    fn decodes_as_cv2_imread_does() {
        // tests/fixtures/jpeg: a 24x16 pattern saved by Pillow 13 (libjpeg-turbo) at quality
        // 80; the hashes are of `cv2.imread(file)[..., ::-1]` (opencv-python 5.0).
        let cases: [(&[u8], u64); 3] = [
            (
                include_bytes!("../../tests/fixtures/jpeg/progressive_420_restarts.jpg"),
                0x32f4_42d9_addc_4e9c,
            ),
            (
                include_bytes!("../../tests/fixtures/jpeg/baseline_422.jpg"),
                0x6a2d_fa99_7a10_bd87,
            ),
            (
                include_bytes!("../../tests/fixtures/jpeg/grey.jpg"),
                0x95e2_4de6_48b1_012d,
            ),
        ];
        for (bytes, hash) in cases {
            let (rgb, h, w) = decode_rgb(bytes).unwrap();
            assert_eq!((h, w), (16, 24));
            assert_eq!(fnv1a(&rgb), hash);
        }
    }

    #[test]
    fn huffman_codes_are_canonical() {
        // Two codes of length 2 (00, 01) and one of length 3 (100).
        let mut counts = [0u8; 16];
        counts[1] = 2;
        counts[2] = 1;
        let table = Huffman::new(&counts, vec![7, 8, 9]);
        let data = [0b0001_1000, 0];
        let mut bits = Bits::new(&data, 0);
        assert_eq!(bits.decode(&table).unwrap(), 7);
        assert_eq!(bits.decode(&table).unwrap(), 8);
        assert_eq!(bits.decode(&table).unwrap(), 9);
        assert!(decode_rgb(b"not a jpeg").is_err());
    }
}
