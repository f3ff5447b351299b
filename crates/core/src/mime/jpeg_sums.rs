//! The brightness of a JPEG summed over the cells of a grid, read from the
//! compressed data without decoding the picture.
//!
//! A JPEG stores each 8×8 block of a channel as 64 frequency coefficients;
//! the first (DC) is eight times the block's average level, less 128. The
//! near-duplicate fingerprint only needs the sum over cells of a grid, most
//! of them much larger than a block, so a block wholly inside a cell adds
//! its DC coefficient alone; only a block that a cell edge cuts needs its
//! other coefficients, and then only their sums over the part on each side
//! of the edge (a weighted sum of the coefficients, no pixel). Every
//! coefficient of the brightness (Y) blocks and of the colour ones is still
//! walked (they are Huffman-coded one after another), but almost none is
//! dequantised or transformed, and no pixel is written.
//!
//! Only the common case is read here: baseline or extended sequential
//! Huffman coding, 8-bit samples, one or three channels (grey or YCbCr) in
//! one interleaved scan, with or without restart markers. Anything else, and
//! any inconsistency in the data, gives `None`, and the caller decodes the
//! picture in full instead, which also says what is wrong with it.

/// The brightness of a picture summed over the cells of a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSums {
    /// The picture's size in pixels.
    pub width: u32,
    pub height: u32,
    /// The sum of the brightness (0–255) of the pixels of each cell, row by
    /// row of cells, as the inverse transform gives them before rounding.
    pub sums: Vec<f64>,
}

/// The pixel rows (or columns) of each cell of a grid, in order, for a
/// picture `length` pixels tall (or wide): the caller's grid.
pub type Runs = fn(usize) -> Vec<(usize, usize)>;

/// Sums a JPEG's brightness over the cells that `runs` makes of its width
/// and height, or `None` when the file is not one this reader handles (the
/// caller then decodes it in full).
pub fn cell_sums(bytes: &[u8], runs: Runs) -> Option<CellSums> {
    let mut tables = Tables::default();
    let mut frame: Option<Frame> = None;
    let mut restart_interval = 0usize;
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            at += 2;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let segment = bytes.get(at + 4..at + 2 + length)?;
        match marker {
            // Baseline and extended sequential, Huffman-coded.
            0xC0 | 0xC1 => frame = Some(Frame::read(segment)?),
            // Progressive, lossless, hierarchical or arithmetic-coded.
            0xC2..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xC4 => tables.read_huffman(segment)?,
            0xDB => tables.read_quantisation(segment)?,
            0xDD => {
                restart_interval =
                    usize::from(u16::from_be_bytes(segment.get(..2)?.try_into().ok()?))
            }
            // An Adobe segment saying the three channels are not YCbCr.
            0xEE if segment.starts_with(b"Adobe") && segment.get(11) == Some(&0) => return None,
            0xDA => {
                let frame = frame?;
                let scan = Scan::read(segment, &frame)?;
                let data = bytes.get(at + 2 + length..)?;
                return decode_scan(&frame, &scan, &tables, restart_interval, data, runs);
            }
            0xD9 => return None,
            _ => {}
        }
        at += 2 + length;
    }
}

#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    horizontal: usize,
    vertical: usize,
    quantisation: usize,
}

#[derive(Debug, Clone)]
struct Frame {
    width: usize,
    height: usize,
    components: Vec<Component>,
}

impl Frame {
    fn read(segment: &[u8]) -> Option<Frame> {
        if *segment.first()? != 8 {
            return None;
        }
        let height = usize::from(u16::from_be_bytes([*segment.get(1)?, *segment.get(2)?]));
        let width = usize::from(u16::from_be_bytes([*segment.get(3)?, *segment.get(4)?]));
        let count = usize::from(*segment.get(5)?);
        if width == 0 || height == 0 || !(count == 1 || count == 3) {
            return None;
        }
        let mut components = Vec::with_capacity(count);
        for index in 0..count {
            let spec = segment.get(6 + index * 3..9 + index * 3)?;
            let (horizontal, vertical) = (usize::from(spec[1] >> 4), usize::from(spec[1] & 15));
            if !(1..=4).contains(&horizontal) || !(1..=4).contains(&vertical) || spec[2] > 3 {
                return None;
            }
            components.push(Component {
                id: spec[0],
                horizontal,
                vertical,
                quantisation: usize::from(spec[2]),
            });
        }
        // Channels named R, G and B hold colours, not brightness.
        if count == 3 && components.iter().map(|c| c.id).eq(*b"RGB") {
            return None;
        }
        let luma = components[0];
        // The brightness channel must have the finest sampling, as it
        // always does, for its blocks to cover the picture one to one.
        if components
            .iter()
            .any(|c| c.horizontal > luma.horizontal || c.vertical > luma.vertical)
        {
            return None;
        }
        Some(Frame {
            width,
            height,
            components,
        })
    }
}

/// Which frame channels a scan codes, in order, with their tables.
struct Scan {
    /// (index in the frame, DC table, AC table)
    components: Vec<(usize, usize, usize)>,
}

impl Scan {
    fn read(segment: &[u8], frame: &Frame) -> Option<Scan> {
        let count = usize::from(*segment.first()?);
        // One scan holding every channel, as sequential cameras write.
        if count != frame.components.len() {
            return None;
        }
        let mut components = Vec::with_capacity(count);
        for index in 0..count {
            let spec = segment.get(1 + index * 2..3 + index * 2)?;
            let position = frame.components.iter().position(|c| c.id == spec[0])?;
            let (dc, ac) = (usize::from(spec[1] >> 4), usize::from(spec[1] & 15));
            if dc > 3 || ac > 3 {
                return None;
            }
            components.push((position, dc, ac));
        }
        // The brightness channel first, and full spectral selection.
        let tail = segment.get(1 + count * 2..4 + count * 2)?;
        if components[0].0 != 0 || tail != [0, 63, 0] {
            return None;
        }
        Some(Scan { components })
    }
}

/// A Huffman table: a lookup of the codes up to [`LOOKUP_BITS`] long, and
/// the canonical code ranges for the longer ones.
#[derive(Clone)]
struct Huffman {
    /// Indexed by the next `LOOKUP_BITS` bits: code length << 8 | symbol,
    /// or 0 for a longer code.
    lookup: Box<[u16; 1 << LOOKUP_BITS]>,
    /// For each length 1–16: the largest code of that length plus one
    /// (0 when none), and the index of its first symbol minus its first code.
    max_code: [u32; 17],
    offset: [i32; 17],
    symbols: Vec<u8>,
}

const LOOKUP_BITS: u32 = 11;

impl Huffman {
    fn new(counts: &[u8; 16], symbols: Vec<u8>) -> Option<Huffman> {
        let mut lookup = Box::new([0u16; 1 << LOOKUP_BITS]);
        let mut max_code = [0u32; 17];
        let mut offset = [0i32; 17];
        let mut code = 0u32;
        let mut index = 0usize;
        for length in 1..=16u32 {
            let count = usize::from(counts[length as usize - 1]);
            offset[length as usize] = index as i32 - code as i32;
            for _ in 0..count {
                if code >= 1 << length {
                    return None;
                }
                let symbol = *symbols.get(index)?;
                if length <= LOOKUP_BITS {
                    let shift = LOOKUP_BITS - length;
                    let first = (code << shift) as usize;
                    for entry in &mut lookup[first..first + (1 << shift)] {
                        *entry = (length as u16) << 8 | u16::from(symbol);
                    }
                }
                code += 1;
                index += 1;
            }
            max_code[length as usize] = if count > 0 { code } else { 0 };
            code <<= 1;
        }
        Some(Huffman {
            lookup,
            max_code,
            offset,
            symbols,
        })
    }
}

#[derive(Default)]
struct Tables {
    /// DC tables 0–3, then AC tables 0–3.
    huffman: [Option<Huffman>; 8],
    /// Each quantisation table, in zigzag order.
    steps: [Option<[u16; 64]>; 4],
}

impl Tables {
    fn read_huffman(&mut self, mut segment: &[u8]) -> Option<()> {
        while !segment.is_empty() {
            let (class, id) = (usize::from(segment[0] >> 4), usize::from(segment[0] & 15));
            if class > 1 || id > 3 {
                return None;
            }
            let counts: [u8; 16] = segment.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let symbols = segment.get(17..17 + total)?.to_vec();
            self.huffman[class * 4 + id] = Some(Huffman::new(&counts, symbols)?);
            segment = &segment[17 + total..];
        }
        Some(())
    }

    fn read_quantisation(&mut self, mut segment: &[u8]) -> Option<()> {
        while !segment.is_empty() {
            let (precision, id) = (segment[0] >> 4, usize::from(segment[0] & 15));
            if id > 3 {
                return None;
            }
            let mut steps = [0u16; 64];
            let size = match precision {
                0 => {
                    for (step, &value) in steps.iter_mut().zip(segment.get(1..65)?) {
                        *step = u16::from(value);
                    }
                    65
                }
                1 => {
                    for (step, pair) in steps.iter_mut().zip(segment.get(1..129)?.chunks_exact(2)) {
                        *step = u16::from_be_bytes([pair[0], pair[1]]);
                    }
                    129
                }
                _ => return None,
            };
            self.steps[id] = Some(steps);
            segment = &segment[size..];
        }
        Some(())
    }
}

/// The entropy-coded bits of a scan, most significant first, with the
/// 0xFF00 stuffing taken out. A marker ends the bits: reading on past it is
/// an error the caller learns from [`Bits::overrun`].
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    /// Valid bits, at the top.
    buffer: u64,
    count: u32,
    /// Bits handed out that were not in the data (after a marker or the end).
    padding: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            at: 0,
            buffer: 0,
            count: 0,
            padding: 0,
        }
    }

    #[inline]
    fn refill(&mut self) {
        if self.count > 56 {
            return;
        }
        // Whole bytes at once while the next eight hold no 0xFF (no stuffing,
        // no marker), which is nearly always.
        if let Some(next) = self.data.get(self.at..self.at + 8) {
            let word = u64::from_be_bytes(next.try_into().unwrap_or_default());
            // A byte of all ones makes its lane of `!word` zero.
            let inverted = !word;
            let has_ff =
                inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let bytes = (64 - self.count) / 8;
                self.buffer |= (word >> (64 - 8 * bytes)) << (64 - 8 * bytes - self.count);
                self.count += 8 * bytes;
                self.at += bytes as usize;
                return;
            }
        }
        while self.count <= 56 {
            let byte = match self.data.get(self.at) {
                Some(&0xFF) => match self.data.get(self.at + 1) {
                    Some(0x00) => {
                        self.at += 2;
                        0xFF
                    }
                    // A marker: stay before it.
                    _ => {
                        self.padding += 8;
                        0
                    }
                },
                Some(&byte) => {
                    self.at += 1;
                    byte
                }
                None => {
                    self.padding += 8;
                    0
                }
            };
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline]
    fn take(&mut self, bits: u32) -> u32 {
        if bits == 0 {
            return 0;
        }
        let value = (self.buffer >> (64 - bits)) as u32;
        self.buffer <<= bits;
        self.count -= bits;
        value
    }

    /// True when more bits were used than the data held.
    fn overrun(&self) -> bool {
        self.padding > self.count
    }

    #[inline]
    fn symbol(&mut self, table: &Huffman) -> Option<u8> {
        let entry = table.lookup[(self.buffer >> (64 - LOOKUP_BITS)) as usize];
        if entry != 0 {
            self.take(u32::from(entry >> 8));
            return Some(entry as u8);
        }
        for length in LOOKUP_BITS + 1..=16 {
            let code = (self.buffer >> (64 - length)) as u32;
            if code < table.max_code[length as usize] {
                self.take(length);
                let index = table.offset[length as usize] + code as i32;
                return table.symbols.get(usize::try_from(index).ok()?).copied();
            }
        }
        None
    }

    /// Goes to the restart marker expected next, and past it.
    fn restart(&mut self, expected: u8) -> Option<()> {
        if self.overrun() {
            return None;
        }
        self.buffer = 0;
        self.count = 0;
        self.padding = 0;
        if self.data.get(self.at..self.at + 2)? != [0xFF, 0xD0 + expected] {
            return None;
        }
        self.at += 2;
        Some(())
    }
}

/// The value of `size` bits of a coefficient as JPEG codes it.
#[inline]
fn extend(value: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if value < 1 << (size - 1) {
        value as i32 - (1 << size) + 1
    } else {
        value as i32
    }
}

/// Where each zigzag-ordered coefficient goes in a row-major 8×8 block.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The part of one block in one cell along one side: the cell, and the
/// weight of each frequency in the sum over the part's pixels.
struct Part {
    cell: usize,
    /// Whether the part is the whole block side (then only frequency 0
    /// counts, with the weight 2√2).
    whole: bool,
    /// Its pixels along the side.
    pixels: f64,
    weights: [f64; 8],
}

/// For each block along a side `length` pixels long, the parts of it in
/// each cell that `runs` makes of the side.
fn parts(length: usize, blocks: usize, runs: &[(usize, usize)]) -> Vec<Vec<Part>> {
    // c(u)/2 cos((2x+1)uπ/16) for pixel x and frequency u.
    let mut basis = [[0.0f64; 8]; 8];
    for (x, row) in basis.iter_mut().enumerate() {
        for (u, value) in row.iter_mut().enumerate() {
            let scale = if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            } / 2.0;
            *value = scale * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos();
        }
    }
    (0..blocks)
        .map(|block| {
            let (first, last) = (block * 8, block * 8 + 8);
            runs.iter()
                .enumerate()
                .filter_map(|(cell, &(start, end))| {
                    let (from, to) = (start.max(first), end.min(last).min(length));
                    (from < to).then(|| {
                        // The inverse transform along one side gives pixel x
                        // the sum over u of c(u)/2 F(u) cos((2x+1)uπ/16), with
                        // c(0) = 1/√2 and 1 otherwise: summed over the
                        // part's pixels, a weight for each frequency.
                        let mut weights = [0.0; 8];
                        for (u, weight) in weights.iter_mut().enumerate() {
                            *weight = (from - first..to - first).map(|x| basis[x][u]).sum();
                        }
                        Part {
                            cell,
                            whole: to - from == 8,
                            pixels: (to - from) as f64,
                            weights,
                        }
                    })
                })
                .collect()
        })
        .collect()
}

fn decode_scan(
    frame: &Frame,
    scan: &Scan,
    tables: &Tables,
    restart_interval: usize,
    data: &[u8],
    runs: Runs,
) -> Option<CellSums> {
    let max_h = frame.components.iter().map(|c| c.horizontal).max()?;
    let max_v = frame.components.iter().map(|c| c.vertical).max()?;
    let luma = frame.components[0];
    let steps = tables.steps[luma.quantisation]?;
    // A grey picture of one channel is coded block by block, not in MCUs.
    let (mcus_wide, mcus_high, luma_h, luma_v) = if frame.components.len() == 1 {
        (frame.width.div_ceil(8), frame.height.div_ceil(8), 1, 1)
    } else {
        (
            frame.width.div_ceil(8 * max_h),
            frame.height.div_ceil(8 * max_v),
            luma.horizontal,
            luma.vertical,
        )
    };
    let column_runs = runs(frame.width);
    let row_runs = runs(frame.height);
    let columns = parts(frame.width, mcus_wide * luma_h, &column_runs);
    let rows = parts(frame.height, mcus_high * luma_v, &row_runs);
    let mut sums = vec![0.0f64; column_runs.len() * row_runs.len()];
    let cells_wide = column_runs.len();

    struct Coded<'t> {
        blocks: usize,
        dc: &'t Huffman,
        ac: &'t Huffman,
        prediction: i32,
    }
    let mut coded = Vec::with_capacity(scan.components.len());
    for &(index, dc, ac) in &scan.components {
        let component = frame.components[index];
        let blocks = if frame.components.len() == 1 {
            1
        } else {
            component.horizontal * component.vertical
        };
        coded.push(Coded {
            blocks,
            dc: tables.huffman[dc].as_ref()?,
            ac: tables.huffman[4 + ac].as_ref()?,
            prediction: 0,
        });
    }

    let mut bits = Bits::new(data);
    let mut next_restart = 0u8;
    // The coefficients other than 0 of a brightness block a cell edge cuts:
    // where each stands in the block (row-major) and its dequantised value.
    let mut coefficients: Vec<(usize, f64)> = Vec::with_capacity(64);
    for mcu in 0..mcus_wide * mcus_high {
        if restart_interval > 0 && mcu > 0 && mcu % restart_interval == 0 {
            bits.restart(next_restart)?;
            next_restart = (next_restart + 1) % 8;
            for component in &mut coded {
                component.prediction = 0;
            }
        }
        let (mcu_x, mcu_y) = (mcu % mcus_wide, mcu / mcus_wide);
        for (which, component) in coded.iter_mut().enumerate() {
            for block in 0..component.blocks {
                // Which parts of the picture a brightness block covers, and
                // whether its coefficients past the first are needed.
                let (across, down) = if which == 0 {
                    (
                        &columns[mcu_x * luma_h + block % luma_h][..],
                        &rows[mcu_y * luma_v + block / luma_h][..],
                    )
                } else {
                    (&[][..], &[][..])
                };
                let cut = match (across, down) {
                    ([column], [row]) => !(column.whole && row.whole),
                    _ => !across.is_empty() && !down.is_empty(),
                };
                bits.refill();
                let size = u32::from(bits.symbol(component.dc)?);
                if size > 11 {
                    return None;
                }
                let difference = extend(bits.take(size), size);
                component.prediction += difference;
                coefficients.clear();
                let mut k = 1;
                while k < 64 {
                    if bits.count < 32 {
                        bits.refill();
                    }
                    let run_size = bits.symbol(component.ac)?;
                    let (run, size) = (usize::from(run_size >> 4), u32::from(run_size & 15));
                    if size == 0 {
                        if run != 15 {
                            break;
                        }
                        k += 16;
                    } else {
                        k += run;
                        let value = bits.take(size);
                        if cut && k < 64 {
                            let step = i32::from(steps[k]);
                            coefficients.push((ZIGZAG[k], f64::from(extend(value, size) * step)));
                        }
                        k += 1;
                    }
                }
                if k > 64 {
                    return None;
                }
                if across.is_empty() || down.is_empty() {
                    continue;
                }
                let dc = f64::from(component.prediction * i32::from(steps[0]));
                if !cut {
                    // Wholly in one cell: 64 pixels of the average dc/8 + 128.
                    sums[down[0].cell * cells_wide + across[0].cell] += 8.0 * dc + 8192.0;
                    continue;
                }
                coefficients.push((0, dc));
                for row in down {
                    for column in across {
                        // A whole side weighs frequency 0 alone.
                        let sum: f64 = coefficients
                            .iter()
                            .map(|&(at, value)| {
                                value * row.weights[at / 8] * column.weights[at % 8]
                            })
                            .sum();
                        let pixels = row.pixels * column.pixels;
                        sums[row.cell * cells_wide + column.cell] += sum + 128.0 * pixels;
                    }
                }
            }
        }
        if bits.overrun() {
            return None;
        }
    }
    Some(CellSums {
        width: frame.width as u32,
        height: frame.height as u32,
        sums,
    })
}
