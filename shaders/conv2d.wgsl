// conv2d: out[b, o, y, x] = bias[o] + Σ_{i, ky, kx} w[o, i, ky, kx] · in[b, i, y·s + ky − pad, x·s + kx − pad]
// with zero padding, and optionally PixelCNN's causal masks.
//
// conv2d_at: one output position `pos` (= y · w + x) of every output channel,
// for a stride-1 "same" convolution of one image, written in place into
// `out` [cout, h, w]. A PixelCNN chain fills its layers one position at a
// time with it. flags: 1 relu on the input; 2 add the input at `pos`
// (a residual; cin == cout); 4 relu on the output. One invocation per output
// channel, summing in conv2d_f32's order.
//
// Bindings (group 0):
//   0  params : uniform     (batch, cin, h, w, cout, k, stride, pad, ho, wo, mask, pos, flags)
//   1  input  : array<f32>  read   [batch, cin, h, w]
//   2  weight : array<f32>  read   [cout, cin, k, k]
//   3  bias   : array<f32>  read   [cout]
//   4  out    : array<f32>  write  [batch, cout, ho, wo]
//
// mask (van den Oord et al. 2016), with c = k / 2 the kernel's centre:
//   0 none;
//   1 type A: taps above the centre row, and left of the centre in its row;
//   2 type B: type A plus the centre itself.
// Applying the mask here keeps a model causal whatever its stored weights.
//
// Workgroup: WG invocations (override; 256), one output element each; the
// grid wraps into y past 65535 groups.

override WG: u32;

struct Params {
    batch: u32,
    cin: u32,
    h: u32,
    w: u32,
    cout: u32,
    k: u32,
    stride: u32,
    pad: u32,
    ho: u32,
    wo: u32,
    mask: u32,
    pos: u32,
    flags: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn tap_allowed(ky: u32, kx: u32) -> bool {
    let c = p.k / 2u;
    if (p.mask == 0u || ky < c) {
        return true;
    }
    return ky == c && (kx < c || (p.mask == 2u && kx == c));
}

@compute @workgroup_size(WG)
fn conv2d_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * WG;
    if (idx >= p.batch * p.cout * p.ho * p.wo) {
        return;
    }
    let ox = idx % p.wo;
    let oy = (idx / p.wo) % p.ho;
    let o = (idx / (p.wo * p.ho)) % p.cout;
    let b = idx / (p.wo * p.ho * p.cout);
    var acc = bias[o];
    for (var i = 0u; i < p.cin; i++) {
        for (var ky = 0u; ky < p.k; ky++) {
            // Signed arithmetic: the padded window starts above/left of the image.
            let iy = i32(oy * p.stride + ky) - i32(p.pad);
            if (iy < 0 || iy >= i32(p.h)) {
                continue;
            }
            for (var kx = 0u; kx < p.k; kx++) {
                let ix = i32(ox * p.stride + kx) - i32(p.pad);
                if (ix < 0 || ix >= i32(p.w) || !tap_allowed(ky, kx)) {
                    continue;
                }
                let v = input[((b * p.cin + i) * p.h + u32(iy)) * p.w + u32(ix)];
                acc += weight[((o * p.cin + i) * p.k + ky) * p.k + kx] * v;
            }
        }
    }
    out[idx] = acc;
}

@compute @workgroup_size(WG)
fn conv2d_at(@builtin(global_invocation_id) gid: vec3<u32>) {
    let o = gid.x;
    if (o >= p.cout) {
        return;
    }
    let plane = p.h * p.w;
    let oy = p.pos / p.w;
    let ox = p.pos % p.w;
    var acc = bias[o];
    for (var i = 0u; i < p.cin; i++) {
        for (var ky = 0u; ky < p.k; ky++) {
            let iy = i32(oy + ky) - i32(p.pad);
            if (iy < 0 || iy >= i32(p.h)) {
                continue;
            }
            for (var kx = 0u; kx < p.k; kx++) {
                let ix = i32(ox + kx) - i32(p.pad);
                if (ix < 0 || ix >= i32(p.w) || !tap_allowed(ky, kx)) {
                    continue;
                }
                var v = input[i * plane + u32(iy) * p.w + u32(ix)];
                if ((p.flags & 1u) != 0u) {
                    v = max(v, 0.0);
                }
                acc += weight[((o * p.cin + i) * p.k + ky) * p.k + kx] * v;
            }
        }
    }
    if ((p.flags & 2u) != 0u) {
        acc = input[o * plane + p.pos] + acc;
    }
    if ((p.flags & 4u) != 0u) {
        acc = max(acc, 0.0);
    }
    out[o * plane + p.pos] = acc;
}

// conv2d_cout8: the same convolution (no mask), each invocation computing
// 4 neighbouring output pixels of a row for 8 output channels in eight vec4
// accumulators: per tap, 4 input loads and 8 weight loads feed 32 FMAs, and
// the weights are the same for every invocation of a workgroup. On software
// GPUs loads, not FMAs, bound a convolution. Requires cout % 8 == 0.
// flags: 4 relu on the output; 8 write channels last, out[b, y, x, o] (a
// transformer's tokens) instead of out[b, o, y, x]. Summation is in
// conv2d_f32's order. Dispatch: (ceil(batch · ho · ceil(wo / 4) / WG), cout / 8, 1).
fn conv_store(b: u32, oy: u32, ox: u32, o: u32, v: f32) {
    if ((p.flags & 8u) != 0u) {
        out[((b * p.ho + oy) * p.wo + ox) * p.cout + o] = v;
    } else {
        out[((b * p.cout + o) * p.ho + oy) * p.wo + ox] = v;
    }
}

@compute @workgroup_size(WG)
fn conv2d_cout8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let quads = (p.wo + 3u) / 4u;
    let idx = gid.x;
    if (idx >= p.batch * p.ho * quads) {
        return;
    }
    let ox0 = (idx % quads) * 4u;
    let oy = (idx / quads) % p.ho;
    let b = idx / (quads * p.ho);
    let o0 = wid.y * 8u;
    let taps = p.cin * p.k * p.k;
    let bias_lo = vec4<f32>(bias[o0], bias[o0 + 1u], bias[o0 + 2u], bias[o0 + 3u]);
    let bias_hi = vec4<f32>(bias[o0 + 4u], bias[o0 + 5u], bias[o0 + 6u], bias[o0 + 7u]);
    // acc[2 · pixel] holds channels o0..o0+4, acc[2 · pixel + 1] the next four.
    var acc = array<vec4<f32>, 8>(bias_lo, bias_hi, bias_lo, bias_hi, bias_lo, bias_hi, bias_lo, bias_hi);
    for (var i = 0u; i < p.cin; i++) {
        for (var ky = 0u; ky < p.k; ky++) {
            let iy = i32(oy * p.stride + ky) - i32(p.pad);
            if (iy < 0 || iy >= i32(p.h)) {
                continue;
            }
            let row = ((b * p.cin + i) * p.h + u32(iy)) * p.w;
            for (var kx = 0u; kx < p.k; kx++) {
                let t = (i * p.k + ky) * p.k + kx;
                let w = o0 * taps + t;
                let w_lo = vec4<f32>(weight[w], weight[w + taps], weight[w + 2u * taps], weight[w + 3u * taps]);
                let w4 = w + 4u * taps;
                let w_hi = vec4<f32>(weight[w4], weight[w4 + taps], weight[w4 + 2u * taps], weight[w4 + 3u * taps]);
                for (var q = 0u; q < 4u; q++) {
                    let ix = i32((ox0 + q) * p.stride + kx) - i32(p.pad);
                    var v = 0.0;
                    if (ix >= 0 && ix < i32(p.w)) {
                        v = input[row + u32(ix)];
                    }
                    acc[2u * q] += v * w_lo;
                    acc[2u * q + 1u] += v * w_hi;
                }
            }
        }
    }
    for (var q = 0u; q < 4u; q++) {
        let ox = ox0 + q;
        if (ox >= p.wo) {
            break;
        }
        var lo = acc[2u * q];
        var hi = acc[2u * q + 1u];
        if ((p.flags & 4u) != 0u) {
            lo = max(lo, vec4<f32>());
            hi = max(hi, vec4<f32>());
        }
        for (var j = 0u; j < 4u; j++) {
            conv_store(b, oy, ox, o0 + j, lo[j]);
            conv_store(b, oy, ox, o0 + 4u + j, hi[j]);
        }
    }
}
