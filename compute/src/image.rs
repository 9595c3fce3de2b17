//! Grey images shared by the chapters that draw scenes (3, 9 and 10).

/// Bilinear resize of a `w`×`h` grey image to `tw`×`th`, sampling at pixel
/// centres (values keep their scale).
pub fn resize_bilinear(src: &[f32], w: usize, h: usize, tw: usize, th: usize) -> Vec<f32> {
    let (sx, sy) = (w as f64 / tw as f64, h as f64 / th as f64);
    let mut out = Vec::with_capacity(tw * th);
    for y in 0..th {
        let fy = ((y as f64 + 0.5) * sy - 0.5).clamp(0.0, (h - 1) as f64);
        let (y0, ty) = (fy.floor() as usize, fy - fy.floor());
        let y1 = (y0 + 1).min(h - 1);
        for x in 0..tw {
            let fx = ((x as f64 + 0.5) * sx - 0.5).clamp(0.0, (w - 1) as f64);
            let (x0, tx) = (fx.floor() as usize, fx - fx.floor());
            let x1 = (x0 + 1).min(w - 1);
            let at = |yy: usize, xx: usize| src[yy * w + xx] as f64;
            let top = at(y0, x0) * (1.0 - tx) + at(y0, x1) * tx;
            let bottom = at(y1, x0) * (1.0 - tx) + at(y1, x1) * tx;
            out.push((top * (1.0 - ty) + bottom * ty) as f32);
        }
    }
    out
}

/// Whether two COCO boxes [x, y, w, h] share more than an edge.
pub fn boxes_overlap(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3]
}
