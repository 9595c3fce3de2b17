// full_attention: multi-head attention without a mask or a cache, for a
// whole sequence at once: DETR's encoder self-attention (144 cells), and its
// decoder's self- and cross-attention (N queries over N queries / 144 cells).
//
// For query i and head h, over keys t < tk:
//   probs[h, i, t] = softmax_t(q[i, h] · k[t, h] · scale)
//   out[i, h]      = Σ_t probs[h, i, t] · v[t, h]
// where x[i, h] is the head_dim (16) slice at h · 16 of row i's columns.
//
// q, k and v are views: row i of q starts at word q_off + i · q_stride, so
// one fused Q|K|V projection [t, 3 · width] feeds all three without copies.
// probs go to a word offset of their buffer, so the maps the page shows are
// written straight into the pass's packed readback.
//
// Bindings (group 0):
//   0  params : uniform    (heads, head_dim, tq, tk, scale as f32 bits,
//                           q_stride, q_off, k_stride, k_off, v_stride, v_off,
//                           probs_offset)
//   1  q      : array<f32> read
//   2  k      : array<vec4<f32>> read
//   3  v      : array<vec4<f32>> read   (q, k and v may be one buffer)
//   4  out    : array<f32> write  [tq, heads · head_dim]
//   5  probs  : array<f32> write  [heads, tq, tk] from probs_offset
//
// attend: one invocation per (query, head), WG queries per workgroup,
//   dispatched as (ceil(tq / WG), heads). Each invocation runs its row's
//   softmax alone, so there are no barriers: scores into a private array
//   (each key read once) with their max, then exp, sum and weighted values,
//   then probabilities. The query and output sit in four vec4 registers
//   each: head_dim is 16 (HEAD_DIM_4 vec4s), fixed so that every inner loop
//   unrolls; tk ≤ MAX_KEYS. On software GPUs barriers and repeated loads
//   cost far more than the arithmetic of these small heads.
//   q, k and v offsets and strides are multiples of 4 (vec4 loads).

override WG: u32;
const HEAD_DIM_4: u32 = 4u;
const MAX_KEYS: u32 = 256u;

struct Params {
    heads: u32,
    head_dim: u32,
    tq: u32,
    tk: u32,
    scale_bits: u32,
    q_stride: u32,
    q_off: u32,
    k_stride: u32,
    k_off: u32,
    v_stride: u32,
    v_off: u32,
    probs_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;

fn load4(from_k: bool, o: u32) -> vec4<f32> {
    if (from_k) {
        return k[o / 4u];
    }
    return v[o / 4u];
}

fn score(qi: array<vec4<f32>, 4>, t: u32, h: u32) -> f32 {
    let ko = p.k_off + t * p.k_stride + h * 16u;
    var s = 0.0;
    for (var c = 0u; c < HEAD_DIM_4; c++) {
        s += dot(qi[c], load4(true, ko + 4u * c));
    }
    return s;
}

@compute @workgroup_size(WG)
fn attend(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = wid.x * WG + lid.x;
    let h = wid.y;
    if (i >= p.tq) {
        return;
    }
    let scale = bitcast<f32>(p.scale_bits);
    let qo = p.q_off + i * p.q_stride + h * 16u;
    var qi: array<vec4<f32>, 4>;
    for (var c = 0u; c < HEAD_DIM_4; c++) {
        qi[c] = vec4<f32>(q[qo + 4u * c], q[qo + 4u * c + 1u], q[qo + 4u * c + 2u], q[qo + 4u * c + 3u]);
    }
    // Scores stay in a private array: each key is read once, and the
    // probabilities need no second dot product.
    var scores: array<f32, MAX_KEYS>;
    var m = -3.4e38;
    for (var t = 0u; t < p.tk; t++) {
        let s = score(qi, t, h) * scale;
        scores[t] = s;
        m = max(m, s);
    }
    var acc: array<vec4<f32>, 4>;
    var total = 0.0;
    for (var t = 0u; t < p.tk; t++) {
        let e = exp(scores[t] - m);
        scores[t] = e;
        total += e;
        let vo = p.v_off + t * p.v_stride + h * 16u;
        for (var c = 0u; c < HEAD_DIM_4; c++) {
            acc[c] += e * load4(false, vo + 4u * c);
        }
    }
    let row = p.probs_offset + (h * p.tq + i) * p.tk;
    for (var t = 0u; t < p.tk; t++) {
        probs[row + t] = scores[t] / total;
    }
    let oo = i * p.heads * 16u + h * 16u;
    for (var c = 0u; c < HEAD_DIM_4; c++) {
        for (var j = 0u; j < 4u; j++) {
            out[oo + 4u * c + j] = acc[c][j] / total;
        }
    }
}
