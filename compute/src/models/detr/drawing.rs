//! The visitor's 96×96 canvas: its URL form, the digits on it as ink
//! regions (the ground truth a drawing implies), and dropping a real digit
//! into free space.

use crate::inputs::SplitMix64;

use super::scenes::{ink_box, resize_bilinear, CANVAS};

const PIXELS: usize = CANVAS * CANVAS;
const LEVELS: f32 = 15.0;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The canvas in a URL: intensities rounded to 16 levels, run-length coded
/// (each run one LEB128 number, (length − 1)·16 + level), in base64url.
/// A blank canvas is 4 characters; a few drawn digits about 1–2 thousand.
pub fn canvas_to_code(pixels: &[f32]) -> String {
    let levels: Vec<u32> = pixels
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * LEVELS).round() as u32)
        .collect();
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < levels.len() {
        let run = levels[i..].iter().take_while(|&&l| l == levels[i]).count();
        let mut word = ((run as u32 - 1) << 4) | levels[i];
        loop {
            let low = (word & 0x7f) as u8;
            word >>= 7;
            if word == 0 {
                bytes.push(low);
                break;
            }
            bytes.push(low | 0x80);
        }
        i += run;
    }
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, &b)| n | (b as u32) << (16 - 8 * k));
        for k in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

/// The inverse of [`canvas_to_code`]; None for anything that is not exactly
/// a 96×96 canvas.
pub fn canvas_from_code(code: &str) -> Option<Vec<f32>> {
    let mut bytes = Vec::with_capacity(code.len() * 3 / 4);
    for chunk in code.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (k, c) in chunk.iter().enumerate() {
            let v = ALPHABET.iter().position(|a| a == c)? as u32;
            n |= v << (18 - 6 * k);
        }
        for k in 0..chunk.len() - 1 {
            bytes.push((n >> (16 - 8 * k)) as u8);
        }
    }
    let mut pixels = Vec::with_capacity(PIXELS);
    let mut word = 0u32;
    let mut shift = 0;
    for b in bytes {
        if shift > 21 {
            return None;
        }
        word |= ((b & 0x7f) as u32) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            let (run, level) = ((word >> 4) as usize + 1, word & 15);
            if pixels.len() + run > PIXELS {
                return None;
            }
            pixels.extend(std::iter::repeat_n(level as f32 / LEVELS, run));
            (word, shift) = (0, 0);
        }
    }
    (pixels.len() == PIXELS && shift == 0).then_some(pixels)
}

/// Ink darker than this belongs to a digit.
const INK: f32 = 0.2;
/// Regions closer than this many pixels are one digit (a "5" drawn in two
/// strokes); smaller regions than `SPECK` pixels are ignored.
const GAP: f64 = 2.0;
const SPECK: usize = 6;

/// The digits on a canvas as boxes [x, y, w, h]: 8-connected regions of
/// ink, merged while any two come within two pixels, specks dropped,
/// ordered left to right.
pub fn ink_regions(pixels: &[f32]) -> Vec<[f64; 4]> {
    let mut seen = vec![false; PIXELS];
    let mut regions: Vec<([f64; 4], usize)> = Vec::new();
    for start in 0..pixels.len().min(PIXELS) {
        if seen[start] || pixels[start] <= INK {
            continue;
        }
        let (mut x0, mut y0, mut x1, mut y1, mut count) = (CANVAS, CANVAS, 0, 0, 0);
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (y, x) = (i / CANVAS, i % CANVAS);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            count += 1;
            for dy in -1i32..=1 {
                for dx in -1i32..=1 {
                    let (ny, nx) = (y as i32 + dy, x as i32 + dx);
                    if (0..CANVAS as i32).contains(&ny) && (0..CANVAS as i32).contains(&nx) {
                        let j = ny as usize * CANVAS + nx as usize;
                        if !seen[j] && pixels[j] > INK {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        let b = [
            x0 as f64,
            y0 as f64,
            (x1 - x0 + 1) as f64,
            (y1 - y0 + 1) as f64,
        ];
        regions.push((b, count));
    }
    let near = |a: &[f64; 4], b: &[f64; 4]| {
        a[0] - GAP < b[0] + b[2]
            && b[0] - GAP < a[0] + a[2]
            && a[1] - GAP < b[1] + b[3]
            && b[1] - GAP < a[1] + a[3]
    };
    'merge: loop {
        for i in 0..regions.len() {
            for j in i + 1..regions.len() {
                if near(&regions[i].0, &regions[j].0) {
                    let (b, n) = regions.remove(j);
                    let a = &mut regions[i];
                    let x1 = (a.0[0] + a.0[2]).max(b[0] + b[2]);
                    let y1 = (a.0[1] + a.0[3]).max(b[1] + b[3]);
                    a.0[0] = a.0[0].min(b[0]);
                    a.0[1] = a.0[1].min(b[1]);
                    a.0[2] = x1 - a.0[0];
                    a.0[3] = y1 - a.0[1];
                    a.1 += n;
                    continue 'merge;
                }
            }
        }
        break;
    }
    let mut boxes: Vec<[f64; 4]> = regions
        .into_iter()
        .filter(|(_, n)| *n >= SPECK)
        .map(|(b, _)| b)
        .collect();
    boxes.sort_by(|a, b| {
        (a[0], a[1])
            .partial_cmp(&(b[0], b[1]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    boxes
}

/// Draws a 28×28 digit (intensities 0–255), cropped to its ink and resized
/// to `height` pixels, at a random place clear of the canvas's ink (by at
/// least two pixels). Returns its box, or None when no place is free.
pub fn drop_digit(
    pixels: &mut [f32],
    digit: &[u8],
    height: usize,
    rng: &mut SplitMix64,
) -> Option<[f64; 4]> {
    let (cx, cy, cw, ch) = ink_box(digit)?;
    let crop: Vec<f32> = (0..ch)
        .flat_map(|y| (0..cw).map(move |x| digit[(cy + y) * 28 + cx + x] as f32 / 255.0))
        .collect();
    let th = height.clamp(8, CANVAS);
    let tw = ((cw as f64 * th as f64 / ch as f64).round() as usize).clamp(1, CANVAS);
    let taken = ink_regions(pixels);
    for _ in 0..200 {
        let x = (rng.next_u64() % (CANVAS - tw + 1) as u64) as usize;
        let y = (rng.next_u64() % (CANVAS - th + 1) as u64) as usize;
        let b = [x as f64, y as f64, tw as f64, th as f64];
        let clear = taken.iter().all(|t| {
            b[0] >= t[0] + t[2] + GAP
                || t[0] >= b[0] + b[2] + GAP
                || b[1] >= t[1] + t[3] + GAP
                || t[1] >= b[1] + b[3] + GAP
        });
        if clear {
            let patch = resize_bilinear(&crop, cw, ch, tw, th);
            for (r, row) in patch.chunks(tw).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    let p = &mut pixels[(y + r) * CANVAS + x + c];
                    *p = p.max(v);
                }
            }
            return Some(b);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_at_sixteen_levels() {
        let blank = vec![0.0; PIXELS];
        let code = canvas_to_code(&blank);
        assert!(code.len() <= 4, "{code}");
        assert_eq!(canvas_from_code(&code).as_ref(), Some(&blank));
        let mut rng = SplitMix64::new(4);
        let mut img = vec![0.0f32; PIXELS];
        for v in img.iter_mut().skip(500).step_by(7).take(800) {
            *v = (rng.next_u64() % 1000) as f32 / 999.0;
        }
        let back = canvas_from_code(&canvas_to_code(&img)).unwrap();
        assert!(img
            .iter()
            .zip(&back)
            .all(|(a, b)| (a - b).abs() <= 0.5 / 15.0 + 1e-6));
        // Anything else is rejected, not guessed at.
        for bad in ["", "A", "!!!!", "AAAA", &canvas_to_code(&[0.0; 100])] {
            assert_eq!(canvas_from_code(bad), None, "{bad}");
        }
        let mut long = canvas_to_code(&blank);
        long.push_str("AQ");
        assert_eq!(canvas_from_code(&long), None);
    }

    #[test]
    fn ink_regions_find_digits_and_join_strokes() {
        let mut img = vec![0.0f32; PIXELS];
        let mut fill = |x0: usize, y0: usize, w: usize, h: usize| {
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    img[y * CANVAS + x] = 1.0;
                }
            }
        };
        fill(60, 10, 10, 20); // a digit on the right
        fill(5, 5, 3, 12); // two strokes one pixel apart: one digit
        fill(9, 5, 3, 12);
        fill(40, 80, 1, 1); // a speck
        assert_eq!(
            ink_regions(&img),
            vec![[5.0, 5.0, 7.0, 12.0], [60.0, 10.0, 10.0, 20.0]]
        );
        assert!(ink_regions(&vec![0.0; PIXELS]).is_empty());
    }

    #[test]
    fn dropped_digits_land_in_free_space() {
        let mut digit = vec![0u8; 784];
        for y in 4..24 {
            for x in 10..18 {
                digit[y * 28 + x] = 255;
            }
        }
        let mut img = vec![0.0f32; PIXELS];
        let mut rng = SplitMix64::new(1);
        let mut boxes = Vec::new();
        for _ in 0..4 {
            boxes.push(drop_digit(&mut img, &digit, 30, &mut rng).unwrap());
        }
        assert_eq!(boxes[0][3], 30.0);
        let mut found = ink_regions(&img);
        boxes.sort_by(|a, b| a.partial_cmp(b).unwrap());
        found.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(found, boxes);
        // A full canvas has no room.
        let mut full = vec![1.0f32; PIXELS];
        assert_eq!(drop_digit(&mut full, &digit, 30, &mut rng), None);
    }
}
