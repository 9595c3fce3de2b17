//! Driver for `shaders/conv2d.wgsl`: 2-D convolution with stride, zero
//! padding and PixelCNN's type-A/type-B masks.

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "conv2d",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/conv2d.wgsl")),
    workgroup: 256,
    constants: &[],
};

/// PixelCNN's causal masks over a k × k kernel (raster order, one colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvMask {
    None,
    /// First layer: a pixel never sees itself.
    TypeA,
    /// Later layers: the centre tap carries the pixel's own features.
    TypeB,
}

impl ConvMask {
    fn code(self) -> u32 {
        match self {
            ConvMask::None => 0,
            ConvMask::TypeA => 1,
            ConvMask::TypeB => 2,
        }
    }

    /// Whether tap (ky, kx) of a k × k kernel is used.
    pub fn allows(self, k: usize, ky: usize, kx: usize) -> bool {
        let c = k / 2;
        match self {
            ConvMask::None => true,
            ConvMask::TypeA => ky < c || (ky == c && kx < c),
            ConvMask::TypeB => ky < c || (ky == c && kx <= c),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dShape {
    pub batch: usize,
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub mask: ConvMask,
}

impl Conv2dShape {
    pub fn out_hw(&self) -> (usize, usize) {
        let span = |n: usize| (n + 2 * self.pad).saturating_sub(self.k) / self.stride + 1;
        (span(self.h), span(self.w))
    }

    pub fn check(&self, input: usize, weight: usize, bias: usize) -> Result<(), ComputeError> {
        let bad = |detail: String| {
            Err(ComputeError::Shape {
                op: "conv2d",
                detail,
            })
        };
        let s = self;
        if [s.batch, s.cin, s.h, s.w, s.cout, s.k, s.stride].contains(&0)
            || s.h + 2 * s.pad < s.k
            || s.w + 2 * s.pad < s.k
        {
            return bad(format!("degenerate shape {s:?}"));
        }
        if s.mask != ConvMask::None && s.k.is_multiple_of(2) {
            return bad("a masked kernel needs an odd size so it has a centre".into());
        }
        if input != s.batch * s.cin * s.h * s.w
            || weight != s.cout * s.cin * s.k * s.k
            || bias != s.cout
        {
            return bad(format!(
                "operand lengths {input}, {weight}, {bias} do not fit {s:?}"
            ));
        }
        Ok(())
    }
}

pub fn conv2d(
    rec: &mut Recording<'_>,
    input: &GpuTensor,
    weight: &GpuTensor,
    bias: &GpuTensor,
    s: Conv2dShape,
) -> Result<GpuTensor, ComputeError> {
    s.check(input.len, weight.len, bias.len)?;
    let (ho, wo) = s.out_hw();
    let n = s.batch * s.cout * ho * wo;
    let out = rec.exec().empty(n);
    let params = [
        s.batch, s.cin, s.h, s.w, s.cout, s.k, s.stride, s.pad, ho, wo,
    ]
    .map(|v| v as u32);
    // pos and flags belong to conv2d_at.
    let params = [params.as_slice(), &[s.mask.code(), 0, 0]].concat();
    let bindings = [(1, input), (2, weight), (3, bias), (4, &out)];
    rec.dispatch(
        &KERNEL,
        "conv2d_f32",
        &bindings,
        &params,
        groups_1d(n, KERNEL.workgroup),
    );
    Ok(out)
}

/// The output layout of [`conv2d_cout8`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvLayout {
    /// [batch, cout, ho, wo], as [`conv2d`] writes.
    ChannelsFirst,
    /// [batch, ho, wo, cout]: one token per pixel, for a transformer.
    ChannelsLast,
}

/// relu(conv2d(input)) for unmasked convolutions with a multiple of 8 output
/// channels, 4 pixels × 8 channels per invocation; the same sums as
/// [`conv2d`] in the same order.
pub fn conv2d_relu_cout8(
    rec: &mut Recording<'_>,
    input: &GpuTensor,
    weight: &GpuTensor,
    bias: &GpuTensor,
    s: Conv2dShape,
    layout: ConvLayout,
) -> Result<GpuTensor, ComputeError> {
    s.check(input.len, weight.len, bias.len)?;
    if s.mask != ConvMask::None || !s.cout.is_multiple_of(8) {
        return Err(ComputeError::Shape {
            op: "conv2d_cout8",
            detail: format!("needs no mask and a multiple of 8 output channels: {s:?}"),
        });
    }
    let (ho, wo) = s.out_hw();
    let pixels = s.batch * ho * wo;
    let out = rec.exec().empty(pixels * s.cout);
    let params = [
        s.batch, s.cin, s.h, s.w, s.cout, s.k, s.stride, s.pad, ho, wo,
    ]
    .map(|v| v as u32);
    let flags = 4 | if layout == ConvLayout::ChannelsLast {
        8
    } else {
        0
    };
    let params = [params.as_slice(), &[0, 0, flags]].concat();
    // Four neighbouring pixels of a row per invocation.
    let quads = s.batch * ho * wo.div_ceil(4);
    let groups = [
        (quads as u32).div_ceil(KERNEL.workgroup),
        (s.cout / 8) as u32,
        1,
    ];
    if groups[0] > 65535 {
        return Err(ComputeError::Shape {
            op: "conv2d_cout8",
            detail: format!("{pixels} output pixels need too many workgroups"),
        });
    }
    let bindings = [(1, input), (2, weight), (3, bias), (4, &out)];
    rec.dispatch(&KERNEL, "conv2d_cout8", &bindings, &params, groups);
    Ok(out)
}

/// Where `conv2d_at` computes, and what it does around the convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvAt {
    /// The output position, y · w + x.
    pub pos: usize,
    /// relu(input) is convolved.
    pub relu_in: bool,
    /// out = input + conv (a residual block; cin == cout).
    pub residual: bool,
    /// out = relu(…).
    pub relu_out: bool,
}

/// Position `pos` of every output channel of a stride-1, same-size
/// convolution of one image, written into `out` ([cout, h, w]) in place;
/// the rest of `out` is left as it is.
pub fn conv2d_at(
    rec: &mut Recording<'_>,
    input: &GpuTensor,
    weight: &GpuTensor,
    bias: &GpuTensor,
    out: &GpuTensor,
    s: Conv2dShape,
    at: ConvAt,
) -> Result<(), ComputeError> {
    let (pos, flags) = (at.pos, at);
    s.check(input.len, weight.len, bias.len)?;
    let bad = |detail: String| {
        Err(ComputeError::Shape {
            op: "conv2d_at",
            detail,
        })
    };
    if s.batch != 1 || s.stride != 1 || s.out_hw() != (s.h, s.w) {
        return bad(format!(
            "needs one image and a same-size convolution: {s:?}"
        ));
    }
    if pos >= s.h * s.w || out.len != s.cout * s.h * s.w || (flags.residual && s.cin != s.cout) {
        return bad(format!(
            "position {pos}, output of {} words, residual {} for {s:?}",
            out.len, flags.residual
        ));
    }
    let code = flags.relu_in as u32 | (flags.residual as u32) << 1 | (flags.relu_out as u32) << 2;
    let params = [
        s.batch, s.cin, s.h, s.w, s.cout, s.k, s.stride, s.pad, s.h, s.w,
    ]
    .map(|v| v as u32);
    let params = [params.as_slice(), &[s.mask.code(), pos as u32, code]].concat();
    let bindings = [(1, input), (2, weight), (3, bias), (4, out)];
    rec.dispatch(
        &KERNEL,
        "conv2d_at",
        &bindings,
        &params,
        groups_1d(s.cout, KERNEL.workgroup),
    );
    Ok(())
}
